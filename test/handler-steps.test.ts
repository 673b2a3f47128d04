// The handler's steps, invoked in-process as the shard state machine would (plan → shards at once →
// finalize, looping while finalize says more), against the real broker and the emulator.
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import type { FinalizeResult, PlanResult, ShardResult, WindowPlan } from '../src/engine/step-types.js';
import { OffsetOutOfRangeError } from '../src/errors.js';
import { createHandler } from '../src/lambda/handler.js';
import { StepEventError } from '../src/lambda/step-events.js';
import {
  brokers,
  createBucket,
  createStateTable,
  createTopic,
  dynamodb,
  produce,
  readLanded,
  testKafka,
  uniqueName,
} from './support/bed.js';

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

type PlanAnswer = PlanResult & { deadlineMs: number };

/** A pipeline of `partitions` partitions with `shards` shards, its settings stubbed in the environment. */
async function shardedPipeline(partitions: number, shards: number, intervalSeconds = 60) {
  const topic = await createTopic(partitions);
  const bucket = await createBucket();
  const table = await createStateTable();
  const groupId = uniqueName('g');
  const env = {
    KAFKA_BROKERS: brokers().join(','),
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: groupId,
    BATCH_INTERVAL_SECONDS: String(intervalSeconds),
    POLL_INTERVAL_SECONDS: '1',
    OUTPUT_BUCKET: bucket,
    STATE_TABLE: table,
    SAFETY_MARGIN_SECONDS: '2',
    SHARDS: String(shards),
    POWERTOOLS_METRICS_NAMESPACE: 'KafkaBatchPullerTest',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const store = new DynamoDbStateStore(dynamodb, table);
  const state = async () => (await store.load(pipelineIdOf(groupId, topic)))?.state;
  return { topic, bucket, state };
}

describe('the handler under the shard state machine', () => {
  it('lands a backlog exactly once through plan, shards at once and finalize, then releases the lease', async () => {
    // 15-minute windows, and a budget that ends before the current window does: the execution closes
    // the backlog's windows and stops, without waiting for the clock to close the current one.
    const interval = 15 * MINUTE;
    const budgetMs = 100_000;
    const currentEnd = Math.ceil(Date.now() / interval) * interval;
    if (currentEnd - Date.now() < budgetMs + 10_000) await sleep(currentEnd - Date.now() + 100);
    const { topic, bucket, state } = await shardedPipeline(4, 2, interval / 1000);
    const base = Math.floor(Date.now() / interval) * interval - 3 * interval;
    await produce(topic, [
      { partition: 0, timestamp: base + 1 },
      { partition: 1, timestamp: base + 2 },
      { partition: 2, timestamp: base + 3 },
      { partition: 3, timestamp: base + interval + 4 },
      { partition: 0, timestamp: base + interval + 5 },
    ]);
    const printed = captureJsonLines();
    const attemptId = uniqueName('exec');
    const executionStartTime = new Date().toISOString();

    // One execution: every invocation is a new container, as Lambda runs concurrent steps.
    const closed: FinalizeResult[] = [];
    for (let loop = 0; loop < 5; loop++) {
      const plan = (await createHandler()(
        { step: 'plan', attemptId, executionStartTime, budgetMs },
        lambdaContext(120_000),
      )) as PlanAnswer;
      expect(plan.deadlineMs).toBe(Date.parse(executionStartTime) + budgetMs);
      if (plan.kind !== 'window') break;
      expect(plan.tasks.map((task) => task.shard)).toEqual([0, 1]);
      expect(plan.tasks.flatMap((task) => task.partitions).sort()).toEqual([0, 1, 2, 3]);
      expect((await state())?.lease?.owner).toBe(attemptId);
      const results = (await Promise.all(
        plan.tasks.map((task) =>
          createHandler()({ step: 'shard', task, deadlineMs: plan.deadlineMs }, lambdaContext(120_000)),
        ),
      )) as ShardResult[];
      const finalized = (await createHandler()(
        { step: 'finalize', plan, results, deadlineMs: plan.deadlineMs },
        lambdaContext(120_000),
      )) as FinalizeResult;
      expect(finalized.outcome).toBe('closed');
      expect(finalized).not.toHaveProperty('closed');
      closed.push(finalized);
      if (!finalized.more) break;
    }

    expect(closed.length).toBeGreaterThanOrEqual(2);
    expect(closed.reduce((sum, f) => sum + (f.records ?? 0), 0)).toBe(5);
    const landed = await readLanded(bucket);
    expect(landed.records.sort()).toEqual(['0:0', '0:1', '1:0', '2:0', '3:0']);
    expect(landed.unlisted).toEqual([]);
    expect((await state())?.lease).toBeNull();
    const emf = printed.filter((entry) => entry._aws !== undefined);
    expect(emf.reduce((sum, entry) => sum + Number(entry.RecordsWritten ?? 0), 0)).toBe(5);
    expect(emf.some((entry) => typeof entry.NewestWindowAgeSeconds === 'number')).toBe(true);
    expect(printed).toContainEqual(
      expect.objectContaining({ message: 'shard finished', step: 'shard', shard: 1 }),
    );

    // The next execution finds nothing ready: plan takes the lease, stops and releases it itself.
    const next = (await createHandler()(
      { step: 'plan', attemptId: uniqueName('exec'), deadlineMs: Date.now() + 30_000 },
      lambdaContext(120_000),
    )) as PlanAnswer;
    vi.restoreAllMocks();
    expect(next).toMatchObject({ kind: 'stop', outcome: 'caught-up' });
    expect((await state())?.lease).toBeNull();
  }, 300_000);

  it('stops each step by the earlier of its invocation’s end and the execution’s deadline; abandon releases only its own lease', async () => {
    const { topic, state } = await shardedPipeline(2, 2);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    await produce(topic, [{ partition: 0, timestamp: base + 1 }]);
    captureJsonLines();

    // The invocation ends first: the lease (held until the step's deadline) ends with it.
    const first = uniqueName('exec');
    const before = Date.now();
    const far = before + 10 * MINUTE;
    const plan = (await createHandler()(
      { step: 'plan', attemptId: first, deadlineMs: far },
      lambdaContext(20_000),
    )) as PlanAnswer;
    expect(plan).toMatchObject({ kind: 'window', deadlineMs: far });
    const lease = (await state())?.lease;
    expect(lease?.owner).toBe(first);
    expect(lease?.expiresAtMs).toBeGreaterThan(before);
    expect(lease?.expiresAtMs).toBeLessThanOrEqual(Date.now() + 20_000);

    // A shard of another attempt may not touch the window: it fails, and no retry could change that.
    const ghost = { ...(plan as WindowPlan).tasks[0], attemptId: 'ghost' } as WindowPlan['tasks'][number];
    await expect(
      createHandler()({ step: 'shard', task: ghost, deadlineMs: far }, lambdaContext(20_000)),
    ).rejects.toMatchObject({ name: 'AttemptSupersededError' });

    await createHandler()({ step: 'abandon', attemptId: first }, lambdaContext(20_000));
    expect((await state())?.lease).toBeNull();

    // The execution's deadline comes first: the lease ends exactly then.
    const second = uniqueName('exec');
    const near = Date.now() + 15_000;
    await createHandler()({ step: 'plan', attemptId: second, deadlineMs: near }, lambdaContext(60_000));
    expect((await state())?.lease).toEqual({ owner: second, expiresAtMs: near });
    await createHandler()({ step: 'abandon', attemptId: first }, lambdaContext(20_000));
    expect((await state())?.lease?.owner).toBe(second);
    await createHandler()({ step: 'abandon', attemptId: second }, lambdaContext(20_000));
    expect((await state())?.lease).toBeNull();
  });

  it('refuses a malformed step event before touching state, naming the field', async () => {
    const { state } = await shardedPipeline(1, 2);
    const printed = captureJsonLines();

    const task = { attemptId: 'a', shard: 0, shards: 2, windowStartMs: 0, windowEndMs: MINUTE };
    const invocation = createHandler()(
      { step: 'shard', task, deadlineMs: Date.now() },
      lambdaContext(10_000),
    );
    await expect(invocation).rejects.toBeInstanceOf(StepEventError);
    await expect(invocation).rejects.toThrow('task.partitions');
    await expect(createHandler()({ step: 'commit' }, lambdaContext(10_000))).rejects.toThrow(
      'step must be one of plan, shard, finalize, abandon, got "commit"',
    );
    vi.restoreAllMocks();

    expect(printed).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'step failed', failureKind: 'permanent' }),
    );
    expect(await state()).toBeUndefined();
  });

  it('fails a step that may succeed when retried with the error type the state machine retries', async () => {
    await shardedPipeline(1, 2);
    vi.stubEnv('KAFKA_BROKERS', '127.0.0.1:1');
    captureJsonLines();

    const invocation = createHandler()(
      { step: 'plan', attemptId: uniqueName('exec'), deadlineMs: Date.now() + 30_000 },
      lambdaContext(30_000),
    );
    await expect(invocation).rejects.toMatchObject({ name: 'TransientStepError', kind: 'transient' });
    await expect(invocation).rejects.toHaveProperty('cause');
  });

  it('fails a shard whose offsets left the log with that error, not the type the state machine retries', async () => {
    const { topic } = await shardedPipeline(1, 1);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(
      topic,
      [0, 1, 2].map((i) => ({ partition: 0, timestamp: base + i })),
    );
    const printed = captureJsonLines();
    const deadlineMs = Date.now() + 60_000;
    const plan = (await createHandler()(
      { step: 'plan', attemptId: uniqueName('exec'), deadlineMs },
      lambdaContext(60_000),
    )) as PlanAnswer;
    expect(plan.kind).toBe('window');
    // Retention removes the window's first records before its shard (a new invocation) reads them.
    const admin = testKafka().admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });
    await admin.disconnect();

    const shard = createHandler()(
      { step: 'shard', task: (plan as WindowPlan).tasks[0] as WindowPlan['tasks'][number], deadlineMs },
      lambdaContext(60_000),
    );

    // A retry of the step would fetch the same offsets again: it is left to the next run's plan, and
    // nobody is asked to act.
    await expect(shard).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    vi.restoreAllMocks();
    expect(printed).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'step failed', failureKind: 'next-run' }),
    );
    // The shard's metrics, after the plan's.
    const emf = printed.filter((entry) => entry._aws !== undefined).at(-1);
    expect(emf).toMatchObject({ TransientFailures: 1 });
    expect(emf?.PermanentFailures).toBeUndefined();
  });
});
