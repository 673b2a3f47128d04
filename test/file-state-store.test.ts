// The local-file state store: conditional saves like DynamoDB's, a lock across processes, and a
// corrupt file reported and left exactly as it was.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStateStore } from '../src/adapters/file-state-store.js';
import { newPipelineState, type PipelineState, pipelineIdOf } from '../src/core/pipeline-state.js';
import { ConnectionError, StateConflictError, StateCorruptError } from '../src/errors.js';

const run = promisify(execFile);
const id = pipelineIdOf('group-a', 'orders');

function stateWith(windowsClosed: number, groupId = 'group-a', topic = 'orders'): PipelineState {
  return { ...newPipelineState(groupId, topic, 1_700_000_000_000), windowsClosed, offsets: { '0': '42' } };
}

/** Loads, adds one to windowsClosed and saves, retrying on conflict: the pattern the engine follows. */
async function increment(store: FileStateStore): Promise<void> {
  for (;;) {
    const current = await store.load(id);
    const next = stateWith((current?.state.windowsClosed ?? 0) + 1);
    try {
      await store.save(id, next, current?.version);
      return;
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
    }
  }
}

describe('FileStateStore', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kbp-file-state-'));
    path = join(dir, 'nested', 'state.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads nothing for a pipeline that was never saved, even when the file does not exist', async () => {
    expect(await new FileStateStore(path).load(id)).toBeUndefined();
  });

  it('saves a new pipeline as version 1 and loads it back', async () => {
    const store = new FileStateStore(path);

    const version = await store.save(id, stateWith(3), undefined);

    expect(version).toBe(1);
    expect(await store.load(id)).toEqual({ version: 1, state: stateWith(3) });
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(file).toEqual({ pipelines: { [id]: { version: 1, state: stateWith(3) } }, shares: {} });
  });

  it('keeps shares per pending window, each written only over the version read', async () => {
    const store = new FileStateStore(path);
    const share = (partition: number, endOffset: string | null) => ({
      partition,
      endOffset,
      closedAtMs: endOffset === null ? null : 5,
      parts: [],
    });
    const first = await store.saveShares(id, 'w1', [
      { share: share(0, '10'), expectedVersion: undefined },
      { share: share(1, null), expectedVersion: undefined },
    ]);
    expect(first).toEqual([
      { written: { share: share(0, '10'), version: 1 } },
      { written: { share: share(1, null), version: 1 } },
    ]);
    // A writer that read no share of partition 0 loses to the one that wrote it, and learns what is there.
    const second = await store.saveShares(id, 'w1', [
      { share: share(0, '12'), expectedVersion: undefined },
      { share: share(1, '3'), expectedVersion: 1 },
    ]);
    expect(second).toEqual([
      { conflict: { share: share(0, '10'), version: 1 } },
      { written: { share: share(1, '3'), version: 2 } },
    ]);
    expect(await store.loadShares(id, 'w1', [0, 1, 2])).toEqual(
      new Map([
        [0, { share: share(0, '10'), version: 1 }],
        [1, { share: share(1, '3'), version: 2 }],
      ]),
    );
    expect(await store.loadShares(id, 'other-window', [0, 1])).toEqual(new Map());
  });

  it("drops a pipeline's shares of other windows when its item is written, keeping the pending one's", async () => {
    const store = new FileStateStore(path);
    const share = { partition: 0, endOffset: '7', closedAtMs: 1, parts: [] };
    await store.saveShares(id, 'old', [{ share, expectedVersion: undefined }]);
    await store.saveShares(id, 'current', [{ share, expectedVersion: undefined }]);
    const pending = { id: 'current', windowStartMs: 0, windowEndMs: 60_000, startOffsets: { '0': '0' } };

    await store.save(id, { ...stateWith(1), pending }, undefined);

    expect((await store.loadShares(id, 'old', [0])).size).toBe(0);
    expect((await store.loadShares(id, 'current', [0])).get(0)?.share).toEqual(share);
    await store.save(id, stateWith(2), 1);
    expect((await store.loadShares(id, 'current', [0])).size).toBe(0);
  });

  it('increments the version on every save conditional on the one read', async () => {
    const store = new FileStateStore(path);
    await store.save(id, stateWith(1), undefined);

    expect(await store.save(id, stateWith(2), 1)).toBe(2);
    expect(await store.save(id, stateWith(3), 2)).toBe(3);
    expect((await store.load(id))?.state.windowsClosed).toBe(3);
  });

  it('refuses to create an item that already exists, carrying the stored item', async () => {
    const store = new FileStateStore(path);
    await store.save(id, stateWith(1), undefined);

    const error = await store.save(id, stateWith(9), undefined).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StateConflictError);
    expect((error as StateConflictError).current).toEqual({ version: 1, state: stateWith(1) });
    expect((await store.load(id))?.state.windowsClosed).toBe(1);
  });

  it('refuses a save whose expected version is stale', async () => {
    const store = new FileStateStore(path);
    await store.save(id, stateWith(1), undefined);
    await store.save(id, stateWith(2), 1);

    const error = await store.save(id, stateWith(9), 1).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StateConflictError);
    expect((error as StateConflictError).expectedVersion).toBe(1);
    expect((error as StateConflictError).current).toMatchObject({ version: 2 });
  });

  it('refuses to update an item that does not exist', async () => {
    const store = new FileStateStore(path);

    await expect(store.save(id, stateWith(1), 4)).rejects.toBeInstanceOf(StateConflictError);
  });

  it("keeps other pipelines' items when saving one", async () => {
    const store = new FileStateStore(path);
    const otherId = pipelineIdOf('group-b', 'clicks');
    const other = stateWith(7, 'group-b', 'clicks');
    await store.save(otherId, other, undefined);

    await store.save(id, stateWith(1), undefined);
    await store.save(id, stateWith(2), 1);

    expect(await store.load(otherId)).toEqual({ version: 1, state: other });
    expect(await store.load(id)).toEqual({ version: 2, state: stateWith(2) });
  });

  it('leaves no temp or lock file behind after saving', async () => {
    const store = new FileStateStore(path);
    await store.save(id, stateWith(1), undefined);

    expect(await readdir(join(dir, 'nested'))).toEqual(['state.json']);
  });

  it('reports a file that is not JSON as corrupt, naming the file, and leaves it byte-identical', async () => {
    await new FileStateStore(path).save(id, stateWith(1), undefined);
    const garbage = '{"pipelines": {"group-a|orders": {"version": 1, "state": {';
    await writeFile(path, garbage);
    const store = new FileStateStore(path);

    const loadError = await store.load(id).catch((e: unknown) => e);
    const saveError = await store.save(id, stateWith(2), 1).catch((e: unknown) => e);

    expect(loadError).toBeInstanceOf(StateCorruptError);
    expect((loadError as Error).message).toContain(resolve(path));
    expect((loadError as Error).message).toContain('not valid JSON');
    expect(saveError).toBeInstanceOf(StateCorruptError);
    expect(await readFile(path, 'utf8')).toBe(garbage);
  });

  it('reports a malformed item as corrupt with its problems and leaves the file byte-identical', async () => {
    const bad = { ...stateWith(1), offsets: { '0': 'forty-two' }, windowsClosed: -1 };
    const text = `${JSON.stringify({ pipelines: { [id]: { version: 3, state: bad } } })}\n`;
    await writeFile(path.replace('nested/', ''), text);
    const store = new FileStateStore(path.replace('nested/', ''));

    const error = await store.load(id).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StateCorruptError);
    expect((error as StateCorruptError).pipelineId).toBe(id);
    expect((error as StateCorruptError).problems.join('\n')).toMatch(/offsets\.0/);
    expect((error as StateCorruptError).problems.join('\n')).toMatch(/windowsClosed/);
    expect(await readFile(path.replace('nested/', ''), 'utf8')).toBe(text);
  });

  it.each([
    ['no pipelines object', { items: {} }],
    [
      'a version that is not a positive integer',
      { pipelines: { [id]: { version: '1', state: stateWith(1) } } },
    ],
    [
      'an item holding another pipeline',
      { pipelines: { [id]: { version: 1, state: stateWith(1, 'g', 't') } } },
    ],
  ])('reports %s as corrupt', async (_, content) => {
    await writeFile(join(dir, 'state.json'), JSON.stringify(content));

    await expect(new FileStateStore(join(dir, 'state.json')).load(id)).rejects.toBeInstanceOf(
      StateCorruptError,
    );
  });

  it('waits for a lock held by another writer and saves once it is released', async () => {
    const store = new FileStateStore(path, { lockTimeoutMs: 5000 });
    await store.save(id, stateWith(1), undefined);
    await writeFile(`${path}.lock`, 'held by a test');

    let saved = false;
    const save = store.save(id, stateWith(2), 1).then((v) => {
      saved = true;
      return v;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(saved).toBe(false);
    expect((await store.load(id))?.version).toBe(1);
    await rm(`${path}.lock`);

    expect(await save).toBe(2);
  });

  it('gives up on a live lock after the timeout, naming the lock file, and changes nothing', async () => {
    const store = new FileStateStore(path, { lockTimeoutMs: 300 });
    await store.save(id, stateWith(1), undefined);
    await writeFile(`${path}.lock`, 'held by a test');

    const error = await store.save(id, stateWith(2), 1).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain(`${resolve(path)}.lock`);
    expect((await store.load(id))?.version).toBe(1);
    expect(await readFile(`${path}.lock`, 'utf8')).toBe('held by a test');
  });

  it('removes a stale lock left by a process that died', async () => {
    const store = new FileStateStore(path, { lockTimeoutMs: 300, staleLockMs: 30_000 });
    await store.save(id, stateWith(1), undefined);
    await writeFile(`${path}.lock`, 'left by a dead process');
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, minuteAgo, minuteAgo);

    expect(await store.save(id, stateWith(2), 1)).toBe(2);
  });

  it('loses no update when many writers in one process race', async () => {
    const stores = Array.from({ length: 8 }, () => new FileStateStore(path, { lockTimeoutMs: 20_000 }));

    await Promise.all(
      stores.map(async (store) => {
        for (let i = 0; i < 10; i++) await increment(store);
      }),
    );

    expect(await new FileStateStore(path).load(id)).toMatchObject({
      version: 80,
      state: { windowsClosed: 80 },
    });
  });

  it('loses no update when writers in separate processes race', async () => {
    const storeModule = resolve(import.meta.dirname, '../src/adapters/file-state-store.ts');
    const stateModule = resolve(import.meta.dirname, '../src/core/pipeline-state.ts');
    const errorsModule = resolve(import.meta.dirname, '../src/errors.ts');
    const script = `
      const { FileStateStore } = await import(${JSON.stringify(storeModule)});
      const { newPipelineState } = await import(${JSON.stringify(stateModule)});
      const { StateConflictError } = await import(${JSON.stringify(errorsModule)});
      const store = new FileStateStore(${JSON.stringify(path)}, { lockTimeoutMs: 20000 });
      const id = ${JSON.stringify(id)};
      for (let i = 0; i < 15; i++) {
        for (;;) {
          const current = await store.load(id);
          const state = { ...newPipelineState('group-a', 'orders', 0), windowsClosed: (current?.state.windowsClosed ?? 0) + 1 };
          try { await store.save(id, state, current?.version); break; }
          catch (e) { if (!(e instanceof StateConflictError)) throw e; }
        }
      }`;

    await Promise.all(
      [1, 2, 3].map(() => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])),
    );

    expect(await new FileStateStore(path).load(id)).toMatchObject({
      version: 45,
      state: { windowsClosed: 45 },
    });
  });
});
