// The config's verdict on a set of variables, for tests that read its problems rather than its result.
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

/** A pipeline's required variables, valid: what each settings test starts from. */
export const BASE_VARIABLES = {
  KAFKA_BROKERS: 'b1:9092',
  KAFKA_TOPIC: 'orders',
  KAFKA_GROUP_ID: 'landing',
  BATCH_INTERVAL_SECONDS: '60',
  POLL_INTERVAL_SECONDS: '10',
  OUTPUT_BUCKET: 'my-bucket',
  STATE_TABLE: 'state',
} as const;

/** Every problem `loadConfig` names in `env`; empty when it accepts them. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}
