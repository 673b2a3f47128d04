// A new pipeline's first window starts at its partitions' earliest first record, floored to the
// interval, even when a partition's first fetch holds no usable record (an aborted transaction and its
// marker at the head of its log): that partition is read on to its first record, not left out, so its
// early records are not landed later as late records of another window.
import { describe, expect, it } from 'vitest';
import {
  createTopic,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  transactionalProducer,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;

describe('a new pipeline’s first window', () => {
  it('starts at the earliest first record even when a partition begins with an aborted transaction', async () => {
    const topic = await createTopic(2);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 5 * MINUTE;
    // Partition 1 begins with records that were never committed, then holds the topic's earliest record.
    const producer = await transactionalProducer();
    const aborted = await producer.transaction();
    await aborted.send({
      topic,
      messages: Array.from({ length: 3 }, (_, i) => ({
        partition: 1,
        // Larger than a fetch may return: the partition's first fetch holds these alone.
        value: `aborted-${i}-${'a'.repeat(8_000)}`,
        timestamp: String(base + i),
      })),
    });
    await aborted.abort();
    await producer.disconnect();
    await produce(topic, [
      { partition: 1, timestamp: base + 30_000, value: 'earliest' },
      { partition: 0, timestamp: base + 3 * MINUTE + 10_000, value: 'later' },
    ]);
    const { bucket, config } = await newPipeline(topic, { FETCH_PARTITION_MB: '0.01' });

    const report = await runOnce(config, { now: clock });

    expect(report.outcome).toBe('caught-up');
    const first = report.windowsClosed[0]?.manifest;
    expect(first?.window.startMs).toBe(base);
    expect(first?.totals).toMatchObject({ records: 1, lateRecords: 0 });
    const landed = await readLanded(bucket);
    // Offsets 0-2 of partition 1 are the aborted records, 3 their marker: 4 is the earliest record.
    expect(landed.records.sort()).toEqual(['0:0', '1:4']);
    expect(landed.manifests.reduce((sum, m) => sum + m.totals.lateRecords, 0)).toBe(0);
  });
});
