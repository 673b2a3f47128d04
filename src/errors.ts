// The puller's error classes: one base, each subclass carrying the context that explains it and
// declaring what the failure asks for (its FailureKind). failureKindOf classifies every failure, the
// puller's own and those of the AWS SDK and kafkajs: the one place that decides where a retry can help.
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/** What a failure asks for: a retry, the next run, or a person. */
export const FailureKind = {
  /**
   * Throttling, a 5xx, a reset connection, a timeout, a broker gone, a lost write race: the same step,
   * retried, can succeed (the state machine retries a step on these), and so can the next run.
   */
  TRANSIENT: 'transient',
  /**
   * This attempt cannot succeed, retried or not, but the next run, which plans afresh, goes on by itself:
   * another attempt owns the window, or the offsets being read left the partition's log. Nobody acts.
   */
  NEXT_RUN: 'next-run',
  /** A bad setting, a malformed state item, an operator mistake, a bug: every run fails until a person acts. */
  PERMANENT: 'permanent',
} as const;
/** What a failure asks for: a retry, the next run, or a person. */
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** Base class of every error the puller raises on purpose. Permanent unless a subclass says otherwise. */
export class PullerError extends Error {
  /** What the failure asks for (see FailureKind). */
  readonly kind: FailureKind;

  constructor(message: string, options: { cause?: unknown; kind?: FailureKind } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PullerError';
    this.kind = options.kind ?? FailureKind.PERMANENT;
  }
}

/** A setting is missing or invalid. Raised before any state is read or written. */
export class ConfigError extends PullerError {
  /** Every problem found, each naming its setting. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The stored state item cannot be read as pipeline state. It is left untouched for a person to inspect. */
export class StateCorruptError extends PullerError {
  readonly pipelineId: string;
  readonly problems: readonly string[];

  constructor(pipelineId: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `the state item of pipeline '${pipelineId}' is malformed and was left as it is: ${problems.join('; ')}`,
      options,
    );
    this.name = 'StateCorruptError';
    this.pipelineId = pipelineId;
    this.problems = problems;
  }
}

/** Another writer changed the state item since this run read it (optimistic concurrency lost). */
export class StateConflictError extends PullerError {
  readonly pipelineId: string;
  readonly expectedVersion: number | undefined;
  /** What is stored now, when the store could tell. */
  readonly current: unknown;

  constructor(
    pipelineId: string,
    expectedVersion: number | undefined,
    current: unknown,
    options: { cause?: unknown } = {},
  ) {
    super(
      `the state of pipeline '${pipelineId}' changed under this run (expected version ${expectedVersion ?? 'none'})`,
      { ...options, kind: FailureKind.TRANSIENT },
    );
    this.name = 'StateConflictError';
    this.pipelineId = pipelineId;
    this.expectedVersion = expectedVersion;
    this.current = current;
  }
}

/**
 * A state item would be larger than the store allows (DynamoDB: 400 KB). Nothing was written. The
 * pipeline's item grows with the topic's partition count, a share item with one partition's parts in
 * one window: neither shrinks by itself, so a person must act (see the message).
 */
export class StateTooLargeError extends PullerError {
  readonly key: string;
  readonly bytes: number;
  readonly limitBytes: number;

  constructor(key: string, bytes: number, limitBytes: number, partitions?: number, parts?: number) {
    const why =
      parts !== undefined
        ? `one partition's share of the window holds ${parts} parts: raise PART_SIZE_MB (fewer, larger parts) or shorten the batch interval`
        : `the topic has ${partitions ?? 'too many'} partitions: the pipeline's item keeps several offsets per partition; split the topic's partitions across pipelines (one consumer group each)`;
    super(
      `the state item '${key}' would be ${Math.ceil(bytes / 1024)} KB, over the store's limit of ${limitBytes / 1024} KB, and was not written: ${why}`,
    );
    this.name = 'StateTooLargeError';
    this.key = key;
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/** A source, sink or store could not be reached or answered with an error. */
export class ConnectionError extends PullerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, kind: FailureKind.TRANSIENT });
    this.name = 'ConnectionError';
  }
}

/**
 * A service refused the run's credentials or permissions: the Kafka cluster (a SCRAM password it does not
 * take, an MSK IAM role without the topic's or group's permissions, an ACL), the schema registry (401 or
 * 403) or AWS (access denied on the bucket, the table, a key, a Glue schema version). No retry changes
 * that: every run fails until a person fixes the grant.
 */
export class AccessDeniedError extends PullerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(
      `${message}. The credentials or permissions were refused: check the SCRAM secret (KAFKA_SASL_SECRET_ARN), ` +
        "the schema registry's login (SCHEMA_REGISTRY_SECRET_ARN), the function role's grants " +
        "(kafka-cluster, s3, dynamodb, kms, secretsmanager, glue) or the cluster's ACLs",
      { ...options, kind: FailureKind.PERMANENT },
    );
    this.name = 'AccessDeniedError';
  }
}

/** Kafka's answers that refuse the client's identity or its rights (the protocol's error types). */
const KAFKA_REFUSALS = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);
/** Error names of kafkajs and the AWS SDK that refuse the caller's identity or rights. */
const REFUSAL_NAMES = new Set(['KafkaJSSASLAuthenticationError', 'AccessDenied', 'AccessDeniedException']);

/** Whether `error`, or one of its causes, is a refusal of the caller's credentials or permissions. */
export function isAccessDenied(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 6; depth++) {
    const record = e as { name?: unknown; type?: unknown; $metadata?: { httpStatusCode?: number } };
    if (typeof record.name === 'string' && REFUSAL_NAMES.has(record.name)) return true;
    if (typeof record.type === 'string' && KAFKA_REFUSALS.has(record.type)) return true;
    if (record.$metadata?.httpStatusCode === 403) return true;
    e = (e as { originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A service's failure as the run reports it: an AccessDeniedError when it refused the run's credentials
 * or permissions, otherwise a ConnectionError (the next attempt may pass). `message` says what failed.
 */
export function connectionFailure(message: string, cause: unknown): ConnectionError | AccessDeniedError {
  return isAccessDenied(cause)
    ? new AccessDeniedError(message, { cause })
    : new ConnectionError(message, { cause });
}

/** The topic does not exist on the cluster. */
export class TopicNotFoundError extends PullerError {
  readonly topic: string;

  constructor(topic: string, options: { cause?: unknown } = {}) {
    super(`topic '${topic}' does not exist (the puller does not create topics)`, options);
    this.name = 'TopicNotFoundError';
    this.topic = topic;
  }
}

/**
 * A step of a window's attempt found that the attempt no longer owns the window: another attempt took
 * the lease, or another writer of the same shard recorded a different end. The step stops before it
 * records anything; the attempt that owns the window finishes it.
 */
export class AttemptSupersededError extends PullerError {
  readonly pipelineId: string;
  readonly attemptId: string;

  constructor(pipelineId: string, attemptId: string, reason: string) {
    super(`attempt ${attemptId} of pipeline '${pipelineId}' no longer owns its window: ${reason}`, {
      kind: FailureKind.NEXT_RUN,
    });
    this.name = 'AttemptSupersededError';
    this.pipelineId = pipelineId;
    this.attemptId = attemptId;
  }
}

/**
 * A partition's next offset is outside the offsets the broker holds: removed by retention since it was
 * saved, or past the end after a log was truncated. The next run plans from the partition's bounds again.
 */
export class OffsetOutOfRangeError extends PullerError {
  readonly topic: string;
  readonly partition: number;
  /** The offset asked for. */
  readonly offset: string;

  constructor(topic: string, partition: number, offset: string, options: { cause?: unknown } = {}) {
    super(
      `offset ${offset} of partition ${partition} of topic '${topic}' is out of range: the broker no longer ` +
        '(or does not yet) hold it, for example after retention removed it; the next run starts from what ' +
        'the partition still holds',
      { ...options, kind: FailureKind.NEXT_RUN },
    );
    this.name = 'OffsetOutOfRangeError';
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

/**
 * A window's recorded parts do not fit together (or one key was written with two contents): finalize
 * refuses to write a manifest over them. A bug or a hand-edited state item; a person must look.
 */
export class WindowIntegrityError extends PullerError {
  readonly pipelineId: string;
  readonly problems: readonly string[];

  constructor(pipelineId: string, problems: readonly string[]) {
    super(`the pending window of pipeline '${pipelineId}' cannot be closed: ${problems.join('; ')}`);
    this.name = 'WindowIntegrityError';
    this.pipelineId = pipelineId;
    this.problems = problems;
  }
}

/**
 * A create-only write found its key already holding other bytes, and left them as they are: an object
 * is never replaced by other bytes unless its writer's caller says the one found is no writer's to keep.
 * For a manifest (rebuilt from the sealed state, so the same bytes whoever writes it) another writer of
 * the same output, such as a second pipeline on the topic and OUTPUT_PREFIX, wrote it; a person must look.
 */
export class ObjectExistsError extends PullerError {
  readonly key: string;
  /** Where the key lands (s3://bucket/key or a file path). */
  readonly location: string;
  /** The size of the object found, and of the bytes this writer had. */
  readonly foundBytes: number;
  readonly writtenBytes: number;

  constructor(
    key: string,
    location: string,
    found: { readonly bytes: number },
    written: { readonly bytes: number; readonly sha256: string },
    options: { cause?: unknown } = {},
  ) {
    const other =
      found.bytes === written.bytes
        ? `other bytes of the same size (${found.bytes})`
        : `${found.bytes} bytes`;
    super(
      `${location} already holds ${other} where this writer has ${written.bytes} (sha256 ${written.sha256}); ` +
        'it was left as it is. If no other pipeline writes this topic under OUTPUT_PREFIX, look at who wrote it',
      options,
    );
    this.name = 'ObjectExistsError';
    this.key = key;
    this.location = location;
    this.foundBytes = found.bytes;
    this.writtenBytes = written.bytes;
  }
}

/**
 * The consumer group has live members, so the broker refuses offsets committed from outside it: another
 * consumer (another application, or an older puller version that joined the group) uses the group id.
 */
export class GroupHasMembersError extends PullerError {
  readonly groupId: string;

  constructor(groupId: string, options: { cause?: unknown } = {}) {
    super(
      `cannot commit offsets to consumer group '${groupId}': another consumer is a member of it (the puller ` +
        'reads as no member, and the broker takes such commits only while a group has none). Stop that ' +
        'consumer; the next run commits the saved offsets again',
      options,
    );
    this.name = 'GroupHasMembersError';
    this.groupId = groupId;
  }
}

/**
 * What `error` asks for: the puller's own errors say so; an AWS SDK error is transient when the SDK's
 * standard classification retries it (throttling, a 5xx, a reset or timed-out connection); a kafkajs error
 * when kafkajs marks it retriable (a broker gone, a leader moving, a timeout) or gave up retrying one.
 * Anything else (a 4xx such as access denied, a bug) is permanent.
 */
export function failureKindOf(error: unknown): FailureKind {
  if (error instanceof PullerError) return error.kind;
  if (typeof error !== 'object' || error === null) return FailureKind.PERMANENT;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if (isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError))
    return FailureKind.TRANSIENT;
  if ((error as { retriable?: unknown }).retriable === true) return FailureKind.TRANSIENT;
  // kafkajs's retrier, out of retries on a retriable error, throws this one marked not retriable.
  if ((error as Error).name === 'KafkaJSNumberOfRetriesExceeded') return FailureKind.TRANSIENT;
  return FailureKind.PERMANENT;
}
