// Exactly once across shards, whatever dies when: a shard or a finalize step of attempt A dies at a
// step boundary (its write goes through, then every call fails: support/dying-adapters.ts), and attempt
// B, once A's lease is gone (expired, released by the failed execution's cleanup, or known to have
// ended), lands every record exactly once. The steps are called one by one, as Step Functions does.

import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { partsOf, recordedEnd } from '../src/core/pending-batch.js';
import type { PendingBatch, PipelineState } from '../src/core/pipeline-state.js';
import type { WindowPlan } from '../src/engine/step-types.js';
import { abandonAttempt, buildShard, finalizeWindow, planWindow } from '../src/engine/window-steps.js';
import { AttemptSupersededError } from '../src/errors.js';
import {
  createTopic,
  dynamodb,
  listKeys,
  newPipeline,
  produce,
  type TestRecord,
  testKafka,
} from './support/bed.js';
import { type DeathStep, dyingAdapters, ProcessDied } from './support/dying-adapters.js';
import { expectExactlyOnce, StepAttempt, windowClock, withSource } from './support/shard-bed.js';
import { storedPending } from './support/stored-pending.js';

const MINUTE = 60_000;
const PARTITIONS = 4;
const SHARDS = 2;

/** Two past windows with about three 50 KiB parts per partition each. */
function records(base: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < 240; i++) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      out.push({
        partition,
        timestamp: base + Math.floor((i * 2 * MINUTE) / 240),
        value: `${partition}:${i}:${'z'.repeat(1000)}`,
      });
    }
  }
  return out;
}

/** How attempt B gets past A's lease. */
type Takeover = 'expired' | 'abandoned' | 'ended';

/** What A left behind, checked before B runs: proof the death happened where the scenario says. */
type LeftBehind = (left: {
  state: PipelineState;
  pending: PendingBatch | null;
  keys: string[];
  victim: readonly number[];
}) => void;

interface Scenario {
  readonly label: string;
  /** Where A dies: in its second shard, in finalize, or (null) after its shards, before finalize. */
  readonly death: { readonly in: 'shard' | 'finalize'; readonly step: DeathStep } | null;
  readonly takeover: Takeover;
  readonly leftBehind?: LeftBehind;
}

const victimParts = (pending: PendingBatch | null, victim: readonly number[]) =>
  victim.flatMap((p) => partsOf(pending, p));

const scenarios: Scenario[] = [
  {
    label: 'shard dies before its first part',
    death: { in: 'shard', step: { kind: 'part-completing', occurrence: 1 } },
    takeover: 'expired',
    leftBehind: ({ pending, victim }) => expect(victimParts(pending, victim)).toEqual([]),
  },
  {
    label: 'shard dies between parts',
    death: { in: 'shard', step: { kind: 'part-written', occurrence: 2 } },
    takeover: 'abandoned',
    leftBehind: ({ pending, victim }) => {
      expect(victimParts(pending, victim)).toHaveLength(2);
      for (const p of victim) expect(recordedEnd(pending, p)).toBeUndefined();
    },
  },
  {
    label: 'shard dies after its last full part, as it would record its ends',
    death: { in: 'shard', step: { kind: 'end-recording' } },
    takeover: 'ended',
    leftBehind: ({ pending, victim }) => {
      expect(victimParts(pending, victim).length).toBeGreaterThanOrEqual(2);
      for (const p of victim) expect(recordedEnd(pending, p)).toBeUndefined();
    },
  },
  {
    label: 'shard dies after recording an end, before that partition’s last part',
    death: { in: 'shard', step: { kind: 'end-recorded' } },
    takeover: 'expired',
    leftBehind: ({ pending, victim }) =>
      expect(victim.some((p) => recordedEnd(pending, p) !== undefined)).toBe(true),
  },
  {
    label: 'shard dies after writing a last part, before recording it',
    death: { in: 'shard', step: { kind: 'last-part-completed' } },
    takeover: 'abandoned',
    leftBehind: ({ pending, keys }) => {
      const recorded = new Set(pending?.parts.map((p) => p.key));
      // The objects are there, and no record of them: B must write the same bytes under those keys. (A
      // shard writes its last parts together, so more than the one whose completion died may have landed.)
      expect(keys.filter((k) => k.includes('/part-') && !recorded.has(k)).length).toBeGreaterThanOrEqual(1);
    },
  },
  {
    label: 'shards finish; the attempt dies before finalize',
    death: null,
    takeover: 'ended',
    leftBehind: ({ pending }) => {
      for (let p = 0; p < PARTITIONS; p++) expect(recordedEnd(pending, p)).toBeDefined();
    },
  },
  {
    label: 'finalize dies before the manifest',
    death: { in: 'finalize', step: { kind: 'manifest-writing' } },
    takeover: 'expired',
    leftBehind: ({ state, keys }) => {
      expect(state.pending).not.toBeNull();
      expect(keys.filter((k) => k.endsWith('_manifest.json'))).toEqual([]);
    },
  },
  {
    label: 'finalize dies after the manifest',
    death: { in: 'finalize', step: { kind: 'manifest-written', occurrence: 1 } },
    takeover: 'abandoned',
    leftBehind: ({ state, keys }) => {
      expect(state.pending).not.toBeNull();
      expect(keys.filter((k) => k.endsWith('_manifest.json'))).toHaveLength(1);
    },
  },
  {
    label: 'finalize dies after the state save',
    death: { in: 'finalize', step: { kind: 'state-saved' } },
    takeover: 'ended',
    leftBehind: ({ state }) => expect(state.windowsClosed).toBe(1),
  },
  {
    label: 'finalize dies before the commit',
    death: { in: 'finalize', step: { kind: 'committing' } },
    takeover: 'expired',
    leftBehind: ({ state }) => expect(state.windowsClosed).toBe(1),
  },
];

/** Attempt A: plan, both shards, finalize, dying where the scenario says. */
async function dyingAttempt(a: StepAttempt, scenario: Scenario): Promise<readonly number[]> {
  const plan = await planWindow(a.context, SHARDS);
  if (plan.kind !== 'window') throw new Error(`A planned no window: ${plan.outcome}`);
  const [healthy, victim] = plan.tasks;
  if (!healthy || !victim || victim.partitions.length === 0) throw new Error('A planned no second shard');
  const death = scenario.death;
  if (death?.in !== 'shard') {
    const results = await a.buildAll(plan);
    if (death === null) return victim.partitions;
    const dying = dyingAdapters(death.step, a.context);
    await expect(
      finalizeWindow(withSource({ ...a.context, ...dying }, dying.source), plan, results),
    ).rejects.toThrow(ProcessDied);
    expect(dying.died()).toBe(true);
    return victim.partitions;
  }
  const victimContext = await a.shardContext(victim.shard);
  const dying = dyingAdapters(death.step, victimContext);
  const [healthyResult, victimResult] = await Promise.allSettled([
    buildShard(await a.shardContext(healthy.shard), healthy),
    buildShard(withSource({ ...victimContext, ...dying }, dying.source), victim),
  ]);
  expect(healthyResult.status).toBe('fulfilled');
  expect(victimResult.status === 'rejected' && victimResult.reason).toBeInstanceOf(ProcessDied);
  expect(dying.died()).toBe(true);
  return victim.partitions;
}

async function committedOffsets(groupId: string, topic: string): Promise<Record<string, string>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((committed?.partitions ?? []).map((p) => [String(p.partition), p.offset]));
  } finally {
    await admin.disconnect();
  }
}

describe('sharded windows under death', () => {
  it('land every record exactly once whichever step of which shard dies, after any takeover', async () => {
    const topic = await createTopic(PARTITIONS);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, records(base));

    // Each scenario is its own pipeline over the same topic; they run side by side.
    const outcomes = await Promise.all(
      scenarios.map(async (scenario) => {
        const { bucket, table, groupId, config, pipelineId } = await newPipeline(topic, {
          PART_SIZE_MB: '0.05',
        });
        const stored = new DynamoDbStateStore(dynamodb, table);
        const a = await StepAttempt.open(config, { now: clock });
        let b: StepAttempt | undefined;
        try {
          const victim = await dyingAttempt(a, scenario);
          const left = await stored.load(pipelineId);
          if (!left) throw new Error('A saved no state');
          // A's lease is still there: a dead attempt releases nothing.
          expect(left.state.lease?.owner, scenario.label).toBe(a.id);
          scenario.leftBehind?.({
            state: left.state,
            pending: await storedPending(stored, pipelineId),
            keys: await listKeys(bucket),
            victim,
          });

          if (scenario.takeover === 'abandoned') await abandonAttempt(a.context);
          // A dead attempt's connections go with it (a consumer left in the group would take partitions).
          await a.close();
          b = await StepAttempt.open(config, {
            // B runs later than A: for an expired lease, later than A's deadline.
            now: windowClock(MINUTE, scenario.takeover === 'expired' ? a.context.deadlineMs + 1 : clock()),
            ...(scenario.takeover === 'ended' ? { endedRunIds: [a.id] } : {}),
          });
          const steps = await b.runSteps(SHARDS);
          return {
            scenario,
            bucket,
            steps,
            saved: (await stored.load(pipelineId))?.state,
            committed: await committedOffsets(groupId, topic),
          };
        } finally {
          await a.close();
          await b?.close();
        }
      }),
    );

    for (const { scenario, bucket, steps, saved, committed } of outcomes) {
      const label = scenario.label;
      expect(steps.stop?.outcome ?? 'closed', label).not.toBe('lease-held');
      expect(
        steps.finalized.map((f) => f.outcome),
        label,
      ).not.toContain('incomplete');
      const manifests = await expectExactlyOnce(bucket, topic, label);
      // Both windows with records are closed, whichever attempt closed them.
      expect(manifests.filter((m) => m.totals.records > 0).length, label).toBe(2);
      expect(saved?.pending, label).toBeNull();
      expect(saved?.lease, label).toBeNull();
      expect(committed, label).toEqual(saved?.offsets);
    }
  });

  it('a commit lost after the last window with records does not stop later attempts', async () => {
    const topic = await createTopic(2);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    // Two windows with records, then quiet ones.
    await produce(
      topic,
      [0, 1].flatMap((w) =>
        Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, timestamp: base + w * MINUTE + i * 1000 })),
      ),
    );
    const { bucket, config, groupId } = await newPipeline(topic);
    const a = await StepAttempt.open(config, { now: clock });
    let later: StepAttempt[] = [];
    try {
      // A closes the first window (and commits), then dies as it would commit the second.
      const first = await planWindow(a.context, SHARDS);
      if (first.kind !== 'window') throw new Error(`no window: ${first.outcome}`);
      const firstClosed = await finalizeWindow(a.context, first, await a.buildAll(first), {
        keepLease: true,
      });
      expect(firstClosed.outcome).toBe('closed');
      const second = await planWindow(a.context, SHARDS);
      if (second.kind !== 'window') throw new Error(`no window: ${second.outcome}`);
      const dying = dyingAdapters({ kind: 'committing' }, a.context);
      await expect(
        finalizeWindow(
          withSource({ ...a.context, ...dying }, dying.source),
          second,
          await a.buildAll(second),
        ),
      ).rejects.toThrow(ProcessDied);
      await a.close();

      // B closes only quiet windows (they move no offset); C comes after it.
      const b = await StepAttempt.open(config, { now: clock, endedRunIds: [a.id] });
      later = [b];
      const bSteps = await b.runSteps(SHARDS);
      expect(bSteps.finalized.length).toBeGreaterThan(0);
      const c = await StepAttempt.open(config, { now: windowClock(MINUTE, clock() + MINUTE) });
      later.push(c);
      const cSteps = await c.runSteps(SHARDS);
      expect(cSteps.stop?.outcome ?? 'closed').not.toBe('lease-held');
      await expectExactlyOnce(bucket, topic);
      expect(Object.keys(await committedOffsets(groupId, topic))).toHaveLength(2);
    } finally {
      await a.close();
      for (const attempt of later) await attempt.close();
    }
  });

  it('B re-plans the window A left pending, and A can no longer write to it', async () => {
    const topic = await createTopic(PARTITIONS);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, records(base));
    const { config } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
    const a = await StepAttempt.open(config, { now: clock });
    const b = await StepAttempt.open(config, { now: clock, endedRunIds: [a.id] });
    try {
      const planA = (await planWindow(a.context, SHARDS)) as WindowPlan;
      expect(planA.kind).toBe('window');
      // A dies before any shard ran; B takes over the same window, and A can no longer write to it.
      const planB = (await planWindow(b.context, SHARDS)) as WindowPlan;
      expect(planB.kind).toBe('window');
      expect([planB.windowStartMs, planB.windowEndMs]).toEqual([planA.windowStartMs, planA.windowEndMs]);
      expect(planB.tasks.map((t) => t.attemptId)).toEqual([b.id, b.id]);
      const late = planA.tasks[0];
      if (!late) throw new Error('no task');
      await expect(buildShard(a.context, late)).rejects.toBeInstanceOf(AttemptSupersededError);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
