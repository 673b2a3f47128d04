// NDJSON objects compressed with zstd (COMPRESSION=zstd, Node 22.15 or later, as on the Lambda's
// nodejs24.x): windows land exactly once as .ndjson.zst objects, and the same records give the same bytes
// however a run was cut. Where the runtime has no zstd, the setting is refused before anything runs.
import { describe, expect, it } from 'vitest';
import { zstdAvailable } from '../src/core/zstd-support.js';
import { ConfigError } from '../src/errors.js';
import {
  createTopic,
  getObject,
  listKeys,
  ndjsonBytes,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  type TestRecord,
} from './support/bed.js';
import { watchedStore } from './support/dying-adapters.js';

const MINUTE = 60_000;
const ZSTD = { COMPRESSION: 'zstd', PART_SIZE_MB: '0.2', OUTPUT_PREFIX: 'same' };

describe('zstd NDJSON objects', () => {
  it('lands every record once in .ndjson.zst parts, byte-identical after a mid-window stop', async () => {
    const topic = await createTopic(2);
    if (!zstdAvailable()) {
      await expect(newPipeline(topic, ZSTD)).rejects.toThrow(ConfigError);
      await expect(newPipeline(topic, ZSTD)).rejects.toThrow(
        `COMPRESSION zstd needs Node.js 22.15 or later (this is ${process.version}); use gzip`,
      );
      return;
    }
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    const records: TestRecord[] = [];
    for (let i = 0; i < 600; i++) {
      records.push({
        partition: i % 2,
        timestamp: start + i * 90,
        key: `k${i % 7}`,
        value: `${i}:${'z'.repeat(900 + (i % 300))}`,
      });
    }
    for (const partition of [0, 1]) records.push({ partition, timestamp: start + MINUTE + 1 });
    await produce(topic, records);
    const uninterrupted = await newPipeline(topic, ZSTD);
    const interrupted = await newPipeline(topic, ZSTD);

    await runOnce(uninterrupted.config, { seconds: 30 });
    // The interrupted run's clock jumps past its deadline once its second part is saved.
    let partsSaved = 0;
    const first = await runOnce(interrupted.config, {
      seconds: 30,
      adapt: (adapters) => ({
        ...adapters,
        store: watchedStore(adapters.store, (change) => {
          if (change.addedPart) partsSaved++;
        }),
      }),
      now: () => Date.now() + (partsSaved >= 2 ? 3_600_000 : 0),
    });
    await runOnce(interrupted.config, { seconds: 30 });

    expect(first.outcome).toBe('deadline');
    const keys = (await listKeys(uninterrupted.bucket)).filter((k) => k.includes('/part-'));
    expect(keys.length).toBeGreaterThan(2);
    expect(keys.every((k) => k.endsWith('.ndjson.zst'))).toBe(true);
    let stored = 0;
    let uncompressed = 0;
    for (const key of keys) {
      const a = await getObject(uninterrupted.bucket, key);
      const b = await getObject(interrupted.bucket, key);
      expect(b.equals(a), key).toBe(true);
      // A zstd frame (magic 28 b5 2f fd).
      expect(a.subarray(0, 4).toString('hex'), key).toBe('28b52ffd');
      stored += a.length;
      uncompressed += ndjsonBytes(key, a).length;
    }
    // The repetitive values compress well: the objects are compressed, not merely framed.
    expect(stored).toBeLessThan(uncompressed / 5);
    const landed = await readLanded(interrupted.bucket);
    expect(landed.unlisted).toEqual([]);
    expect(new Set(landed.records).size).toBe(landed.records.length);
    expect(
      landed.records.filter((r) => r.startsWith('0:') || r.startsWith('1:')).length,
    ).toBeGreaterThanOrEqual(600);
    expect(landed.manifests.every((m) => m.compression === 'zstd')).toBe(true);
  });
});
