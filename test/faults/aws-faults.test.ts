// Each AWS fault class alone, at the worst step of a run: S3 (the manifest's put, a part's put, and a
// large part's create / upload / complete multipart) and DynamoDB (the state's load, the read of the
// window's shares, the conditional write of a share recording an end offset, and the one saving the
// boundary), each throttled before
// applying, reset before applying, applied then answered 500, and answered too late. The run completes
// regardless (idempotent writes, retries); a fault that outlasts the retries fails the run with a clear,
// transient error and the next run completes. Every record lands exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import { pipelineIdOf } from '../../src/core/pipeline-state.js';
import { AccessDeniedError, FailureKind, failureKindOf } from '../../src/errors.js';
import {
  createTopic,
  dynamodb,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  s3,
  storedOffsets,
  type TestRecord,
  uniqueName,
} from '../support/bed.js';
import { deleteBucket } from '../support/cleanup.js';
import {
  ALL_FAULTS,
  Fault,
  type FaultProxy,
  type FaultRule,
  Operation,
  type ProxiedRequest,
  startFaultProxy,
} from '../support/fault-proxy.js';
import { runThroughProxy } from '../support/proxied-adapters.js';

const MINUTE = 60_000;

/** Where in a run a rule strikes. */
interface Step {
  readonly name: string;
  readonly operation: Operation;
  readonly when?: (request: ProxiedRequest) => boolean;
  /** Needs a part larger than one multipart chunk. */
  readonly large?: boolean;
}

const body = (r: ProxiedRequest) => r.body.toString('utf8');
const steps: Step[] = [
  { name: 'the state load', operation: Operation.GET_ITEM },
  { name: "the read of the window's shares", operation: Operation.BATCH_GET_ITEM },
  {
    name: 'a write recording an end offset',
    operation: Operation.PUT_ITEM,
    when: (r) => body(r).includes('"endOffset":{"S"'),
  },
  {
    name: 'the write saving the boundary',
    operation: Operation.PUT_ITEM,
    when: (r) => body(r).includes('"lastClosedWindow":{"M"'),
  },
  {
    name: 'the manifest',
    operation: Operation.PUT_OBJECT,
    when: (r) => r.key?.endsWith('_manifest.json') ?? false,
  },
  { name: 'a part', operation: Operation.PUT_OBJECT, when: (r) => r.key?.includes('/part-0001-') ?? false },
  { name: 'a large part: create', operation: Operation.CREATE_MULTIPART_UPLOAD, large: true },
  {
    name: 'a large part: its last chunk',
    operation: Operation.UPLOAD_PART,
    when: (r) => r.key !== undefined,
    large: true,
  },
  { name: 'a large part: complete', operation: Operation.COMPLETE_MULTIPART_UPLOAD, large: true },
];

/** Two past windows of small records on two partitions. */
function smallRecords(base: number): TestRecord[] {
  return Array.from({ length: 160 }, (_, i) => ({
    partition: i % 2,
    timestamp: base + Math.floor((i * 2 * MINUTE) / 160),
    value: `${i}:${'s'.repeat(200)}`,
  }));
}

/** One past window whose partition-0 part is over 5 MiB uncompressed (a multipart upload of two chunks). */
function largeRecords(base: number): TestRecord[] {
  return Array.from({ length: 6_000 }, (_, i) => ({
    partition: 0,
    timestamp: base + Math.floor((i * MINUTE) / 6_000),
    value: `${i}:${'L'.repeat(1_000)}`,
  }));
}

/** Runs `tasks` with at most `limit` at a time. */
async function inBatches<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < tasks.length; i += limit) {
    results.push(...(await Promise.all(tasks.slice(i, i + limit).map((task) => task()))));
  }
  return results;
}

/**
 * A run of `pipeline` through `proxy` that is expected to fail (within `seconds`), the state it left, and
 * the run after it (its rules spent) with what the bucket then holds.
 */
async function failThenRunAgain(
  proxy: FaultProxy,
  pipeline: Awaited<ReturnType<typeof newPipeline>>,
  seconds: number,
) {
  const failed = await runThroughProxy(proxy, pipeline.config, { seconds }).then(
    () => undefined,
    (error: unknown) => error,
  );
  const afterFailure = await new DynamoDbStateStore(dynamodb, pipeline.table).load(pipeline.pipelineId);
  const next = await runThroughProxy(proxy, pipeline.config, { seconds: 40 });
  return { failed, afterFailure, next, landed: await readLanded(pipeline.bucket) };
}

describe('AWS faults, one at a time', () => {
  let proxy: FaultProxy;
  let smallTopic: string;
  let largeTopic: string;
  const buckets: string[] = [];

  beforeAll(async () => {
    proxy = await startFaultProxy();
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    smallTopic = await createTopic(2);
    largeTopic = await createTopic(1);
    await produce(smallTopic, smallRecords(base));
    await produce(largeTopic, largeRecords(base));
  });

  afterAll(async () => {
    await proxy?.stop();
    // The large parts would otherwise sit in the shared emulator's memory.
    await Promise.all(buckets.map((bucket) => deleteBucket(s3, bucket).catch(() => {})));
  });

  it('completes the run whatever single fault strikes at the worst step', async () => {
    const cases = steps.flatMap((step) => ALL_FAULTS.map((fault) => ({ step, fault })));
    const outcomes = await inBatches(
      cases.map(({ step, fault }) => async () => {
        const topic = step.large ? largeTopic : smallTopic;
        const pipeline = await newPipeline(topic, {
          PART_SIZE_MB: step.large ? '8' : '0.05',
          COMPRESSION: step.large ? 'none' : 'gzip',
        });
        buckets.push(pipeline.bucket);
        const onTable: readonly Operation[] = [
          Operation.GET_ITEM,
          Operation.PUT_ITEM,
          Operation.BATCH_GET_ITEM,
        ];
        const resource = onTable.includes(step.operation) ? pipeline.table : pipeline.bucket;
        const rule: FaultRule = {
          fault,
          operation: step.operation,
          resource,
          ...(step.when ? { when: step.when } : {}),
        };
        proxy.addRule(rule);
        const report = await runThroughProxy(proxy, pipeline.config, { seconds: 40 });
        const landed = await readLanded(pipeline.bucket);
        const saved = await new DynamoDbStateStore(dynamodb, pipeline.table).load(pipeline.pipelineId);
        return {
          label: `${fault} at ${step.name}`,
          topic,
          report,
          landed,
          saved,
          injected: proxy.countByFault(resource),
        };
      }),
      8,
    );

    const expected = {
      [smallTopic]: (await storedOffsets(smallTopic)).sort(),
      [largeTopic]: (await storedOffsets(largeTopic)).sort(),
    };
    for (const { label, topic, report, landed, saved, injected } of outcomes) {
      const fault = label.split(' at ')[0] as Fault;
      expect(injected[fault], `${label}: the fault was injected`).toBe(1);
      expect(report.outcome, label).toBe('caught-up');
      expect([...landed.records].sort(), label).toEqual(expected[topic]);
      expect(landed.unlisted, label).toEqual([]);
      expect(saved?.state.pending, label).toBeNull();
      expect(saved?.state.lease, label).toBeNull();
    }
  });

  it('fails with a clear transient error when a fault outlasts the retries, releases its lease, and the next run completes', async () => {
    const pipeline = await newPipeline(smallTopic, { PART_SIZE_MB: '0.05' });
    buckets.push(pipeline.bucket);
    // Every attempt at the first manifest is reset: the SDK's six, then the sink's write-again's six.
    proxy.addRule({
      fault: Fault.RESET,
      operation: Operation.PUT_OBJECT,
      resource: pipeline.bucket,
      when: (r) => r.key?.endsWith('_manifest.json') ?? false,
      times: 12,
    });
    const { failed, afterFailure, next, landed } = await failThenRunAgain(proxy, pipeline, 60);

    expect(String(failed)).toMatch(/could not write s3:\/\/.*_manifest\.json: .*(socket hang up|ECONNRESET)/);
    expect(failureKindOf(failed)).toBe(FailureKind.TRANSIENT);
    expect(afterFailure?.state.lease).toBeNull();
    expect(afterFailure?.state.pending?.endOffsets).not.toBeNull();
    expect(next.outcome).toBe('caught-up');
    expect([...landed.records].sort()).toEqual((await storedOffsets(smallTopic)).sort());
    expect(landed.unlisted).toEqual([]);
  });

  it('fails with a permanent AccessDeniedError, naming the object, when S3 denies a part, and the run after the grant is fixed completes', async () => {
    const pipeline = await newPipeline(smallTopic, { PART_SIZE_MB: '0.05' });
    buckets.push(pipeline.bucket);
    // A role edited by hand: the first part's write is denied (S3 answers 403 AccessDenied).
    proxy.addRule({
      fault: Fault.DENY,
      operation: Operation.PUT_OBJECT,
      resource: pipeline.bucket,
      when: (r) => /\/part-\d+-\d+\.ndjson\.gz$/.test(r.key ?? ''),
    });
    const { failed, afterFailure, next, landed } = await failThenRunAgain(proxy, pipeline, 40);

    expect(proxy.countByFault(pipeline.bucket)[Fault.DENY]).toBe(1);
    expect(failed).toBeInstanceOf(AccessDeniedError);
    expect(String(failed)).toMatch(
      /could not write s3:\/\/.*part-.*: .*credentials or permissions were refused/,
    );
    expect(failureKindOf(failed)).toBe(FailureKind.PERMANENT);
    expect(afterFailure?.state.lease).toBeNull();
    expect(next.outcome).toBe('caught-up');
    expect([...landed.records].sort()).toEqual((await storedOffsets(smallTopic)).sort());
    expect(landed.unlisted).toEqual([]);
  });

  it('lets the next run take over a lease its failed predecessor could not release', async () => {
    const pipeline = await newPipeline(smallTopic, { PART_SIZE_MB: '0.05' });
    // From the boundary's save on, every conditional write is reset: the release fails too.
    proxy.addRule({
      fault: Fault.RESET,
      operation: Operation.PUT_ITEM,
      resource: pipeline.table,
      when: (r) => body(r).includes('"lastClosedWindow":{"M"') || body(r).includes('"lease":{"NULL"'),
      times: 1_000,
    });
    const failedRun = uniqueName('run');
    await expect(
      runThroughProxy(proxy, pipeline.config, { seconds: 60, runId: failedRun }),
    ).rejects.toThrow();
    const left = await new DynamoDbStateStore(dynamodb, pipeline.table).load(
      pipelineIdOf(pipeline.groupId, smallTopic),
    );
    // A run that does not know the holder has ended waits for the lease to expire; one that does, takes it.
    const stillBlocked = await runOnce(pipeline.config, { seconds: 5 });
    const tookOver = await runOnce(pipeline.config, { seconds: 30, endedRunIds: [failedRun] });
    const landed = await readLanded(pipeline.bucket);

    expect(left?.state.lease?.owner).toBe(failedRun);
    expect(stillBlocked.outcome).toBe('lease-held');
    expect(stillBlocked.leaseHolder).toBe(failedRun);
    expect(tookOver.outcome).toBe('caught-up');
    expect([...landed.records].sort()).toEqual((await storedOffsets(smallTopic)).sort());
  });
});
