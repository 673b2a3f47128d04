// A backlog of many windows is fetched from Kafka once: what a window fetched past a partition's end is
// kept for the next window, not dropped and fetched (and decoded) again.
import { describe, expect, it } from 'vitest';
import type { SourceBatch } from '../src/ports.js';
import {
  createTopic,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  storedOffsets,
  type TestRecord,
} from './support/bed.js';
import { bind, windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
const WINDOWS = 6;
const PER_WINDOW_AND_PARTITION = 40;

/** Six windows of records on each partition, then one record per partition two windows later: all finished. */
function backlog(partitions: number, base: number): TestRecord[] {
  const records: TestRecord[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    for (let i = 0; i < PER_WINDOW_AND_PARTITION; i++) {
      for (let partition = 0; partition < partitions; partition++) {
        records.push({
          partition,
          timestamp: base + w * MINUTE + Math.floor((i * MINUTE) / PER_WINDOW_AND_PARTITION),
          value: `${'x'.repeat(200)}-${partition}-${w}-${i}`,
        });
      }
    }
  }
  for (let partition = 0; partition < partitions; partition++) {
    records.push({ partition, timestamp: base + (WINDOWS + 2) * MINUTE + partition });
  }
  return records;
}

describe('fetching a backlog of windows', () => {
  it.each([
    // One fetch holds every window of a partition.
    ['large fetches', '1'],
    // Many fetches a window, several queued past each end.
    ['small fetches', '0.01'],
  ])('with %s, lands every record once and fetches each from Kafka once', async (_label, fetchMb) => {
    const partitions = 3;
    const topic = await createTopic(partitions);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - (WINDOWS + 4) * MINUTE;
    await produce(topic, backlog(partitions, base));
    const { bucket, config } = await newPipeline(topic, { FETCH_PARTITION_MB: fetchMb });

    // What the source handed over: by polls, and by pauses (the batches fetched and not yet polled).
    const delivered: string[] = [];
    const note = (batches: readonly SourceBatch[]) => {
      for (const b of batches) for (const r of b.records) delivered.push(`${b.partition}:${r.offset}`);
      return [...batches];
    };
    const report = await runOnce(config, {
      now: windowClock(MINUTE),
      adapt: (adapters) => ({
        ...adapters,
        source: {
          ...bind(adapters.source),
          pause: (p) => note(adapters.source.pause(p)),
          poll: async (ms) => note(await adapters.source.poll(ms)),
        },
      }),
    });

    expect(report.outcome).toBe('caught-up');
    expect(report.windowsClosed.length).toBeGreaterThanOrEqual(WINDOWS);
    const stored = await storedOffsets(topic);
    const landed = await readLanded(bucket);
    expect(landed.records.sort()).toEqual([...stored].sort());
    expect(landed.unlisted).toEqual([]);
    const repeated = delivered.filter((id, i) => delivered.indexOf(id) !== i);
    expect(repeated, 'records the source fetched more than once').toEqual([]);
    expect(new Set(delivered)).toEqual(new Set(stored));
  });
});
