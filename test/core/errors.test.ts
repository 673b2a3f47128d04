// Where a retry can help is decided in one place: each error class declares its kind, and failureKindOf
// classifies the AWS SDK's and kafkajs's errors. The runbook's table of errors (docs/operations.md) must
// say the same. Pure.
import { readFileSync } from 'node:fs';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import * as workerErrors from '../../src/cli/worker-shard-runner.js';
import { ShardWorkerError } from '../../src/cli/worker-shard-runner.js';
import * as errors from '../../src/errors.js';
import {
  AccessDeniedError,
  AttemptSupersededError,
  ConfigError,
  ConnectionError,
  connectionFailure,
  FailureKind,
  failureKindOf,
  GroupHasMembersError,
  ObjectExistsError,
  OffsetOutOfRangeError,
  PullerError,
  StateConflictError,
  StateCorruptError,
  StateTooLargeError,
  TopicNotFoundError,
  WindowIntegrityError,
} from '../../src/errors.js';
import * as icebergErrors from '../../src/iceberg/iceberg-errors.js';
import {
  CatalogRequestError,
  CommitAttemptsExhaustedError,
  CommitConflictError,
  CommitStateUnknownError,
  TableSchemaMismatchError,
} from '../../src/iceberg/iceberg-errors.js';
import * as stepErrors from '../../src/lambda/step-events.js';
import { StepEventError, TransientStepError } from '../../src/lambda/step-events.js';
import { StepName } from '../../src/lambda/step-names.js';
import * as operatorErrors from '../../src/operator-errors.js';
import {
  GroupOffsetsMovedError,
  OrphanedOutputError,
  OutputChangedError,
  ResetRefusal,
  ResetRefusedError,
  TopicChangedError,
} from '../../src/operator-errors.js';

const { TRANSIENT, NEXT_RUN, PERMANENT } = FailureKind;
const TABLE = { namespace: ['ns'], name: 'orders' };

/** One instance of every PullerError class, with the kind it must have. */
const OWN_ERRORS: ReadonlyArray<readonly [PullerError, FailureKind]> = [
  [new PullerError('the Kafka source is closed'), PERMANENT],
  [new ConfigError(['KAFKA_TOPIC is required']), PERMANENT],
  [new StateCorruptError('p', ['offsets: an offset must be a decimal string']), PERMANENT],
  [new StateConflictError('p', 3, undefined), TRANSIENT],
  [new StateTooLargeError('p', 500_000, 400_000, 9000), PERMANENT],
  [new ConnectionError('cannot reach the Kafka brokers'), TRANSIENT],
  [new AccessDeniedError('cannot reach the Kafka brokers'), PERMANENT],
  [new TopicNotFoundError('orders'), PERMANENT],
  [new OrphanedOutputError('p', 's3://b/_manifest.json'), PERMANENT],
  [new OutputChangedError('p', "prefix 'a'", "prefix 'b'"), PERMANENT],
  [new GroupOffsetsMovedError('p', [{ partition: 0, saved: '5', committed: '0' }]), PERMANENT],
  [new TopicChangedError('p', 'orders', { kind: 'topic-id', saved: 'a', current: 'b' }), PERMANENT],
  [new AttemptSupersededError('p', 'a', 'another attempt holds the lease'), NEXT_RUN],
  [new OffsetOutOfRangeError('orders', 0, '2'), NEXT_RUN],
  [new WindowIntegrityError('p', ['partition 0: parts do not follow one another']), PERMANENT],
  [new ObjectExistsError('k', 's3://b/k', { bytes: 3 }, { bytes: 4, sha256: 'a'.repeat(64) }), PERMANENT],
  [new GroupHasMembersError('g'), PERMANENT],
  [new StepEventError('shard', ['task.partitions: required']), PERMANENT],
  [new TransientStepError(StepName.SHARD, new ConnectionError('lost')), TRANSIENT],
  [new CommitConflictError(TABLE, 'main moved'), TRANSIENT],
  [new CommitStateUnknownError(TABLE, 'HTTP 503'), TRANSIENT],
  [new CommitAttemptsExhaustedError(TABLE, 10), TRANSIENT],
  [new TableSchemaMismatchError(TABLE, ["column 'amount' is a string in the table"]), PERMANENT],
];

/** The kind the runbook's table gives a class whose instances carry the kind of what failed. */
const CARRIED = "the shard's";
/** The kind the runbook's table gives a refused reset: transient only while a run holds the lease. */
const RESET_KINDS = 'permanent; transient while a run holds the lease';
/** The kind the runbook's table gives a failed catalog request: by the answer's status. */
const CATALOG_KINDS = 'transient on no answer, 429 or 5xx; permanent otherwise';

/** The runbook's table of errors: each class named in a row's first cell, with the row's kind. */
function runbookKinds(): Map<string, string> {
  const page = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const section = page.split('\n## Errors\n')[1]?.split('\n## ')[0] ?? '';
  const kinds = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('| `') || cells.length < 3) continue;
    for (const [, name] of (cells[0] as string).matchAll(/`(\w+)`/g))
      kinds.set(name as string, cells[1] as string);
  }
  return kinds;
}

describe('failure kinds', () => {
  it.each(OWN_ERRORS.map(([error, kind]) => [error.name, kind, error] as const))(
    '%s is %s',
    (_name, kind, error) => {
      expect(error.kind).toBe(kind);
      expect(failureKindOf(error)).toBe(kind);
    },
  );

  it('classifies every error class the puller defines', () => {
    const classes = [errors, operatorErrors, stepErrors, workerErrors, icebergErrors]
      .flatMap((module) => Object.values(module))
      .filter((value) => value === PullerError || value?.prototype instanceof PullerError)
      .map((value) => (value as { name: string }).name);
    const classified = [
      ...OWN_ERRORS.map(([error]) => error.constructor.name),
      ShardWorkerError.name,
      ResetRefusedError.name,
      CatalogRequestError.name,
    ];
    expect(classes.sort()).toEqual(classified.sort());
  });

  it('gives a failed catalog request the kind its answer calls for', () => {
    const kinds = [0, 429, 500, 503, 400, 404].map((status) => [
      status,
      failureKindOf(new CatalogRequestError('load table', status, 'failed')),
    ]);
    expect(kinds).toEqual([
      [0, TRANSIENT],
      [429, TRANSIENT],
      [500, TRANSIENT],
      [503, TRANSIENT],
      [400, PERMANENT],
      [404, PERMANENT],
    ]);
  });

  it('gives a shard worker’s failure the kind of the error it reports', () => {
    for (const kind of Object.values(FailureKind)) {
      expect(failureKindOf(new ShardWorkerError(1, 'SomeError', 'failed', kind))).toBe(kind);
    }
  });

  it('gives a refused reset the kind its reason asks for: only a live lease passes by itself', () => {
    for (const reason of Object.values(ResetRefusal)) {
      const kind = reason === ResetRefusal.LEASE_HELD ? TRANSIENT : PERMANENT;
      expect([reason, failureKindOf(new ResetRefusedError('p', reason, 'refused'))]).toEqual([reason, kind]);
    }
  });

  it('classifies the AWS SDK’s errors by the SDK’s own retry rules', () => {
    const $metadata = {};
    expect(failureKindOf(new ProvisionedThroughputExceededException({ message: 'slow', $metadata }))).toBe(
      TRANSIENT,
    );
    expect(
      failureKindOf(new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } })),
    ).toBe(TRANSIENT);
    expect(failureKindOf(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(TRANSIENT);
    expect(
      failureKindOf(
        new ResourceNotFoundException({ message: 'no such table', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(PERMANENT);
  });

  it('classifies kafkajs’s errors by its retriable mark, and its retries given up on as transient', () => {
    const lost = new kafkajs.KafkaJSConnectionError('Connection error: ECONNREFUSED');
    const moved = new kafkajs.KafkaJSProtocolError({
      name: 'KafkaJSProtocolError',
      message: 'This is not the correct coordinator for this group',
      type: 'NOT_COORDINATOR_FOR_GROUP',
      code: 16,
      retriable: true,
    } as unknown as Error);
    expect(failureKindOf(lost)).toBe(TRANSIENT);
    expect(failureKindOf(moved)).toBe(TRANSIENT);
    expect(
      failureKindOf(new kafkajs.KafkaJSNumberOfRetriesExceeded(lost, { retryCount: 5, retryTime: 3000 })),
    ).toBe(TRANSIENT);
    expect(failureKindOf(new kafkajs.KafkaJSServerDoesNotSupportApiKey('no such API'))).toBe(PERMANENT);
    expect(failureKindOf(new kafkajs.KafkaJSNonRetriableError('bad request'))).toBe(PERMANENT);
    expect(failureKindOf(new TypeError('a bug'))).toBe(PERMANENT);
    expect(failureKindOf('a string')).toBe(PERMANENT);
  });

  it('reports a refusal of the credentials or permissions as AccessDeniedError, any other failure as ConnectionError', () => {
    const protocol = (type: string, code: number) =>
      new kafkajs.KafkaJSProtocolError({ message: type, type, code, retriable: false } as unknown as Error);
    const refusals: unknown[] = [
      // kafkajs's typings give this class no constructor arguments; it takes a message like the others.
      new (kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
        'SASL SCRAM SHA512 authentication failed: wrong password',
      ),
      protocol('TOPIC_AUTHORIZATION_FAILED', 29),
      protocol('GROUP_AUTHORIZATION_FAILED', 30),
      protocol('CLUSTER_AUTHORIZATION_FAILED', 31),
      protocol('SASL_AUTHENTICATION_FAILED', 58),
      // kafkajs wraps what it gave up on; the refusal is found among the causes.
      new kafkajs.KafkaJSNumberOfRetriesExceeded(protocol('TOPIC_AUTHORIZATION_FAILED', 29), {
        retryCount: 0,
        retryTime: 0,
      }),
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      Object.assign(new Error('Forbidden'), { name: '403', $metadata: { httpStatusCode: 403 } }),
      Object.assign(new Error('not authorized to perform: kms:Decrypt'), { name: 'AccessDeniedException' }),
    ];
    for (const cause of refusals) {
      const reported = connectionFailure('cannot write s3://b/k', cause);
      expect(reported, String(cause)).toBeInstanceOf(AccessDeniedError);
      expect(failureKindOf(reported)).toBe(PERMANENT);
      expect(reported.message).toMatch(
        /^cannot write s3:\/\/b\/k\. The credentials or permissions were refused/,
      );
      expect(reported.cause).toBe(cause);
    }
    const passing: unknown[] = [
      new kafkajs.KafkaJSConnectionError('Connection error: ECONNREFUSED'),
      protocol('NOT_COORDINATOR_FOR_GROUP', 16),
      Object.assign(new Error('Slow Down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }),
      new Error('socket hang up'),
    ];
    for (const cause of passing) {
      const reported = connectionFailure('cannot reach the Kafka brokers', cause);
      expect(reported, String(cause)).toBeInstanceOf(ConnectionError);
      expect(failureKindOf(reported)).toBe(TRANSIENT);
    }
  });

  it('matches the runbook’s table of errors', () => {
    const table = runbookKinds();
    for (const [error, kind] of OWN_ERRORS)
      expect([error.name, table.get(error.name)]).toEqual([error.name, kind]);
    expect(table.get(ShardWorkerError.name)).toBe(CARRIED);
    expect(table.get(ResetRefusedError.name)).toBe(RESET_KINDS);
    expect(table.get(CatalogRequestError.name)).toBe(CATALOG_KINDS);
    expect([...table.keys()].sort()).toEqual(
      [
        ...OWN_ERRORS.map(([e]) => e.name),
        ShardWorkerError.name,
        ResetRefusedError.name,
        CatalogRequestError.name,
      ].sort(),
    );
  });
});
