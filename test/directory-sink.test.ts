// The local-folder sink: S3's key layout on disk, and objects that appear only whole.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySink } from '../src/adapters/directory-sink.js';
import { writtenObjectOf } from '../src/adapters/written-object.js';
import { ObjectExistsError } from '../src/errors.js';

/** Every file under `dir`, relative, with `/` separators, hidden temp files included. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) =>
      join(e.parentPath, e.name)
        .slice(dir.length + 1)
        .split('\\')
        .join('/'),
    )
    .sort();
}

describe('DirectorySink', () => {
  let root: string;
  let sink: DirectorySink;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kbp-directory-sink-'));
    sink = new DirectorySink(join(root, 'out'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes a key under the root with the same path as the S3 key', async () => {
    await sink.putObject('topic=t/window=1/part-0.json', Buffer.from('{"a":1}\n'), 'application/json');

    expect(await readFile(join(root, 'out/topic=t/window=1/part-0.json'), 'utf8')).toBe('{"a":1}\n');
    expect(await listFiles(join(root, 'out'))).toEqual(['topic=t/window=1/part-0.json']);
  });

  it('locates a key as the absolute path of its file', () => {
    expect(sink.locate('a/b/c.json')).toBe(join(root, 'out', 'a', 'b', 'c.json'));
  });

  it('shows nothing under the key until the upload completes, then the whole object', async () => {
    const upload = sink.openObject('a/b/data.jsonl.gz', 'application/gzip');
    await upload.write(Buffer.from('first '));
    await upload.write(Buffer.from('second'));

    const before = await listFiles(join(root, 'out'));
    expect(before).not.toContain('a/b/data.jsonl.gz');
    expect(before.every((f) => f.startsWith('a/b/.data.jsonl.gz.') && f.endsWith('.tmp'))).toBe(true);

    await upload.complete(writtenObjectOf(Buffer.from('first second')));

    expect(await listFiles(join(root, 'out'))).toEqual(['a/b/data.jsonl.gz']);
    expect(await readFile(join(root, 'out/a/b/data.jsonl.gz'), 'utf8')).toBe('first second');
  });

  it('leaves nothing behind when an upload is aborted', async () => {
    const upload = sink.openObject('a/aborted.json', 'application/json');
    await upload.write(Buffer.alloc(100_000, 1));

    await upload.abort();

    expect(await listFiles(join(root, 'out'))).toEqual([]);
  });

  it('keeps the first bytes when a second writer completes the key with other bytes', async () => {
    await sink.putObject('w/part-0.ndjson', Buffer.from('first'), 'application/x-ndjson');
    const upload = sink.openObject('w/part-0.ndjson', 'application/x-ndjson');
    await upload.write(Buffer.from('second, longer'));

    const refused = upload.complete(writtenObjectOf(Buffer.from('second, longer')));

    await expect(refused).rejects.toBeInstanceOf(ObjectExistsError);
    await expect(refused).rejects.toThrow(
      `${join(root, 'out/w/part-0.ndjson')} already holds 5 bytes where this writer has 14`,
    );
    expect(await readFile(join(root, 'out/w/part-0.ndjson'), 'utf8')).toBe('first');
    expect(await listFiles(join(root, 'out'))).toEqual(['w/part-0.ndjson']);
  });

  it('lets a second writer of the same bytes succeed', async () => {
    await sink.putObject('w/_manifest.json', Buffer.from('{"a":1}'), 'application/json');
    await sink.putObject('w/_manifest.json', Buffer.from('{"a":1}'), 'application/json');

    await expect(
      sink.putObject('w/_manifest.json', Buffer.from('{"a":2}'), 'application/json'),
    ).rejects.toThrow(ObjectExistsError);
    expect(await readFile(join(root, 'out/w/_manifest.json'), 'utf8')).toBe('{"a":1}');
    expect(await listFiles(join(root, 'out'))).toEqual(['w/_manifest.json']);
  });

  it('replaces the object found only when the caller says it may, and only once the new one completes', async () => {
    await sink.putObject('k.json', Buffer.from('old'), 'application/json');
    const refused = sink.openObject('k.json', 'application/json');
    await refused.write(Buffer.from('new'));
    await expect(
      refused.complete(writtenObjectOf(Buffer.from('new')), { mayReplace: async () => false }),
    ).rejects.toThrow(ObjectExistsError);
    const upload = sink.openObject('k.json', 'application/json');
    await upload.write(Buffer.from('new'));

    expect(await readFile(join(root, 'out/k.json'), 'utf8')).toBe('old');
    await upload.complete(writtenObjectOf(Buffer.from('new')), { mayReplace: async () => true });
    expect(await readFile(join(root, 'out/k.json'), 'utf8')).toBe('new');
    expect(await listFiles(join(root, 'out'))).toEqual(['k.json']);
  });

  it('writes an empty object when nothing was written before complete', async () => {
    const upload = sink.openObject('empty.json', 'application/json');
    await upload.complete(writtenObjectOf(Buffer.alloc(0)));

    expect(await readFile(join(root, 'out/empty.json'), 'utf8')).toBe('');
  });

  it('keeps bytes in call order when writes are not awaited one by one', async () => {
    const upload = sink.openObject('ordered.txt', 'text/plain');
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.from(`${i},`));

    await Promise.all(chunks.map((c) => upload.write(c)));
    await upload.complete(writtenObjectOf(Buffer.from(chunks.join(''))));

    expect(await readFile(join(root, 'out/ordered.txt'), 'utf8')).toBe(chunks.join(''));
  });

  it('streams an object much larger than one chunk intact', async () => {
    const upload = sink.openObject('big.bin', 'application/octet-stream');
    const chunk = Buffer.alloc(1024 * 1024);
    const written: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      chunk.fill(i);
      written.push(Buffer.from(chunk));
      await upload.write(chunk);
    }
    await upload.complete(writtenObjectOf(Buffer.concat(written)));

    const bytes = await readFile(join(root, 'out/big.bin'));
    expect(bytes.length).toBe(20 * 1024 * 1024);
    expect(bytes[19 * 1024 * 1024]).toBe(19);
  });

  it('refuses writes after complete or abort', async () => {
    const done = sink.openObject('done.json', 'application/json');
    await done.complete(writtenObjectOf(Buffer.alloc(0)));
    const aborted = sink.openObject('aborted.json', 'application/json');
    await aborted.abort();

    await expect(done.write(Buffer.from('x'))).rejects.toThrow(/already completed/);
    await expect(aborted.write(Buffer.from('x'))).rejects.toThrow(/already aborted/);
    await expect(aborted.complete(writtenObjectOf(Buffer.alloc(0)))).rejects.toThrow(/already aborted/);
  });

  it.each([
    ['../escape.json', "'.' or '..' segment"],
    ['a/../../escape.json', "'.' or '..' segment"],
    ['/etc/passwd', "starts with '/'"],
    ['a//b.json', 'empty segment'],
    ['', 'empty'],
  ])('rejects the key %j, naming it', async (key, reason) => {
    expect(() => sink.openObject(key, 'application/json')).toThrow(reason);
    expect(() => sink.locate(key)).toThrow(`'${key}'`);
    await expect(sink.putObject(key, Buffer.from('x'), 'application/json')).rejects.toThrow(reason);
    expect(await listFiles(root)).toEqual([]);
  });

  it('does not leave its temp file when the target path is taken by a folder', async () => {
    await sink.putObject('taken/inner.json', Buffer.from('x'), 'application/json');

    await expect(sink.putObject('taken', Buffer.from('y'), 'application/json')).rejects.toThrow();

    expect(await listFiles(join(root, 'out'))).toEqual(['taken/inner.json']);
  });
});
