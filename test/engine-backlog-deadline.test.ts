// Backlogs, deadlines and windows larger than a part: a run closes what it can in its time, and the
// next run continues exactly where it stopped, with byte-identical results.
import { describe, expect, it } from 'vitest';
import { createAdapters } from '../src/adapters/create-adapters.js';
import { runPipeline } from '../src/engine/run-pipeline.js';
import type { RecordSource } from '../src/ports.js';
import {
  createTopic,
  getObject,
  listKeys,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  type TestRecord,
  uniqueName,
} from './support/bed.js';
import { watchedStore } from './support/dying-adapters.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;

function backlog(base: number, windows: number, perWindow: number, partitions: number): TestRecord[] {
  const records: TestRecord[] = [];
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < perWindow; i++) {
      records.push({
        partition: i % partitions,
        timestamp: base + w * MINUTE + Math.floor((i * MINUTE) / perWindow),
      });
    }
  }
  return records;
}

function expectedKeys(records: readonly TestRecord[], partitions: number): string[] {
  const next = new Array<number>(partitions).fill(0);
  return records
    .map((r) => {
      const offset = next[r.partition] ?? 0;
      next[r.partition] = offset + 1;
      return `${r.partition}:${offset}`;
    })
    .sort();
}

describe('backlog and deadline', () => {
  it('closes many finished windows in one run', async () => {
    const topic = await createTopic(3);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 25 * MINUTE;
    const records = backlog(base, 20, 30, 3);
    await produce(topic, records);
    const { bucket, config } = await newPipeline(topic);

    // A clock one second into its window, and less time than the rest of it: the run closes the backlog
    // and stops, instead of waiting for the open window to end.
    const report = await runOnce(config, { seconds: 50, now: windowClock(MINUTE) });

    expect(report.outcome).toBe('caught-up');
    // 20 windows with records, then the quiet ones up to the wall clock.
    expect(report.windowsClosed.length).toBeGreaterThanOrEqual(24);
    const landed = await readLanded(bucket);
    expect(landed.records.sort()).toEqual(expectedKeys(records, 3));
    expect(landed.manifests.filter((m) => m.totals.records === 30)).toHaveLength(20);
  });

  it('stops cleanly when given little time, and the next run finishes the backlog', async () => {
    const topic = await createTopic(2);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 40 * MINUTE;
    const records = backlog(base, 30, 10, 2);
    await produce(topic, records);
    const { bucket, config } = await newPipeline(topic);

    const short = await runOnce(config, { seconds: 2.5 });
    const afterShort = await readLanded(bucket);
    const full = await runOnce(config, { seconds: 50, now: windowClock(MINUTE) });

    expect(short.outcome).toBe('deadline');
    expect(short.windowsClosed.length).toBeLessThan(30);
    expect(afterShort.unlisted).toEqual([]);
    expect(full.outcome).toBe('caught-up');
    expect(short.windowsClosed.length + full.windowsClosed.length).toBeGreaterThanOrEqual(40);
    expect((await readLanded(bucket)).records.sort()).toEqual(expectedKeys(records, 2));
  });

  it('resumes a window larger than several parts after its last finished part, byte for byte', async () => {
    const topic = await createTopic(1);
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    const records: TestRecord[] = [];
    for (let i = 0; i < 1200; i++) {
      records.push({
        partition: 0,
        timestamp: start + i * 40,
        key: `k${i % 7}`,
        value: `${i}:${'y'.repeat(2000 + (i % 500))}`,
      });
    }
    records.push({ partition: 0, timestamp: start + MINUTE + 1 });
    await produce(topic, records);
    const parts = { PART_SIZE_MB: '0.5', OUTPUT_PREFIX: 'same' };
    const uninterrupted = await newPipeline(topic, parts);
    const interrupted = await newPipeline(topic, parts);

    await runOnce(uninterrupted.config, { seconds: 30 });
    // The interrupted run's clock jumps to its deadline once its second part is written.
    let partsWritten = 0;
    const first = await runOnce(interrupted.config, {
      seconds: 30,
      adapt: (adapters) => ({
        ...adapters,
        store: watchedStore(adapters.store, (change) => void (change.addedPart && partsWritten++)),
      }),
      now: () => Date.now() + (partsWritten >= 2 ? 3_600_000 : 0),
    });
    const midWindow = await listKeys(interrupted.bucket);
    await runOnce(interrupted.config, { seconds: 30 });

    expect(first.outcome).toBe('deadline');
    expect(first.windowsClosed).toHaveLength(0);
    expect(midWindow.filter((k) => k.includes('/part-'))).toHaveLength(2);
    const keysA = (await listKeys(uninterrupted.bucket)).filter((k) => k.includes(`window=`));
    const keysB = (await listKeys(interrupted.bucket)).filter((k) => k.includes(`window=`));
    expect(keysB).toEqual(keysA);
    expect(keysA.filter((k) => k.includes('/part-')).length).toBeGreaterThan(4);
    for (const key of keysA) {
      const a = await getObject(uninterrupted.bucket, key);
      const b = await getObject(interrupted.bucket, key);
      if (key.endsWith('_manifest.json')) {
        // Same offsets, objects and checksums; only the moment each pipeline closed the window differs.
        const { closedAt: _a, ...manifestA } = JSON.parse(a.toString());
        const { closedAt: _b, ...manifestB } = JSON.parse(b.toString());
        expect(manifestB, key).toEqual(manifestA);
      } else {
        expect(b.equals(a), key).toBe(true);
      }
    }
  });

  it("caps a new pipeline's search for its first timestamp to the time left, however long the poll interval", async () => {
    const topic = await createTopic(2);
    await produce(topic, [
      { partition: 0, timestamp: Date.now() - 5 * MINUTE },
      { partition: 1, timestamp: Date.now() - 5 * MINUTE },
    ]);
    const { config } = await newPipeline(topic, {
      BATCH_INTERVAL_SECONDS: '300',
      POLL_INTERVAL_SECONDS: '60',
    });
    const adapters = await createAdapters(config);
    // Partition 1 holds a record but its fetches never return it (a slow broker): the search waits on it.
    const real = adapters.source;
    const source: RecordSource = {
      partitionBounds: () => real.partitionBounds(),
      topicIdentity: () => real.topicIdentity(),
      offsetsForTime: (ms) => real.offsetsForTime(ms),
      start: (positions) => real.start(positions),
      poll: async (maxWaitMs) => {
        const started = Date.now();
        const batches = (await real.poll(maxWaitMs)).filter((b) => b.partition !== 1);
        // The real poll returns early with partition 1's batch; wait out the rest as an empty poll would.
        const left = maxWaitMs - (Date.now() - started);
        if (batches.length === 0 && left > 0) await new Promise((resolve) => setTimeout(resolve, left));
        return batches;
      },
      pause: (partitions) => real.pause(partitions),
      resume: (positions) => real.resume(positions),
      commit: (positions) => real.commit(positions),
      committedOffsets: () => real.committedOffsets(),
      close: () => real.close(),
    };
    const started = Date.now();
    try {
      const report = await runPipeline({
        config,
        source,
        sink: adapters.sink,
        store: adapters.store,
        deadlineMs: started + 4_000,
        runId: uniqueName('run'),
      });
      expect(report.windowsClosed).toHaveLength(0);
    } finally {
      await adapters.close();
    }

    // Uncapped, one poll alone would have waited the 60 s poll interval.
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
