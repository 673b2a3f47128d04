// Connecting the CLI's own kafkajs clients (admin, producer) with an error that names the brokers.
import { connectionFailure } from '../errors.js';

/** Connects a kafkajs admin or producer, naming the brokers when they cannot be reached. */
export async function connectTo(
  client: { connect(): Promise<void> },
  brokers: readonly string[],
): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    throw connectionFailure(`cannot reach the Kafka brokers ${brokers.join(',')}`, error);
  }
}
