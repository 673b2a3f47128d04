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
});

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
    // Powertools writes EMF through its own console on stdout.
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      printed.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.startsWith('{')),
      );
      return true;
    }) as typeof process.stdout.write);

    const result = await createHandler()({}, lambdaContext(20_000));
    spy.mockRestore();

    expect(result).toMatchObject({ outcome: 'caught-up', recordsWritten: 3, consumerLag: 0 });
    expect(result.windowsClosed).toBeGreaterThanOrEqual(2);
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1', '1:0']);
    const emf = printed.map((line) => JSON.parse(line)).find((entry) => entry._aws?.CloudWatchMetrics);
    expect(emf).toMatchObject({ Topic: topic, RecordsWritten: 3 });
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('KafkaBatchPullerTest');
    expect(emf.NewestWindowAgeSeconds).toBeGreaterThanOrEqual(0);
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

    const invocation = createHandler()({}, lambdaContext(10_000));

    await expect(invocation).rejects.toBeInstanceOf(ConfigError);
    await expect(invocation).rejects.toThrow(
      'POLL_INTERVAL_SECONDS must be shorter than BATCH_INTERVAL_SECONDS',
    );
    expect(await new DynamoDbStateStore(dynamodb, table).load(pipelineIdOf(groupId, topic))).toBeUndefined();
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
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      printed.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.startsWith('{')),
      );
      return true;
    }) as typeof process.stdout.write);
    const errors = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      printed.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.startsWith('{')),
      );
      return true;
    }) as typeof process.stderr.write);

    const invocation = createHandler()({}, lambdaContext(10_000));
    await expect(invocation).rejects.toThrow(`topic '${env.KAFKA_TOPIC}' does not exist`);
    spy.mockRestore();
    errors.mockRestore();

    const entries = printed.map((line) => JSON.parse(line));
    const emf = entries.find((entry) => entry._aws?.CloudWatchMetrics);
    expect(emf).toMatchObject({ PermanentFailures: 1, AwsRetries: 0 });
    expect(emf.TransientFailures).toBeUndefined();
    expect(entries.find((entry) => entry.message === 'run failed')).toMatchObject({
      level: 'ERROR',
      failureKind: 'permanent',
      error: { name: 'TopicNotFoundError' },
    });
  });
});
