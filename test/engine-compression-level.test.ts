// COMPRESSION_LEVEL: the same records landed at two levels give different objects under the same keys,
// holding the same NDJSON bytes; and a second pipeline at the same level writes the same bytes again.
import { describe, expect, it } from 'vitest';
import { zstdAvailable } from '../src/core/zstd-support.js';
import {
  createTopic,
  getObject,
  listKeys,
  ndjsonBytes,
  newPipeline,
  produce,
  runOnce,
  type TestRecord,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;

async function landed(topic: string, variables: Record<string, string>): Promise<Map<string, Buffer>> {
  const pipeline = await newPipeline(topic, { OUTPUT_PREFIX: 'same', ...variables });
  // One second into a window by this clock, with less time than the rest: no wait for the open window.
  await runOnce(pipeline.config, { seconds: 30, now: windowClock(MINUTE) });
  const objects = new Map<string, Buffer>();
  for (const key of (await listKeys(pipeline.bucket)).filter((k) => k.includes('/part-'))) {
    objects.set(key, await getObject(pipeline.bucket, key));
  }
  return objects;
}

describe('compression level', () => {
  it('writes gzip at the level set, the same bytes for the same level, the same lines at any level', async () => {
    const topic = await createTopic(1);
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    const records: TestRecord[] = [];
    for (let i = 0; i < 400; i++) {
      records.push({
        partition: 0,
        timestamp: start + i * 100,
        key: `k${i % 5}`,
        value: `${i}:${'order '.repeat(40 + (i % 50))}`,
      });
    }
    records.push({ partition: 0, timestamp: start + MINUTE + 1 });
    await produce(topic, records);

    const fastest = await landed(topic, { COMPRESSION_LEVEL: '1' });
    const fastestAgain = await landed(topic, { COMPRESSION_LEVEL: '1' });
    const smallest = await landed(topic, { COMPRESSION_LEVEL: '9' });
    const byDefault = await landed(topic, {});

    expect(fastest.size).toBeGreaterThan(0);
    expect([...smallest.keys()]).toEqual([...fastest.keys()]);
    for (const [key, bytes] of fastest) {
      const smaller = smallest.get(key) as Buffer;
      expect(fastestAgain.get(key)?.equals(bytes), key).toBe(true);
      // gzip's header says how hard it tried (XFL, byte 8): 4 = fastest, 2 = best compression, 0 = default.
      expect([bytes[8], smaller[8], byDefault.get(key)?.[8]], key).toEqual([4, 2, 0]);
      expect(smaller.length, key).toBeLessThanOrEqual(bytes.length);
      expect(ndjsonBytes(key, smaller).equals(ndjsonBytes(key, bytes)), key).toBe(true);
    }

    // Level 9 makes the window's objects smaller overall (a one-record part may come out the same size).
    const total = (objects: Map<string, Buffer>) => [...objects.values()].reduce((n, b) => n + b.length, 0);
    expect(total(smallest)).toBeLessThan(total(fastest));

    if (zstdAvailable()) {
      const zstd1 = await landed(topic, { COMPRESSION: 'zstd', COMPRESSION_LEVEL: '1' });
      const zstd19 = await landed(topic, { COMPRESSION: 'zstd', COMPRESSION_LEVEL: '19' });
      expect(zstd1.size).toBe(fastest.size);
      for (const [key, bytes] of zstd1) {
        const other = zstd19.get(key) as Buffer;
        expect(other.equals(bytes), key).toBe(false);
        expect(ndjsonBytes(key, other).equals(ndjsonBytes(key, bytes)), key).toBe(true);
        expect(
          ndjsonBytes(key, bytes).equals(
            ndjsonBytes(key.replace('.zst', '.gz'), fastest.get(key.replace('.zst', '.gz')) as Buffer),
          ),
        ).toBe(true);
      }
    } else {
      await expect(newPipeline(topic, { COMPRESSION: 'zstd', COMPRESSION_LEVEL: '1' })).rejects.toThrow(
        'COMPRESSION zstd needs Node.js 22.15 or later',
      );
    }
  });
});
