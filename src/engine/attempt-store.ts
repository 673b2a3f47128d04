// The state as one attempt's steps see it: the pipeline's item, and the share items of its pending
// window's partitions. Every write is conditional on the version last read; when another writer got
// there first, the item is read again and the change applied to what is stored now, as long as this
// attempt still owns the window.
import type { WindowBounds } from '../core/key-layout.js';
import {
  assemblePending,
  emptyShare,
  inlineShares,
  type PartitionShare,
  pendingIdOf,
} from '../core/partition-share.js';
import { attemptProblem } from '../core/pending-batch.js';
import {
  type OutputLayout,
  type PendingBatch,
  type PendingWindow,
  type PipelineState,
  pipelineIdOf,
} from '../core/pipeline-state.js';
import { AttemptSupersededError, StateConflictError } from '../errors.js';
import type { ShareWrite, StateStore, VersionedShare, VersionedState } from '../ports.js';
import { outputLayoutOf } from './output-guard.js';
import type { StepContext } from './step-types.js';

/** Writes lost to other writers before a change gives up (shards of one attempt write disjoint parts). */
const MAX_CONFLICTS = 25;

/** A change to the stored state: the new state and what the caller learns, or no write at all. */
export type StateChange<T> = (state: PipelineState) => { readonly state?: PipelineState; readonly value: T };

/** A change to one partition's share: the new share and what the caller learns, or no write at all. */
export type ShareChange<T> = (share: PartitionShare) => {
  readonly share?: PartitionShare;
  readonly value: T;
};

/** A share as last read: undefined version when no item holds it yet. */
export interface KnownShare {
  readonly share: PartitionShare;
  readonly version: number | undefined;
}

/** One step's view of the pipeline's state item. */
export class AttemptStore {
  readonly pipelineId: string;
  private readonly layout: OutputLayout;
  private readonly now: () => number;
  private loaded: VersionedState | undefined;
  /** The shares last read or written, of the pending window `sharesOf`. */
  private readonly shares = new Map<number, KnownShare>();
  private sharesOf: string | undefined;

  constructor(private readonly ctx: StepContext) {
    this.pipelineId = pipelineIdOf(ctx.config.groupId, ctx.config.topic);
    this.layout = outputLayoutOf(ctx.config);
    this.now = ctx.now ?? Date.now;
  }

  /** Reads the item (undefined for a new pipeline). */
  async load(): Promise<VersionedState | undefined> {
    this.loaded = await this.ctx.store.load(this.pipelineId);
    return this.loaded;
  }

  /** The state as last read or written. */
  get state(): PipelineState | undefined {
    return this.loaded?.state;
  }

  /** Writes `next` over the version last read; throws StateConflictError when another writer was first. */
  async save(next: PipelineState): Promise<PipelineState> {
    const stamped = { ...next, output: this.layout, updatedAtMs: this.now() };
    const version = await this.ctx.store.save(this.pipelineId, stamped, this.loaded?.version);
    this.loaded = { state: stamped, version };
    return stamped;
  }

  /**
   * Applies `change` while this attempt holds the lease on `window`, reading the item again after each
   * write another writer won. Throws AttemptSupersededError once the attempt no longer owns the window.
   */
  async update<T>(window: WindowBounds, change: StateChange<T>): Promise<T> {
    if (this.loaded === undefined) await this.load();
    for (let conflicts = 0; ; conflicts++) {
      const current = this.owned(window);
      const { state, value } = change(current);
      if (state === undefined || state === current) return value;
      try {
        await this.save(state);
        return value;
      } catch (error) {
        if (!(error instanceof StateConflictError) || conflicts >= MAX_CONFLICTS) throw error;
        await backOff(conflicts);
        await this.load();
      }
    }
  }

  /**
   * The pending window of `window` with what its shares recorded for `partitions`, read afresh (the
   * pipeline's item too, unless `fresh` is false and it was just read); throws AttemptSupersededError
   * unless this attempt holds the lease on `window`.
   */
  async pendingBatch(
    window: WindowBounds,
    partitions: readonly number[],
    options: { readonly fresh?: boolean } = {},
  ): Promise<PendingBatch> {
    if (options.fresh !== false || this.loaded === undefined) await this.load();
    const pending = this.owned(window).pending as PendingWindow;
    await this.readShares(pending, partitions);
    return assemblePending(
      pending,
      partitions.flatMap((p) => {
        const known = this.shares.get(p);
        return known ? [known.share] : [];
      }),
    );
  }

  /**
   * Applies `change` to each of `partitions`' shares and writes those it changed, while this attempt
   * holds the lease on `window` (checked once, before the writes); a share another writer changed first
   * is read again and the change applied to what is stored now. Answers each partition's value.
   */
  async updateShares<T>(
    window: WindowBounds,
    partitions: readonly number[],
    change: ShareChange<T>,
  ): Promise<Map<number, T>> {
    await this.load();
    const pending = this.owned(window).pending as PendingWindow;
    const pendingId = pendingIdOf(pending);
    if (this.sharesOf !== pendingId || partitions.some((p) => !this.shares.has(p))) {
      await this.readShares(pending, partitions);
    }
    const values = new Map<number, T>();
    let todo = [...partitions];
    for (let conflicts = 0; todo.length > 0; conflicts++) {
      const writes: ShareWrite[] = [];
      for (const partition of todo) {
        const known = this.shares.get(partition) ?? { share: emptyShare(partition), version: undefined };
        const { share, value } = change(known.share);
        values.set(partition, value);
        if (share !== undefined && share !== known.share) {
          writes.push({ share, expectedVersion: known.version });
        }
      }
      const results = await this.ctx.store.saveShares(this.pipelineId, pendingId, writes);
      todo = [];
      for (const [index, result] of results.entries()) {
        const partition = (writes[index] as ShareWrite).share.partition;
        if ('written' in result) this.shares.set(partition, result.written);
        else {
          todo.push(partition);
          this.shares.set(partition, result.conflict ?? { share: emptyShare(partition), version: undefined });
        }
      }
      if (todo.length > 0) {
        if (conflicts >= MAX_CONFLICTS) {
          throw new StateConflictError(this.pipelineId, undefined, `shares of partitions ${todo.join(', ')}`);
        }
        await backOff(conflicts);
      }
    }
    return values;
  }

  /** The state as last read, if this attempt holds the lease on `window`. */
  private owned(window: WindowBounds): PipelineState {
    const current = this.loaded?.state;
    const problem = current
      ? attemptProblem(current, this.ctx.attemptId, window)
      : 'the pipeline has no state';
    if (problem !== undefined || current === undefined) {
      throw new AttemptSupersededError(this.pipelineId, this.ctx.attemptId, problem ?? 'no state');
    }
    return current;
  }

  /** Reads `partitions`' shares into the cache. */
  private async readShares(pending: PendingWindow, partitions: readonly number[]): Promise<void> {
    const pendingId = pendingIdOf(pending);
    if (this.sharesOf !== pendingId) {
      this.shares.clear();
      this.sharesOf = pendingId;
    }
    const read = await readShares(this.ctx.store, this.pipelineId, pending, partitions);
    for (const partition of partitions) {
      const known = read.get(partition);
      if (known === undefined) this.shares.delete(partition);
      else this.shares.set(partition, known);
    }
  }
}

/**
 * `partitions`' recorded shares of the pending window `pending`. An item of the old layout, which kept
 * parts and ends inline, seeds the shares that have no item of their own yet.
 */
export async function readShares(
  store: StateStore,
  pipelineId: string,
  pending: PendingWindow,
  partitions: readonly number[],
): Promise<Map<number, KnownShare>> {
  const stored: Map<number, VersionedShare> = await store.loadShares(
    pipelineId,
    pendingIdOf(pending),
    partitions,
  );
  const inline = inlineShares(pending);
  const shares = new Map<number, KnownShare>();
  for (const partition of partitions) {
    const share = stored.get(partition) ?? inline.get(partition);
    if (share !== undefined)
      shares.set(partition, 'version' in share ? share : { share, version: undefined });
  }
  return shares;
}

/** Spreads the retries of writers that collided. */
function backOff(conflicts: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * Math.min(conflicts + 1, 5)));
}
