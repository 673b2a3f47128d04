// A soak: runs in a row, one per short window, while a producer writes, with about 10 % of the AWS
// requests of one pipeline failing (every fault class, drawn at random with a fixed seed) and a twin
// pipeline on the same topic without faults. The faulted pipeline must close every window in at most
// twice the runs its twin needs, no run may find the lease of a run that already ended, and every record
// must land exactly once, read back by the manifests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import type { PullerConfig } from '../../src/config.js';
import { FailureKind, failureKindOf } from '../../src/errors.js';
import {
  createTopic,
  dynamodb,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  storedOffsets,
} from '../support/bed.js';
import {
  ALL_FAULTS,
  FAULTABLE_OPERATIONS,
  type FaultProxy,
  startFaultProxy,
} from '../support/fault-proxy.js';
import { runThroughProxy } from '../support/proxied-adapters.js';

const SEED = 20261128;
const FAULT_RATE = 0.1;
const MIN_RUNS = 24;
/** Cycles during which records are produced; the runs after them close the last windows. */
const PRODUCING_CYCLES = 16;
const MAX_CYCLES = 80;
/** Each run's deadline: new work stops SAFETY_MARGIN_SECONDS before it, the rest is for finishing writes. */
const RUN_SECONDS = 5;

const soakSettings = {
  BATCH_INTERVAL_SECONDS: '1',
  POLL_INTERVAL_SECONDS: '0.2',
  ALLOWED_LATENESS_SECONDS: '0',
  SAFETY_MARGIN_SECONDS: '3',
  PART_SIZE_MB: '0.05',
};

/** Whether the pipeline's saved boundary has passed `timestampMs`. */
async function closedPast(config: PullerConfig, pipelineId: string, timestampMs: number): Promise<boolean> {
  if (config.state.kind !== 'dynamodb') throw new Error('the soak runs on DynamoDB');
  const saved = await new DynamoDbStateStore(dynamodb, config.state.table).load(pipelineId);
  return (saved?.state.lastClosedWindow?.endMs ?? 0) > timestampMs;
}

describe('soak', () => {
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy();
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  // 24 runs, each with its share of faults and retries: far longer than one test on a busy machine.
  it('keeps landing through random faults on about 10 % of AWS requests', async () => {
    const topic = await createTopic(2);
    const twin = await newPipeline(topic, soakSettings);
    const soaked = await newPipeline(topic, soakSettings);
    proxy.failAtRandom({ rate: FAULT_RATE, resources: [soaked.bucket, soaked.table], seed: SEED });

    const failures: Array<{ run: number; kind: string; message: string }> = [];
    const outcomes: string[] = [];
    let lastRecordMs = 0;
    let produced = 0;
    let twinDoneAt: number | undefined;
    let soakDoneAt: number | undefined;
    let runs = 0;
    for (let cycle = 1; cycle <= MAX_CYCLES; cycle++) {
      if (cycle <= PRODUCING_CYCLES) {
        const now = Date.now();
        await produce(
          topic,
          Array.from({ length: 40 }, (_, i) => ({
            partition: i % 2,
            timestamp: now,
            value: `${cycle}:${i}`,
          })),
        );
        produced += 40;
        lastRecordMs = now;
      }
      runs = cycle;
      const [, soakResult] = await Promise.all([
        twinDoneAt === undefined ? runOnce(twin.config, { seconds: RUN_SECONDS }) : undefined,
        runThroughProxy(proxy, soaked.config, { seconds: RUN_SECONDS }).then(
          (report) => report.outcome as string,
          (error: unknown) => {
            failures.push({ run: cycle, kind: failureKindOf(error), message: String(error) });
            return 'failed';
          },
        ),
      ]);
      outcomes.push(soakResult);
      if (cycle >= PRODUCING_CYCLES) {
        if (twinDoneAt === undefined && (await closedPast(twin.config, twin.pipelineId, lastRecordMs)))
          twinDoneAt = cycle;
        if (soakDoneAt === undefined && (await closedPast(soaked.config, soaked.pipelineId, lastRecordMs)))
          soakDoneAt = cycle;
      }
      if (cycle >= MIN_RUNS && twinDoneAt !== undefined && soakDoneAt !== undefined) break;
    }

    const expected = (await storedOffsets(topic)).sort();
    const landed = await readLanded(soaked.bucket);
    const twinLanded = await readLanded(twin.bucket);
    const unique = new Set(landed.records);
    const faultable = FAULTABLE_OPERATIONS.reduce((sum, op) => sum + (proxy.requests.get(op) ?? 0), 0);
    const injected = proxy.countByFault();
    const totalInjected = proxy.injected.length;
    const figures = {
      seed: SEED,
      runs,
      failedRuns: failures.length,
      failedTransient: failures.filter((f) => f.kind === FailureKind.TRANSIENT).length,
      leaseHeldRuns: outcomes.filter((o) => o === 'lease-held').length,
      faultableRequests: faultable,
      faultsInjected: totalInjected,
      faultsByClass: injected,
      windowsClosed: landed.manifests.length,
      twinWindowsClosed: twinLanded.manifests.length,
      runsToCloseEverything: { twin: twinDoneAt, faulted: soakDoneAt },
      records: produced,
      lost: expected.filter((r) => !unique.has(r)).length,
      duplicated: landed.records.length - unique.size,
    };
    console.log(`soak figures: ${JSON.stringify(figures)}`);
    for (const failure of failures)
      console.log(`soak run ${failure.run} failed (${failure.kind}): ${failure.message}`);

    expect(runs).toBeGreaterThanOrEqual(20);
    expect(expected).toHaveLength(produced);
    expect(twinDoneAt).toBeDefined();
    expect(soakDoneAt).toBeDefined();
    expect(soakDoneAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(2 * (twinDoneAt ?? 0));
    expect(figures.leaseHeldRuns).toBe(0);
    expect(figures.failedTransient).toBe(figures.failedRuns);
    for (const fault of ALL_FAULTS) expect(injected[fault], fault).toBeGreaterThan(0);
    expect(totalInjected / faultable).toBeGreaterThan(0.05);
    expect(totalInjected / faultable).toBeLessThan(0.15);
    expect([...landed.records].sort()).toEqual(expected);
    expect(landed.unlisted).toEqual([]);
    expect([...twinLanded.records].sort()).toEqual(expected);
  }, 300_000);
});
