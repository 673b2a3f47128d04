// One code path for every shard count: the same topic landed with 1, 2 and 3 shards gives the same
// objects, byte for byte, and manifests that say the same (all but when each window was closed).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../src/core/manifest.js';
import { createTopic, getObject, newPipeline, produce, type TestRecord } from './support/bed.js';
import { expectExactlyOnce, runSharded, windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
const PARTITIONS = 4;
const SHARD_COUNTS = [1, 2, 3] as const;

/** Three past windows; about 100 rows of 1 KiB per partition and window, so several 50 KiB parts each. */
function records(base: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < 300; i++) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      // Partitions of unequal weight, so that the plans of 2 and 3 shards are not all alike.
      if (partition === 3 && i % 3 !== 0) continue;
      out.push({
        partition,
        timestamp: base + Math.floor((i * 3 * MINUTE) / 300),
        key: `k${i % 17}`,
        value: `${partition}:${i}:${'y'.repeat(1000)}`,
        headers: { trace: `t-${i}` },
      });
    }
  }
  return out;
}

/** Each object's SHA-256, by key. */
async function objectDigests(bucket: string, keys: readonly string[]): Promise<Record<string, string>> {
  const entries = await Promise.all(
    keys.map(async (key) => [
      key,
      createHash('sha256')
        .update(await getObject(bucket, key))
        .digest('hex'),
    ]),
  );
  return Object.fromEntries(entries);
}

/** A manifest without its close time, the one field a run's timing decides. */
function comparable(manifest: Manifest): Omit<Manifest, 'closedAt'> {
  const { closedAt: _closedAt, ...rest } = manifest;
  return rest;
}

describe('shard counts', () => {
  it('land the same topic as the same objects and manifests with 1, 2 and 3 shards', async () => {
    const topic = await createTopic(PARTITIONS);
    // Every run stops before the open window ends, so all close the same windows.
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 4 * MINUTE;
    await produce(topic, records(base));

    // One pipeline (group, bucket, table) per shard count, over the same topic, side by side.
    const landings = await Promise.all(
      SHARD_COUNTS.map(async (shards) => {
        const { bucket, config } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
        const report = await runSharded(config, shards, { now: clock });
        const manifests = await expectExactlyOnce(bucket, topic, `${shards} shards`);
        return { shards, bucket, report, manifests };
      }),
    );

    for (const { shards, report } of landings) expect(report.outcome, `${shards} shards`).toBe('caught-up');
    const [one, ...more] = landings.map((landing) => ({
      ...landing,
      listed: landing.manifests.flatMap((m) => m.objects.map((o) => o.key)),
    }));
    if (!one) throw new Error('no landing');

    // The comparison means something: three windows with records, each full partition cut into several parts.
    const withRecords = one.manifests.filter((m) => m.totals.records > 0);
    expect(withRecords).toHaveLength(3);
    for (const manifest of withRecords) {
      for (const partition of [0, 1, 2]) {
        const parts = manifest.objects.filter((o) => o.partition === partition && o.kind === 'data');
        expect(parts.length, `${manifest.window.start} partition ${partition}`).toBeGreaterThanOrEqual(2);
      }
    }

    const digests = await objectDigests(one.bucket, one.listed);
    for (const other of more) {
      const label = `${other.shards} shards against 1`;
      expect(other.listed, label).toEqual(one.listed);
      expect(await objectDigests(other.bucket, other.listed), label).toEqual(digests);
      expect(other.manifests.map(comparable), label).toEqual(one.manifests.map(comparable));
    }
  });
});
