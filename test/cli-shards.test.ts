// `run --shards N` as a real process: the shards run on worker threads, and the windows they land are
// the ones one shard lands, object for object and byte for byte.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../src/core/manifest.js';
import { createTopic, produce, storedOffsets, type TestRecord } from './support/bed.js';
import { jsonEvents, runCli } from './support/cli.js';

const intervalMs = 10_000;
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'kbp-cli-shards-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Every file under `root`, by its path relative to it, with its SHA-256. */
async function filesOf(root: string): Promise<Map<string, string>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(
      relative(root, path),
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return files;
}

describe('run --shards', () => {
  it('lands the same objects with 3 shards on worker threads as with 1, every record once', async () => {
    const partitions = 4;
    const topic = await createTopic(partitions);
    const currentStart = Math.floor(Date.now() / intervalMs) * intervalMs;
    const records: TestRecord[] = [];
    // Three past windows, uneven across partitions, with values large enough for several parts.
    for (let w = 3; w >= 1; w--) {
      const startMs = currentStart - w * intervalMs;
      for (let partition = 0; partition < partitions; partition++) {
        const count = 40 * (partition + 1);
        for (let i = 0; i < count; i++) {
          records.push({
            partition,
            timestamp: startMs + Math.floor((i * intervalMs) / count),
            key: `k${i % 7}`,
            value: JSON.stringify({ w, partition, i, pad: 'x'.repeat(900) }),
          });
        }
      }
    }
    await produce(topic, records);

    const land = async (shards: number) => {
      const out = join(folder, `out-${shards}`);
      const result = await runCli(
        [
          'run',
          '--once',
          '--json',
          '--topic',
          topic,
          '--group-id',
          `g-${shards}-${topic}`,
          '--batch-interval-seconds',
          '10',
          '--poll-interval-seconds',
          '1',
          '--part-size-mb',
          '0.05',
          '--shards',
          String(shards),
          '--output',
          out,
          '--state',
          join(folder, `state-${shards}.json`),
        ],
        { timeoutMs: 120_000 },
      );
      expect(result.code, result.stderr).toBe(0);
      return { out, events: jsonEvents(result.stdout) };
    };
    const one = await land(1);
    const three = await land(3);

    const oneFiles = await filesOf(one.out);
    const threeFiles = await filesOf(three.out);
    const data = (files: Map<string, string>) =>
      new Map([...files].filter(([path]) => !path.endsWith('_manifest.json')));
    expect(data(threeFiles)).toEqual(data(oneFiles));
    expect([...data(oneFiles).keys()].some((path) => path.includes('-00001.'))).toBe(true);

    // Manifests list the same objects with the same checksums and ranges; only the close time differs.
    // (The later run may also close a window that ended meanwhile: empty, as nothing was produced in it.)
    const manifestsOf = (files: Map<string, string>) =>
      [...files.keys()].filter((path) => path.endsWith('_manifest.json'));
    const read = async (root: string, path: string) =>
      JSON.parse(await readFile(join(root, path), 'utf8')) as Manifest;
    expect(manifestsOf(oneFiles).length).toBeGreaterThanOrEqual(3);
    let landed = 0;
    for (const path of manifestsOf(threeFiles)) {
      const b = await read(three.out, path);
      landed += b.totals.records;
      if (!oneFiles.has(path)) {
        expect(b.totals.records).toBe(0);
        continue;
      }
      const a = await read(one.out, path);
      expect({ ...b, closedAt: a.closedAt }).toEqual(a);
    }
    expect(manifestsOf(oneFiles).every((path) => threeFiles.has(path))).toBe(true);
    expect(landed).toBe((await storedOffsets(topic)).length);
    const closed = three.events.filter((e) => e.event === 'window-closed');
    expect(closed.length).toBe(manifestsOf(threeFiles).length);
  });
});
