// Exactly once across crashes: a run that dies at any step boundary is finished by the next run, and
// every produced record lands in exactly one finished batch. The death is the adapters': the step's
// write goes through, then every call fails (support/dying-adapters.ts), so no clean-up write lands.
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import {
  createTopic,
  dynamodb,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  type TestRecord,
  testKafka,
  uniqueName,
} from './support/bed.js';
import { type DeathStep, dyingAdapters, stepLabel } from './support/dying-adapters.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
const PARTITIONS = 3;

/** Three past windows with about three 50 KiB parts per partition each, then a quiet stretch. */
function recordsOverThreeWindows(base: number): TestRecord[] {
  const records: TestRecord[] = [];
  for (let i = 0; i < 3 * 120; i++) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      records.push({
        partition,
        timestamp: base + Math.floor((i * 3 * MINUTE) / 360),
        value: `${i}:${'x'.repeat(1000)}`,
      });
    }
  }
  return records;
}

const scenarios: DeathStep[] = [
  { kind: 'pending-recorded' },
  { kind: 'part-written', occurrence: 1 },
  { kind: 'part-written', occurrence: 5 },
  { kind: 'manifest-written', occurrence: 2 },
  // The new boundary is saved; the consumer group's offsets are not committed yet.
  { kind: 'state-saved' },
];

describe('crash recovery', () => {
  it('lands every record exactly once whichever step boundary a run dies at', async () => {
    const topic = await createTopic(PARTITIONS);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 8 * MINUTE;
    const records = recordsOverThreeWindows(base);
    await produce(topic, records);
    const expected = records.map((r, i) => `${r.partition}:${Math.floor(i / PARTITIONS)}`).sort();

    // Each scenario is its own pipeline (group, bucket, table) over the same topic; they run side by side.
    const outcomes = await Promise.all(
      scenarios.map(async (step) => {
        const { bucket, table, groupId, config } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
        let died = () => false;
        const deadRun = uniqueName('dead-run');
        // Time enough to reach the step even on a loaded machine: a run that meets its deadline first
        // would not die at all.
        const crashing = runOnce(config, {
          seconds: 30,
          runId: deadRun,
          adapt: (adapters) => {
            const dying = dyingAdapters(step, adapters);
            died = dying.died;
            return dying;
          },
        });
        await expect(crashing, stepLabel(step)).rejects.toThrow(/process died/);
        expect(died(), stepLabel(step)).toBe(true);
        const leftBehind = await new DynamoDbStateStore(dynamodb, table).load(pipelineIdOf(groupId, topic));
        // The dead run's lease lasts until its deadline; a run that knows it ended (the next invocation in
        // its container, the CLI's next run) takes it over at once.
        // On a clock one second into its window, with less time than the rest: no wait for the open window.
        const recovered = await runOnce(config, {
          seconds: 50,
          endedRunIds: [deadRun],
          now: windowClock(MINUTE),
        });
        const landed = await readLanded(bucket);
        const saved = await new DynamoDbStateStore(dynamodb, table).load(pipelineIdOf(groupId, topic));
        const admin = testKafka().admin();
        await admin.connect();
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        await admin.disconnect();
        return { step, leftBehind, recovered, landed, saved, committed };
      }),
    );

    for (const { step, leftBehind, recovered, landed, saved, committed } of outcomes) {
      const label = stepLabel(step);
      // A dead run writes nothing more: its lease is still there for the next run to wait out.
      expect(leftBehind?.state.lease, label).not.toBeNull();
      expect(recovered.outcome, label).toBe('caught-up');
      expect([...landed.records].sort(), label).toEqual(expected);
      expect(landed.unlisted, label).toEqual([]);
      expect(saved?.state.pending, label).toBeNull();
      expect(saved?.state.lease, label).toBeNull();
      const committedOffsets = Object.fromEntries(
        (committed?.partitions ?? []).map((p) => [String(p.partition), p.offset]),
      );
      expect(committedOffsets, label).toEqual(saved?.state.offsets);
    }
  });
});
