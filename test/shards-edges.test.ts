// Sharded windows at their edges: a shard of a superseded attempt that wakes up after a later attempt
// closed its window, skewed partitions, more shards than partitions, and a backlog under a deadline.

import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { windowFolder } from '../src/core/key-layout.js';
import { partsOf, recordedEnd } from '../src/core/pending-batch.js';
import { buildShard, finalizeWindow, planWindow } from '../src/engine/window-steps.js';
import { AttemptSupersededError } from '../src/errors.js';
import type { BatchSink } from '../src/ports.js';
import { createTopic, dynamodb, newPipeline, produce, readLanded, type TestRecord } from './support/bed.js';
import {
  expectExactlyOnce,
  expectListedObjectsIntact,
  keysUnder,
  openShardAdapters,
  runSharded,
  StepAttempt,
  stallingSource,
  untouchableOutput,
  untouchableSource,
  watchCompletions,
  windowClock,
  withSource,
} from './support/shard-bed.js';
import { storedPending } from './support/stored-pending.js';

const MINUTE = 60_000;

/** `count` records per partition spread over the window starting at `startMs`. */
function spread(startMs: number, counts: readonly number[], valueBytes: number): TestRecord[] {
  return counts.flatMap((count, partition) =>
    Array.from({ length: count }, (_, i) => ({
      partition,
      timestamp: startMs + Math.floor((i * MINUTE) / count),
      value: `${partition}:${i}:${'w'.repeat(valueBytes)}`,
    })),
  );
}

/** `sink`, counting the objects it completes. */
function countingSink(sink: BatchSink): { sink: BatchSink; completed: () => number } {
  let completed = 0;
  return {
    completed: () => completed,
    sink: watchCompletions(sink, {
      after: () => {
        completed++;
      },
    }),
  };
}

describe('sharded windows at the edges', () => {
  it('a shard of an attempt whose lease expired changes no object a later attempt listed', async () => {
    const topic = await createTopic(2);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    // One heavy window (about seven parts per partition), then a light one.
    await produce(topic, [...spread(base, [300, 300], 1000), ...spread(base + MINUTE, [5, 5], 1000)]);
    const { bucket, table, config, pipelineId } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
    const stored = new DynamoDbStateStore(dynamodb, table);

    // A's lease lasts until its deadline; its stalled shard must outlive B's whole run before it.
    const a = await StepAttempt.open(config, { now: clock, deadlineMs: clock() + 3 * MINUTE });
    const plan = await planWindow(a.context, 2);
    if (plan.kind !== 'window') throw new Error(`A planned no window: ${plan.outcome}`);
    const [first, second] = plan.tasks;
    if (!first || !second || second.partitions.length !== 1) throw new Error('A planned no second shard');
    await buildShard(a.context, first);

    // A's second shard (its own process: its own adapters) takes 130 records (about three parts),
    // then stalls with a part open.
    const own = await openShardAdapters(config);
    const stalling = stallingSource(own.source, 130);
    const counting = countingSink(own.sink);
    const late = buildShard(
      { ...withSource(a.context, stalling.source), sink: counting.sink, store: own.store },
      second,
    );
    late.catch(() => {}); // awaited below, after B
    let b: StepAttempt | undefined;
    try {
      await stalling.stalled;
      const partition = second.partitions[0] as number;
      const left = await storedPending(stored, pipelineId);
      expect(partsOf(left, partition).length).toBeGreaterThanOrEqual(2);
      expect(recordedEnd(left, partition)).toBeUndefined();
      await a.close();

      // B comes after A's deadline: A's lease has expired. B builds and closes every window.
      b = await StepAttempt.open(config, { now: windowClock(MINUTE, a.context.deadlineMs + 1) });
      const steps = await b.runSteps(2);
      expect(steps.finalized.map((f) => f.outcome)).not.toContain('incomplete');
      const closed = await expectExactlyOnce(bucket, topic, 'before A wakes');
      const window = closed.find((m) => m.window.startMs === plan.windowStartMs);
      if (!window) throw new Error('B did not close the window A began');

      // A wakes up: it finishes the part it had open (an object B listed), then is refused.
      const writtenBefore = counting.completed();
      stalling.release();
      await expect(late).rejects.toBeInstanceOf(AttemptSupersededError);
      expect(counting.completed()).toBeGreaterThan(writtenBefore);

      // Every object B listed still has its listed bytes, and nothing unlisted appeared in the window.
      for (const manifest of closed) await expectListedObjectsIntact(bucket, manifest);
      const folder = windowFolder(config.output.prefix, topic, {
        startMs: plan.windowStartMs,
        endMs: plan.windowEndMs,
      });
      const listed = new Set(window.objects.map((o) => o.key));
      const inFolder = await keysUnder(bucket, folder);
      expect(inFolder.filter((k) => !listed.has(k) && !k.endsWith('_manifest.json'))).toEqual([]);
      await expectExactlyOnce(bucket, topic, 'after A wakes');
    } finally {
      stalling.release();
      await late.catch(() => {});
      await own.close();
      await a.close();
      await b?.close();
    }
  });

  it('gives a partition holding most records a shard of its own, and lands it exactly once', async () => {
    const topic = await createTopic(3);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 2 * MINUTE;
    await produce(topic, spread(base, [600, 30, 30], 300));
    const { bucket, config } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
    const attempt = await StepAttempt.open(config, { now: clock });
    try {
      const steps = await attempt.runSteps(2);
      expect(steps.plans[0]?.tasks.map((t) => t.partitions)).toEqual([[0], [1, 2]]);
      expect(steps.finalized.map((f) => f.outcome)).not.toContain('incomplete');
      const manifests = await expectExactlyOnce(bucket, topic);
      const heavy = manifests.find((m) => m.totals.records > 0);
      expect(heavy?.objects.filter((o) => o.partition === 0).length).toBeGreaterThanOrEqual(3);
    } finally {
      await attempt.close();
    }
  });

  it('runs more shards than partitions: the idle shards return at once, untouched, and the window closes', async () => {
    const topic = await createTopic(2);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 2 * MINUTE;
    await produce(topic, spread(base, [40, 25], 200));
    const { bucket, config } = await newPipeline(topic);
    const attempt = await StepAttempt.open(config, { now: clock });
    try {
      const plan = await planWindow(attempt.context, 5);
      if (plan.kind !== 'window') throw new Error(`no window: ${plan.outcome}`);
      expect(plan.tasks.map((t) => t.shard)).toEqual([0, 1, 2, 3, 4]);
      expect(plan.tasks.flatMap((t) => t.partitions).sort()).toEqual([0, 1]);
      const idle = plan.tasks.filter((t) => t.partitions.length === 0);
      expect(idle).toHaveLength(3);

      const results = await Promise.all(
        plan.tasks.map(async (task) =>
          task.partitions.length > 0
            ? buildShard(await attempt.shardContext(task.shard), task)
            : // An idle shard reads, writes and records nothing: every adapter it was given refuses.
              buildShard(
                { ...withSource(attempt.context, untouchableSource()), ...untouchableOutput() },
                task,
              ),
        ),
      );
      for (const task of idle) {
        expect(results[task.shard]).toEqual({
          shard: task.shard,
          stopped: null,
          partitions: 0,
          partitionsDone: 0,
          records: 0,
          ends: [],
        });
      }
      const finalized = await finalizeWindow(attempt.context, plan, results);
      expect(finalized.outcome).toBe('closed');
      expect(finalized.records).toBe(65);
      // The quiet windows after it close with five shards too.
      const rest = await attempt.runSteps(5);
      expect(rest.finalized.map((f) => f.outcome)).not.toContain('incomplete');
      const manifests = await expectExactlyOnce(bucket, topic);
      expect(manifests[0]?.partitions.map((p) => [p.partition, p.records])).toEqual([
        [0, 40],
        [1, 25],
      ]);
    } finally {
      await attempt.close();
    }
  });

  it('closes a backlog of windows in one sharded run, and one cut short by its deadline is finished by the next', async () => {
    const WINDOWS = 12;
    const topic = await createTopic(2);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - (WINDOWS + 1) * MINUTE;
    const records = Array.from({ length: WINDOWS }, (_, w) => spread(base + w * MINUTE, [6, 4], 100)).flat();
    await produce(topic, records);
    const whole = await newPipeline(topic);
    const cut = await newPipeline(topic);

    const [full, short] = await Promise.all([
      runSharded(whole.config, 2, { now: clock }),
      runSharded(cut.config, 2, { seconds: 2.5, now: clock }),
    ]);
    const afterShort = await readLanded(cut.bucket);
    const cutPending = await storedPending(new DynamoDbStateStore(dynamodb, cut.table), cut.pipelineId);
    const rest = await runSharded(cut.config, 2, { now: windowClock(MINUTE, clock()) });

    expect(full.outcome).toBe('caught-up');
    // The backlog's windows, and the quiet one before the open window.
    expect(full.windowsClosed.length).toBe(WINDOWS + 1);
    const manifests = await expectExactlyOnce(whole.bucket, topic, 'one run');
    expect(manifests.filter((m) => m.totals.records === 10)).toHaveLength(WINDOWS);

    expect(['deadline', 'caught-up']).toContain(short.outcome);
    expect(short.windowsClosed.length).toBeLessThan(WINDOWS + 1);
    // A shard that finished its window before the other was stopped leaves its last parts written and
    // recorded in the pending window, which the next run lists; nothing else is unlisted.
    const recorded = new Set(cutPending?.parts.map((part) => part.key) ?? []);
    expect(afterShort.unlisted.filter((key) => !recorded.has(key))).toEqual([]);
    expect(rest.outcome).toBe('caught-up');
    expect(short.windowsClosed.length + rest.windowsClosed.length).toBeGreaterThanOrEqual(WINDOWS + 1);
    await expectExactlyOnce(cut.bucket, topic, 'two runs');
    const saved = await new DynamoDbStateStore(dynamodb, cut.table).load(cut.pipelineId);
    expect(saved?.state.lease).toBeNull();
    expect(saved?.state.pending).toBeNull();
  });
});
