// A Parquet part written again is the same bytes: a window retried from scratch, and a window resumed
// after some of its parts were written, land exactly the objects (and checksums) of a run that never
// stopped.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  createTopic,
  getObject,
  listKeys,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  type TestRecord,
} from './support/bed.js';
import { queryParquetBytes } from './support/duckdb.js';
import { type DeathStep, dyingAdapters, stepLabel } from './support/dying-adapters.js';

const MINUTE = 60_000;
const PARTITIONS = 2;
const PARQUET = { OUTPUT_FORMAT: 'parquet', VALUE_FORMAT: 'json', PART_SIZE_MB: '0.05' };

/** Two past windows with several 50 KiB parts per partition each. */
function records(base: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < 240; i++) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      out.push({
        partition,
        timestamp: base + Math.floor((i * 2 * MINUTE) / 240),
        key: `k${i % 7}`,
        value: JSON.stringify({ i, partition, pad: 'x'.repeat(700 + (i % 13)) }),
        headers: { seq: String(i) },
      });
    }
  }
  return out;
}

/** Every data object of a bucket with its SHA-256, by key. */
async function dataObjects(bucket: string): Promise<Record<string, string>> {
  const objects: Record<string, string> = {};
  for (const key of (await listKeys(bucket)).filter((k) => k.endsWith('.parquet'))) {
    objects[key] = createHash('sha256')
      .update(await getObject(bucket, key))
      .digest('hex');
  }
  return objects;
}

describe('parquet retries', () => {
  it('writes byte-identical parts when a window is retried or resumed mid-window', async () => {
    const topic = await createTopic(PARTITIONS);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 6 * MINUTE;
    await produce(topic, records(base));

    const clean = await newPipeline(topic, PARQUET);
    const deaths: DeathStep[] = [{ kind: 'pending-recorded' }, { kind: 'part-written', occurrence: 3 }];
    const [, ...recovered] = await Promise.all([
      runOnce(clean.config, { seconds: 10 }),
      ...deaths.map(async (step) => {
        const pipeline = await newPipeline(topic, PARQUET);
        await expect(
          runOnce(pipeline.config, { seconds: 4, adapt: (adapters) => dyingAdapters(step, adapters) }),
        ).rejects.toThrow(/process died/);
        await sleep(4_000); // the dead run's lease lasts until its deadline
        await runOnce(pipeline.config, { seconds: 10 });
        return { point: stepLabel(step), bucket: pipeline.bucket };
      }),
    ]);

    const expected = await dataObjects(clean.bucket);
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(8);
    // Parts of 50 KiB are written as row groups of a quarter of that: several per part, cut the same way.
    const [firstKey = ''] = Object.keys(expected);
    const [groups] = await queryParquetBytes(
      await getObject(clean.bucket, firstKey),
      (file) => `select count(*) as row_groups from parquet_metadata(${file}) where column_id = 0`,
    );
    expect(Number(groups?.row_groups)).toBeGreaterThan(1);
    const cleanLanded = await readLanded(clean.bucket);
    expect(cleanLanded.records).toHaveLength(480);
    for (const { point, bucket } of recovered) {
      expect(await dataObjects(bucket), point).toEqual(expected);
      const landed = await readLanded(bucket);
      expect(landed.unlisted, point).toEqual([]);
      // Windows with records (the later run may also close one more empty window than the clean one).
      const objectsOf = (manifests: typeof landed.manifests) =>
        manifests.filter((m) => m.objects.length > 0).map((m) => m.objects);
      expect(objectsOf(landed.manifests), point).toEqual(objectsOf(cleanLanded.manifests));
    }
  });
});
