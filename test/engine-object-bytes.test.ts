// An object's compressed bytes depend only on the lines written, never on how they were split into
// writes or on how far the compressing threads had got when the object was finished: what lets a retry
// write the same object, and the manifest's checksum hold.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySink } from '../src/adapters/directory-sink.js';
import type { Compression } from '../src/config.js';
import { createZstdStream, zstdAvailable } from '../src/core/zstd-support.js';
import { ObjectWriter } from '../src/engine/object-writer.js';

/** About 1.5 MB of lines, cut into chunks of 64 KiB and one short tail. */
function chunks(): Buffer[] {
  const text = Array.from(
    { length: 12_000 },
    (_, i) => `{"offset":${i},"value":"${'abcdefghij'.repeat(5 + (i % 17))}${(i * 7919) % 10007}"}\n`,
  ).join('');
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 64 * 1024) out.push(bytes.subarray(at, at + 64 * 1024));
  return out;
}

describe('compressed object bytes', () => {
  let root: string;
  let sink: DirectorySink;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kbp-object-bytes-'));
    sink = new DirectorySink(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function land(key: string, compression: Compression, paced: boolean): Promise<Buffer> {
    const writer = new ObjectWriter(sink, key, compression, 1);
    for (const chunk of chunks()) {
      // Unpaced, the writes queue up and finish() comes while the thread pool still holds several.
      const written = writer.write(Buffer.from(chunk));
      if (paced) {
        await written;
        await sleep(2);
      }
    }
    await writer.finish();
    return readFile(join(root, key));
  }

  it.each<Compression>(['gzip', 'zstd'])(
    '%s: the same bytes whether or not the writes had caught up',
    async (codec) => {
      if (codec === 'zstd' && !zstdAvailable()) {
        // Node 20 has no zstd: the writer is never asked for it (the settings refuse it first).
        expect(createZstdStream(1)).toBeUndefined();
        return;
      }
      const hurried = await land(`hurried.${codec}`, codec, false);
      const paced = await land(`paced.${codec}`, codec, true);
      const again = await land(`again.${codec}`, codec, false);
      expect(hurried.length).toBeGreaterThan(0);
      expect(paced.equals(hurried)).toBe(true);
      expect(again.equals(hurried)).toBe(true);
    },
  );
});
