// The Lambda handler, invoked in-process as Lambda would (the emulator cannot run Lambdas without Docker).
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import { ConfigError } from '../src/errors.js';
import { createHandler } from '../src/lambda/handler.js';
import {
  brokers,
  createBucket,
  createStateTable,
  createTopic,
  dynamodb,
  produce,
  readLanded,
  uniqueName,
} from './support/bed.js';

const MINUTE = 60_000;

function lambdaContext(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: uniqueName('req'),
    functionName: 'kafka-batch-puller',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:kafka-batch-puller',
    memoryLimitInMB: '1024',
    logGroupName: '/aws/lambda/kafka-batch-puller',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** Captures the JSON lines Powertools prints (logs and EMF) on stdout and stderr. */
function captureJsonLines(): Array<Record<string, unknown>> {
  const printed: Array<Record<string, unknown>> = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n')) {
        if (line.startsWith('{')) printed.push(JSON.parse(line));
      }
      return true;
    }) as typeof stream.write);
  }
  return printed;
}

describe('Lambda handler', () => {
  it('lands the finished windows and publishes its metrics', async () => {
    const topic = await createTopic(2);
    const bucket = await createBucket();
    const table = await createStateTable();
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: base + 1 },
      { partition: 1, timestamp: base + 2 },
      { partition: 0, timestamp: base + MINUTE + 3 },
    ]);
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('g'),
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '1',
      OUTPUT_BUCKET: bucket,
      STATE_TABLE: table,
      SAFETY_MARGIN_SECONDS: '2',
      POWERTOOLS_METRICS_NAMESPACE: 'KafkaBatchPullerTest',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const printed = captureJsonLines();

    const result = await createHandler()({}, lambdaContext(20_000));
    vi.restoreAllMocks();

    expect(result).toMatchObject({ outcome: 'caught-up', recordsWritten: 3, consumerLag: 0 });
    expect(result.windowsClosed).toBeGreaterThanOrEqual(2);
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1', '1:0']);
    const emf = printed.find((entry) => entry._aws !== undefined) as
      | { _aws: { CloudWatchMetrics: Array<{ Namespace: string }> }; NewestWindowAgeSeconds: number }
      | undefined;
    expect(emf).toMatchObject({ Topic: topic, RecordsWritten: 3, RetentionGapRecords: 0 });
    expect(emf?._aws.CloudWatchMetrics[0]?.Namespace).toBe('KafkaBatchPullerTest');
    expect(emf?.NewestWindowAgeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('fails on a bad setting before reading or writing state', async () => {
    const table = await createStateTable();
    const topic = uniqueName('t');
    const groupId = uniqueName('g');
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '90',
      OUTPUT_BUCKET: 'some-bucket',
      STATE_TABLE: table,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const printed = captureJsonLines();

    const invocation = createHandler()({}, lambdaContext(10_000));

    await expect(invocation).rejects.toBeInstanceOf(ConfigError);
    await expect(invocation).rejects.toThrow(
      'POLL_INTERVAL_SECONDS must be shorter than BATCH_INTERVAL_SECONDS',
    );
    vi.restoreAllMocks();
    expect(printed).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'run failed',
        error: expect.objectContaining({ name: 'ConfigError' }),
      }),
    );
    expect(await new DynamoDbStateStore(dynamodb, table).load(pipelineIdOf(groupId, topic))).toBeUndefined();
  });

  it('logs a failure to build its adapters (a secret that cannot be read) and names the topic', async () => {
    const topic = uniqueName('t');
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('g'),
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '1',
      OUTPUT_BUCKET: 'some-bucket',
      STATE_TABLE: 'some-table',
      KAFKA_SECURITY: 'scram-sha-512',
      KAFKA_SASL_SECRET_ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${uniqueName('missing')}`,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const printed = captureJsonLines();

    await expect(createHandler()({}, lambdaContext(10_000))).rejects.toThrow();
    vi.restoreAllMocks();

    expect(printed).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'run failed', topic }));
  });

  it('logs and counts a run that fails for good as permanent', async () => {
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPIC: uniqueName('missing'),
      KAFKA_GROUP_ID: uniqueName('g'),
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '1',
      OUTPUT_BUCKET: await createBucket(),
      STATE_TABLE: await createStateTable(),
      POWERTOOLS_METRICS_NAMESPACE: 'KafkaBatchPullerTest',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const entries = captureJsonLines();

    const invocation = createHandler()({}, lambdaContext(10_000));
    await expect(invocation).rejects.toThrow(`topic '${env.KAFKA_TOPIC}' does not exist`);
    vi.restoreAllMocks();

    const emf = entries.find((entry) => entry._aws !== undefined);
    expect(emf).toMatchObject({ PermanentFailures: 1, AwsRetries: 0 });
    expect(emf?.TransientFailures).toBeUndefined();
    expect(entries.find((entry) => entry.message === 'run failed')).toMatchObject({
      level: 'ERROR',
      failureKind: 'permanent',
      error: { name: 'TopicNotFoundError' },
    });
  });
});
