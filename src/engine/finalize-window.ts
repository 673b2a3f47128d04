// Step 3 of a window: check that every partition's share is accounted for, write the manifest last,
// commit the window to the pipeline's table when it has one (table-commit.ts), save the new boundary and offsets with the pending batch cleared in one conditional write, and commit
// the offsets to the consumer group (the saved state, not the group, is the truth).
import { manifestKey } from '../core/key-layout.js';
import { withoutLease } from '../core/lease.js';
import { buildManifest, serializeManifest } from '../core/manifest.js';
import { closingProblems, sealedBatch, sealOf } from '../core/pending-batch.js';
import type { PendingWindow, PipelineState } from '../core/pipeline-state.js';
import { nextWindowStartOf } from '../core/window-rule.js';
import { WindowIntegrityError } from '../errors.js';
import { AttemptStore } from './attempt-store.js';
import type { ClosedWindow } from './run-types.js';
import { StepClock } from './step-clock.js';
import type { FinalizeResult, ShardResult, StepContext, WindowPlan } from './step-types.js';
import { commitToTable } from './table-commit.js';

const MANIFEST_CONTENT_TYPE = 'application/json';

/** How finalize leaves the lease. */
export interface FinalizeOptions {
  /** Keep the lease even when no further window is ready (the caller plans again, then releases it). @default false */
  readonly keepLease?: boolean;
  /** Called with the closed window before the `onBatchComplete` hook. */
  readonly onWindowClosed?: (closed: ClosedWindow) => void;
}

/** What finalize did, with the closed window for callers in the same process. */
export interface Finalized extends FinalizeResult {
  readonly closed?: ClosedWindow;
}

/** Closes `plan`'s window from what its shards recorded; see the file comment. */
export async function finalizeWindow(
  ctx: StepContext,
  plan: WindowPlan,
  results: readonly ShardResult[],
  options: FinalizeOptions = {},
): Promise<Finalized> {
  const store = new AttemptStore(ctx);
  const clock = new StepClock(ctx);
  const { config, sink, source } = ctx;
  const window = { startMs: plan.windowStartMs, endMs: plan.windowEndMs };
  const partitions = plan.tasks.flatMap((task) => task.partitions);
  const already = await closedBefore(ctx, store, plan, clock);
  if (already) return already;
  // Fails when the attempt no longer owns the window: a later attempt finishes it.
  // closedBefore has just read the pipeline's item.
  const recorded = await store.pendingBatch(window, partitions, { fresh: false });
  let seal = store.state?.pending?.sealed;
  if (seal === undefined) {
    if (results.some((r) => r.stopped !== null)) {
      // A shard ran out of time: the finished parts stay recorded and the next attempt resumes after them.
      if (!options.keepLease)
        await store.update(window, (state) => ({ state: withoutLease(state), value: undefined }));
      return { outcome: 'incomplete', more: false };
    }
    // Every partition is done: fix the ends before the manifest, so that a retry writes the same one.
    const fixed = sealOf(recorded, partitions, clock.now());
    await store.update(window, (state) => ({
      state: { ...state, pending: { ...(state.pending as PendingWindow), sealed: fixed } },
      value: undefined,
    }));
    seal = fixed;
  }
  const pending = sealedBatch(recorded, seal, partitions);
  const problems = closingProblems(pending, partitions);
  if (problems.length > 0) throw new WindowIntegrityError(store.pipelineId, problems);

  const manifest = buildManifest(config.topic, config.compression, pending, config.format);
  const key = manifestKey(config.output.prefix, config.topic, window);
  await sink.putObject(key, serializeManifest(manifest), MANIFEST_CONTENT_TYPE);
  const tableCommit = await commitToTable(ctx, store.pipelineId, pending);

  const ends = results.flatMap((r) => r.ends);
  const nowMs = clock.now();
  // Only the shares this attempt read from their start know what ended them; any other forbids a skip.
  const nextWindowStartMs =
    results.reduce((sum, r) => sum + r.partitions, 0) === partitions.length
      ? nextWindowStartOf(window, ends, config.batchIntervalMs, nowMs, config.allowedLatenessMs)
      : window.endMs;
  const more = moreReady(clock, nextWindowStartMs + config.batchIntervalMs);
  const endOffsets = pending.endOffsets ?? {};
  // A window that read nothing moved no offset, and commits nothing: the last commit still holds.
  const moved = Object.entries(endOffsets).some(([p, offset]) => pending.startOffsets[p] !== offset);
  await store.update(window, (state): { state: PipelineState; value: undefined } => {
    const closed: PipelineState = {
      ...state,
      offsets: { ...state.offsets, ...endOffsets },
      nextWindowStartMs,
      pending: null,
      lastClosedWindow: {
        startMs: window.startMs,
        endMs: window.endMs,
        closedAtMs: pending.closedAtMs ?? nowMs,
        manifestKey: key,
        records: manifest.totals.records,
        // After a window that commits nothing, the group may still hold the start of the last window
        // that moved offsets (its commit lost): those stay the offsets the group may show.
        startOffsets: moved
          ? pending.startOffsets
          : (state.lastClosedWindow?.startOffsets ?? pending.startOffsets),
      },
      windowsClosed: state.windowsClosed + 1,
    };
    return { state: more || options.keepLease ? closed : withoutLease(closed), value: undefined };
  });

  if (moved) {
    await source.commit(new Map(Object.entries(endOffsets).map(([p, offset]) => [Number(p), offset])));
  }
  const closed = { manifest, manifestLocation: sink.locate(key), ...(tableCommit ? { tableCommit } : {}) };
  options.onWindowClosed?.(closed);
  await ctx.hooks?.onBatchComplete?.(manifest);
  return { outcome: 'closed', more, manifestKey: key, records: manifest.totals.records, closed };
}

/** Whether the next window, ending at `nextEndMs`, is ready to close in this attempt: plan it at once. */
function moreReady(clock: StepClock, nextEndMs: number): boolean {
  return clock.canClose(nextEndMs) && clock.stopReason() === undefined;
}

/**
 * The answer of a finalize whose window is already closed: a retry of this step after its answer was
 * lost (its first invocation saved the state and may have released the lease), or a late duplicate. The
 * state is the truth: the window is closed when the boundary has moved past it. While it is the last
 * closed window, the saved offsets are committed again (the first invocation may have died before its
 * commit; they are what the group must hold, so this cannot move it backwards).
 */
async function closedBefore(
  ctx: StepContext,
  store: AttemptStore,
  plan: WindowPlan,
  clock: StepClock,
): Promise<Finalized | undefined> {
  const state = (await store.load())?.state;
  const boundary = state?.nextWindowStartMs;
  const stillPending = state?.pending?.windowStartMs === plan.windowStartMs;
  if (state === undefined || boundary === null || boundary === undefined) return undefined;
  if (stillPending || boundary < plan.windowEndMs) return undefined;
  const last = state.lastClosedWindow;
  const isLast = last?.startMs === plan.windowStartMs && last.endMs === plan.windowEndMs;
  const saved = Object.entries(state.offsets);
  if (isLast && saved.length > 0) {
    await ctx.source.commit(new Map(saved.map(([p, offset]) => [Number(p), offset])));
  }
  const key = manifestKey(ctx.config.output.prefix, ctx.config.topic, {
    startMs: plan.windowStartMs,
    endMs: plan.windowEndMs,
  });
  // Only the attempt that holds the lease may plan again; another attempt's run goes on by itself.
  const more =
    state.lease?.owner === ctx.attemptId || state.lease === null
      ? moreReady(clock, boundary + ctx.config.batchIntervalMs)
      : false;
  return { outcome: 'closed', more, manifestKey: key, ...(isLast ? { records: last.records } : {}) };
}
