// The local-file StateStore for the CLI: one JSON file holding every pipeline's item, and the shares of
// its pending window:
// `{ "pipelines": { "<pipelineId>": { "version": n, "state": {...} } },
//    "shares": { "<pipelineId>": { "<pending id>": { "<partition>": { "version": n, "share": {...} } } } } }`.
// A pipeline's shares of other windows than its pending one are dropped with each write of its item.
// Readers need no lock: the file is only ever replaced whole (temp file, fsync, rename). Writers take
// an exclusive lock file around read-check-write so two processes cannot both pass the version check.
import { type FileHandle, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePartitionShare, pendingIdOf } from '../core/partition-share.js';
import type { PipelineState } from '../core/pipeline-state.js';
import { parsePipelineState } from '../core/pipeline-state.js';
import { ConnectionError, PullerError, StateConflictError, StateCorruptError } from '../errors.js';
import type { ShareWrite, ShareWriteResult, StateStore, VersionedShare, VersionedState } from '../ports.js';
import { syncDirectory, tempPathBeside } from './local-files.js';

/** Tuning of the lock that serialises writers; the defaults suit a person running the CLI. */
export interface FileStateStoreOptions {
  /**
   * How long a save waits for another writer's lock before failing, ms.
   * @default 5000
   */
  readonly lockTimeoutMs?: number;
  /**
   * A lock file older than this is taken to be left by a process that died, and removed, ms.
   * A live writer holds the lock for milliseconds, so this only has to exceed the slowest disk write.
   * @default 30000
   */
  readonly staleLockMs?: number;
}

/** The whole file, as parsed: other pipelines' items are kept as they are and written back unchanged. */
interface StateFile {
  pipelines: Record<string, unknown>;
  /** By pipeline, then pending id, then partition. */
  shares: Record<string, Record<string, Record<string, unknown>>>;
}

/** Keeps pipeline state in one local JSON file; writes are conditional on the version, like DynamoDB's. */
export class FileStateStore implements StateStore {
  /** The absolute path of the state file. */
  readonly path: string;
  private readonly lockPath: string;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;

  constructor(filePath: string, options: FileStateStoreOptions = {}) {
    this.path = resolve(filePath);
    this.lockPath = `${this.path}.lock`;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  /** The pipeline's state, or undefined when the file or the pipeline's item does not exist. */
  async load(pipelineId: string): Promise<VersionedState | undefined> {
    const file = await this.readStateFile(pipelineId);
    return this.itemOf(file, pipelineId);
  }

  /** Writes `state` as the next version if the stored version is still `expectedVersion`. */
  async save(pipelineId: string, state: PipelineState, expectedVersion: number | undefined): Promise<number> {
    return this.withLock(async () => {
      const file = await this.readStateFile(pipelineId);
      const raw = file?.pipelines[pipelineId];
      const storedVersion = raw === undefined ? undefined : this.versionOf(raw, pipelineId);
      if (storedVersion !== expectedVersion) {
        throw new StateConflictError(pipelineId, expectedVersion, raw);
      }
      const version = (storedVersion ?? 0) + 1;
      const pendingId = state.pending ? pendingIdOf(state.pending) : undefined;
      const kept = pendingId === undefined ? undefined : file?.shares[pipelineId]?.[pendingId];
      const { [pipelineId]: _dropped, ...otherShares } = file?.shares ?? {};
      const next: StateFile = {
        pipelines: { ...file?.pipelines, [pipelineId]: { version, state } },
        shares: kept && pendingId ? { ...otherShares, [pipelineId]: { [pendingId]: kept } } : otherShares,
      };
      await this.replaceFile(`${JSON.stringify(next, null, 2)}\n`);
      return version;
    });
  }

  async loadShares(
    pipelineId: string,
    pendingId: string,
    partitions: readonly number[],
  ): Promise<Map<number, VersionedShare>> {
    const file = await this.readStateFile(pipelineId);
    const stored = file?.shares[pipelineId]?.[pendingId] ?? {};
    const shares = new Map<number, VersionedShare>();
    for (const partition of partitions) {
      const raw = stored[String(partition)];
      if (raw !== undefined) shares.set(partition, this.shareOf(raw, pipelineId));
    }
    return shares;
  }

  /** Writes every share in one replacement of the file: a shard records all its partitions at once. */
  async saveShares(
    pipelineId: string,
    pendingId: string,
    writes: readonly ShareWrite[],
  ): Promise<ShareWriteResult[]> {
    return this.withLock(async () => {
      const file = await this.readStateFile(pipelineId);
      const window = { ...file?.shares[pipelineId]?.[pendingId] };
      const results = writes.map(({ share, expectedVersion }): ShareWriteResult => {
        const raw = window[String(share.partition)];
        const stored = raw === undefined ? undefined : this.shareOf(raw, pipelineId);
        if (stored?.version !== expectedVersion) return { conflict: stored };
        const version = (expectedVersion ?? 0) + 1;
        window[String(share.partition)] = { version, share };
        return { written: { share, version } };
      });
      if (results.some((result) => 'written' in result)) {
        const next: StateFile = {
          pipelines: file?.pipelines ?? {},
          shares: {
            ...file?.shares,
            [pipelineId]: { ...file?.shares[pipelineId], [pendingId]: window },
          },
        };
        await this.replaceFile(`${JSON.stringify(next, null, 2)}\n`);
      }
      return results;
    });
  }

  private shareOf(raw: unknown, pipelineId: string): VersionedShare {
    const version = this.versionOf(raw, pipelineId);
    const parsed = parsePartitionShare(isObject(raw) ? raw.share : undefined);
    if (!parsed.ok) {
      throw new StateCorruptError(
        pipelineId,
        parsed.problems.map((p) => `${this.path}: share.${p}`),
      );
    }
    return { share: parsed.share, version };
  }

  /** Reads and checks the file's outer shape; undefined when it does not exist yet. */
  private async readStateFile(pipelineId: string): Promise<StateFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // Not a passing fault (a file that exists but cannot be read: permissions, a folder): a person acts.
      throw new PullerError(`cannot read the state file ${this.path}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new StateCorruptError(
        pipelineId,
        [`the state file ${this.path} is not valid JSON (${(error as Error).message})`],
        { cause: error },
      );
    }
    const pipelines = isObject(parsed) ? parsed.pipelines : undefined;
    if (!isObject(pipelines)) {
      throw new StateCorruptError(pipelineId, [`the state file ${this.path} has no "pipelines" object`]);
    }
    // Files written before shares had their own entries have none.
    const shares = isObject(parsed) && parsed.shares !== undefined ? parsed.shares : {};
    if (!isObject(shares)) {
      throw new StateCorruptError(pipelineId, [
        `the state file ${this.path} has a "shares" that is not an object`,
      ]);
    }
    return { pipelines, shares: shares as StateFile['shares'] };
  }

  private itemOf(file: StateFile | undefined, pipelineId: string): VersionedState | undefined {
    const raw = file?.pipelines[pipelineId];
    if (raw === undefined) return undefined;
    const version = this.versionOf(raw, pipelineId);
    const parsed = parsePipelineState(isObject(raw) ? raw.state : undefined);
    if (!parsed.ok) {
      throw new StateCorruptError(
        pipelineId,
        parsed.problems.map((p) => `${this.path}: state.${p}`),
      );
    }
    if (parsed.state.pipelineId !== pipelineId) {
      throw new StateCorruptError(pipelineId, [
        `${this.path}: the item holds the state of pipeline '${parsed.state.pipelineId}'`,
      ]);
    }
    return { state: parsed.state, version };
  }

  private versionOf(raw: unknown, pipelineId: string): number {
    const version = isObject(raw) ? raw.version : undefined;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new StateCorruptError(pipelineId, [`${this.path}: version must be a positive integer`]);
    }
    return version;
  }

  /** Replaces the file whole: a reader sees the old content or the new, never a mix. */
  private async replaceFile(content: string): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const temp = tempPathBeside(this.path);
    let handle: FileHandle | undefined;
    try {
      handle = await open(temp, 'wx');
      await handle.writeFile(content, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, this.path);
    } catch (error) {
      await handle?.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw error;
    }
    await syncDirectory(dir);
  }

  /**
   * Runs `critical` holding `<file>.lock`, created with O_EXCL so exactly one process holds it.
   * A lock older than `staleLockMs` is removed: only a process that died mid-save leaves one behind.
   * Two waiters could both judge the same dead lock stale and the second could remove the first's new
   * lock, but only after a crash and within the same few milliseconds; the version check remains.
   */
  private async withLock<T>(critical: () => Promise<T>): Promise<T> {
    await mkdir(dirname(this.lockPath), { recursive: true });
    const giveUpAt = Date.now() + this.lockTimeoutMs;
    let delayMs = 5;
    for (;;) {
      try {
        const handle = await open(this.lockPath, 'wx');
        await handle.writeFile(JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (await this.removeIfStale()) continue;
      if (Date.now() >= giveUpAt) {
        throw new ConnectionError(
          `the state file ${this.path} stayed locked for ${this.lockTimeoutMs} ms by another process ` +
            `(lock file ${this.lockPath}; delete it if no puller is running)`,
        );
      }
      // Jittered exponential backoff, so waiting processes do not retry in step.
      await sleep(delayMs / 2 + Math.random() * delayMs);
      delayMs = Math.min(delayMs * 2, 200);
    }
    try {
      return await critical();
    } finally {
      await unlink(this.lockPath).catch(() => {});
    }
  }

  private async removeIfStale(): Promise<boolean> {
    try {
      const { mtimeMs } = await stat(this.lockPath);
      if (Date.now() - mtimeMs < this.staleLockMs) return false;
      await unlink(this.lockPath);
      return true;
    } catch (error) {
      // Gone between our open and stat/unlink: released by its holder, so try again at once.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
