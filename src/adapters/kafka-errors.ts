// kafkajs's errors as the Kafka source reads them: which Kafka answers it handles itself (a stale
// leader, an offset out of range, a group with members, an unknown topic), and the ConnectionError (or,
// for refused credentials, AccessDeniedError) every other failure becomes. What each of the puller's errors asks for (a retry, the next run, a person) is
// decided once, by its class, in ../errors.ts.
import { type AccessDeniedError, type ConnectionError, connectionFailure } from '../errors.js';

/** Answers that mean the client's metadata is stale (a leader moved or is being elected): refresh and retry. */
const STALE_METADATA_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);
const STALE_METADATA_NAMES = new Set([
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);
/** The coordinator's answers to a non-member's commit while the group has members. */
const GROUP_HAS_MEMBERS_TYPES = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'MEMBER_ID_REQUIRED',
  'FENCED_INSTANCE_ID',
]);
/** How kafkajs's admin words a missing topic when it gives no protocol type. */
const UNKNOWN_TOPIC_MESSAGE = /does not host this topic-partition|unknown topic/i;

/** The error and its causes, as kafkajs and the puller chain them. */
function* chainOf(error: unknown): Generator<Record<string, unknown>> {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    const record = e as Record<string, unknown>;
    yield record;
    e = record.originalError ?? record.cause;
  }
}

/** The Kafka protocol error type (`NOT_LEADER_FOR_PARTITION`...) in the chain, if any. */
function kafkaTypeOf(error: unknown): string | undefined {
  for (const e of chainOf(error)) if (typeof e.type === 'string') return e.type;
  return undefined;
}

/** The broker answered that the topic does not exist. */
export function isUnknownTopic(error: unknown): boolean {
  return kafkaTypeOf(error) === 'UNKNOWN_TOPIC_OR_PARTITION';
}

/** As isUnknownTopic, or kafkajs's admin says so in words only. */
export function saysUnknownTopic(error: unknown): boolean {
  return isUnknownTopic(error) || UNKNOWN_TOPIC_MESSAGE.test(String(error));
}

/** The coordinator refused a non-member's commit because the group has members. */
export function isGroupHasMembers(error: unknown): boolean {
  const type = kafkaTypeOf(error);
  return type !== undefined && GROUP_HAS_MEMBERS_TYPES.has(type);
}

/** The client's metadata is stale: a leader moved or is being elected. */
export function isStaleMetadata(error: unknown): boolean {
  for (const e of chainOf(error)) {
    if (typeof e.type === 'string' && STALE_METADATA_TYPES.has(e.type)) return true;
    if (typeof e.name === 'string' && STALE_METADATA_NAMES.has(e.name)) return true;
  }
  return false;
}

/** The partition kafkajs names in an OFFSET_OUT_OF_RANGE answer. */
export function outOfRangePartition(error: unknown): number | undefined {
  for (const e of chainOf(error)) {
    if (e.name === 'KafkaJSOffsetOutOfRange' && typeof e.partition === 'number') return e.partition;
  }
  return undefined;
}

/** ` (broker host:port)` when kafkajs says which broker failed (on the error or one of its causes). */
export function atBroker(error: unknown): string {
  for (const e of chainOf(error)) {
    if (typeof e.broker === 'string' && e.broker !== '') return ` (broker ${e.broker})`;
  }
  return '';
}

/** The error's message, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `error`, a failure the source cannot name, as what the puller reports: `doing` says what failed. */
export function kafkaConnectionError(doing: string, error: unknown): ConnectionError | AccessDeniedError {
  return connectionFailure(`${doing}${atBroker(error)}: ${messageOf(error)}`, error);
}
