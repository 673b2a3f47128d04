// The one definition of the Kafka naming rules that the config, the CLI and the CDK constructs check:
// topic names and broker lists.

// Kafka's own rule (kafka.common.internals.Topic): legal characters, and at most 249 of them.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const BROKER_ADDRESS = /^[^\s:,]+:\d{1,5}$/;

/** What a topic name may hold, for error messages. */
export const TOPIC_NAME_RULE = "letters, digits, '.', '_', '-'; 1 to 249 characters";

/** Whether `name` is a legal Kafka topic name. */
export function isTopicName(name: string): boolean {
  return TOPIC_NAME.test(name);
}

/** Splits a comma-separated broker list into trimmed entries (empty entries dropped). */
export function splitBrokerList(value: string): string[] {
  return value
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
}

/** Whether `broker` is one `host:port` entry. */
export function isBrokerAddress(broker: string): boolean {
  return BROKER_ADDRESS.test(broker);
}
