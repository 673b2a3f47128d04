// The state item as one attempt's steps see it. Every write is conditional on the version last read;
// when another writer got there first (a shard of the same attempt recording its parts), the item is
// read again and the change applied to what is stored now, as long as this attempt still owns the
// window.
import type { WindowBounds } from '../core/key-layout.js';
import { attemptProblem } from '../core/pending-batch.js';
import { type OutputLayout, type PipelineState, pipelineIdOf } from '../core/pipeline-state.js';
import { AttemptSupersededError, StateConflictError } from '../errors.js';
import type { VersionedState } from '../ports.js';
import { outputLayoutOf } from './output-guard.js';
import type { StepContext } from './step-types.js';

/** Writes lost to other writers before a change gives up (shards of one attempt write disjoint parts). */
const MAX_CONFLICTS = 25;

/** A change to the stored state: the new state and what the caller learns, or no write at all. */
export type StateChange<T> = (state: PipelineState) => { readonly state?: PipelineState; readonly value: T };

/** One step's view of the pipeline's state item. */
export class AttemptStore {
  readonly pipelineId: string;
  private readonly layout: OutputLayout;
  private readonly now: () => number;
  private loaded: VersionedState | undefined;

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
      const current = this.loaded?.state;
      const problem = current
        ? attemptProblem(current, this.ctx.attemptId, window)
        : 'the pipeline has no state';
      if (problem !== undefined || current === undefined) {
        throw new AttemptSupersededError(this.pipelineId, this.ctx.attemptId, problem ?? 'no state');
      }
      const { state, value } = change(current);
      if (state === undefined || state === current) return value;
      try {
        await this.save(state);
        return value;
      } catch (error) {
        if (!(error instanceof StateConflictError) || conflicts >= MAX_CONFLICTS) throw error;
        // Spread the retries of shards that collided, then apply the change to what is stored now.
        await new Promise((resolve) =>
          setTimeout(resolve, 5 + Math.random() * 20 * Math.min(conflicts + 1, 5)),
        );
        await this.load();
      }
    }
  }
}
