// The window rule end to end: each window's batch holds exactly the records whose timestamps fall in it.
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../src/core/manifest.js';
import {
  createBucket,
  createStateTable,
  createTopic,
  getObject,
  listKeys,
  parseNdjson,
  produce,
  runOnce,
  type TestRecord,
  testConfig,
  uniqueName,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;

describe('windows on a 3-partition topic', () => {
  it('writes each window with exactly the records whose timestamps fall in it, none of the next', async () => {
    const topic = await createTopic(3);
    const bucket = await createBucket();
    const table = await createStateTable();
    // Four finished windows in the past, uneven timestamps, and partitions that go quiet early.
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    const records: TestRecord[] = [];
    const pattern = [
      [0, 1_000],
      [1, 2_500],
      [2, 59_999],
      [0, 30_000],
      [1, 60_000],
      [0, 61_000],
      [2, 65_000],
      [0, 119_999],
      [1, 125_000],
      [2, 170_000],
      [0, 180_000],
      [2, 200_000],
      [1, 239_000],
    ] as const;
    for (const [partition, offsetMs] of pattern)
      records.push({ partition, timestamp: base + offsetMs, key: `k${partition}` });
    // A record per partition well after, so every partition's share of the four windows ends by a record.
    for (const partition of [0, 1, 2]) records.push({ partition, timestamp: base + 5 * MINUTE + partition });
    await produce(topic, records);

    const config = testConfig({
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('g'),
      OUTPUT_BUCKET: bucket,
      OUTPUT_PREFIX: 'landing',
      STATE_TABLE: table,
    });
    // One second into a window by this clock, with less time than the rest: no wait for the open window.
    const report = await runOnce(config, { now: windowClock(MINUTE) });

    expect(report.outcome).toBe('caught-up');
    const keys = await listKeys(bucket);
    const manifests = keys.filter((k) => k.endsWith('_manifest.json'));
    expect(manifests.length).toBeGreaterThanOrEqual(4);
    for (let w = 0; w < 4; w++) {
      const startMs = base + w * MINUTE;
      const manifestKey = manifests.find((k) =>
        k.includes(
          `window=${new Date(startMs)
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z')
            .replace(/[-:]/g, '')}_`,
        ),
      );
      expect(manifestKey, `manifest of window ${w}`).toBeDefined();
      const manifest = JSON.parse((await getObject(bucket, manifestKey ?? '')).toString()) as Manifest;
      const expected = records
        .filter((r) => r.timestamp >= startMs && r.timestamp < startMs + MINUTE)
        .map((r) => `${r.partition}@${r.timestamp}`)
        .sort();
      const written: string[] = [];
      for (const object of manifest.objects.filter((o) => o.kind === 'data')) {
        for (const row of parseNdjson(object.key, await getObject(bucket, object.key)) as Array<{
          partition: number;
          timestamp: number;
        }>) {
          written.push(`${row.partition}@${row.timestamp}`);
        }
      }
      expect(written.sort()).toEqual(expected);
      expect(manifest.totals.records).toBe(expected.length);
    }
  });
});
