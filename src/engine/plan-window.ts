// Step 1 of a window: restore the state, take the lease, pick the window to build and where each
// partition's share of it resumes, record it as pending, and split its partitions among the shards by
// the records each must read. Plan writes no object and reads records only to date a new
// pipeline's first window.

import { randomUUID } from 'node:crypto';
import { committedBehind, movedOffsets } from '../core/committed-offsets.js';
import type { WindowBounds } from '../core/key-layout.js';
import { blockingLease, withLease } from '../core/lease.js';
import { assemblePending } from '../core/partition-share.js';
import {
  hasRecordedEnd,
  newPendingWindow,
  pendingWindow,
  recordedEnd,
  resumeOffset,
  withRetentionGap,
} from '../core/pending-batch.js';
import { newPipelineState, type PendingBatch, type PipelineState } from '../core/pipeline-state.js';
import { assignPartitions } from '../core/shard-assignment.js';
import { recordedIdentity, topicChangeOf } from '../core/topic-identity.js';
import { OutputFormat } from '../core/value-format.js';
import { floorToInterval } from '../core/window-rule.js';
import { ConfigError, StateConflictError } from '../errors.js';
import { GroupOffsetsMovedError, TopicChangedError } from '../operator-errors.js';
import type { PartitionBounds, SourceBatch } from '../ports.js';
import { AttemptStore } from './attempt-store.js';
import { refuseChangedOutput, refuseOrphanedOutput } from './output-guard.js';
import { stderrRunLogger } from './run-logger.js';
import { RunOutcome } from './run-types.js';
import { stepReader } from './source-reader.js';
import { resolveStartPositions } from './start-positions.js';
import { StepClock } from './step-clock.js';
import type { PlanResult, StepContext } from './step-types.js';

/**
 * Plans the next window for `shards` shards. Holds the lease for `ctx.attemptId` until `ctx.deadlineMs`
 * when it answers with a window (and also when it stops after taking it: the caller releases it).
 */
export async function planWindow(ctx: StepContext, shards: number): Promise<PlanResult> {
  if (ctx.hooks?.parseRecord && ctx.config.format !== OutputFormat.NDJSON) {
    throw new ConfigError([
      `parseRecord maps records to NDJSON rows; it cannot be used with format ${ctx.config.format}`,
    ]);
  }
  const store = new AttemptStore(ctx);
  const clock = new StepClock(ctx);
  const { config, source } = ctx;
  const loaded = await store.load();
  const state = loaded?.state ?? newPipelineState(config.groupId, config.topic, clock.now());
  const blocker = blockingLease(state, ctx.attemptId, clock.now(), ctx.endedRunIds);
  if (blocker) return { kind: 'stop', outcome: RunOutcome.LEASE_HELD, leaseHolder: blocker.owner };

  // Reach the broker before writing anything: a missing topic or an unreachable broker leaves state untouched.
  const bounds = await source.partitionBounds();
  const topic = await source.topicIdentity();
  let committed: Map<number, string> | undefined;
  if (loaded === undefined) await refuseOrphanedOutput(ctx.sink, config, store.pipelineId);
  else {
    refuseChangedOutput(state, config, store.pipelineId);
    const changed = topicChangeOf(state, topic, bounds);
    if (changed) throw new TopicChangedError(store.pipelineId, config.topic, changed);
    committed = await source.committedOffsets();
    const moved = movedOffsets(state, committed);
    if (moved.length > 0) throw new GroupOffsetsMovedError(store.pipelineId, moved);
  }
  const identified = { ...state, topicIdentity: recordedIdentity(state.topicIdentity, topic) };
  const leased = await takeLease(ctx, store, identified, bounds, committed);
  if (leased.holder !== undefined)
    return { kind: 'stop', outcome: RunOutcome.LEASE_HELD, leaseHolder: leased.holder };
  const { retentionGapRecords } = leased;

  const stop = clock.stopReason();
  if (stop) return { kind: 'stop', outcome: stop, retentionGapRecords };
  const current = store.state ?? state;
  const window = current.pending
    ? pendingWindow(current.pending)
    : await nextWindow(ctx, clock, current, bounds);
  if (window === undefined) return { kind: 'stop', outcome: RunOutcome.CAUGHT_UP, retentionGapRecords };
  const partitions = bounds.map((b) => b.partition);
  const resumed = current.pending ? await store.pendingBatch(window, partitions) : undefined;
  // A window still open, or that could not close before this attempt's work ends, is left to the next
  // run; one that has begun to close (an end recorded) is finished whatever the time.
  if (!hasRecordedEnd(resumed ?? null) && !clock.canClose(window.endMs)) {
    return { kind: 'stop', outcome: RunOutcome.CAUGHT_UP, retentionGapRecords };
  }
  let pending = resumed;
  let windowGapRecords = 0;
  if (pending === undefined) {
    const recorded = newPendingWindow(window, current.offsets, randomUUID());
    await store.save({ ...current, pending: recorded });
    pending = assemblePending(recorded, []);
  } else if (current.pending?.sealed === undefined) {
    // A sealed window reads nothing more: its parts are all written.
    windowGapRecords = await recordRetentionGaps(ctx, store, window, pending, bounds);
    if (windowGapRecords > 0) pending = await store.pendingBatch(window, partitions);
  }
  const batch = pending;
  const work = bounds.map(({ partition, low, high }) => {
    const from = BigInt(resumeOffset(batch, batch.startOffsets, partition) ?? low);
    const to = BigInt(recordedEnd(batch, partition) ?? high);
    return { partition, records: Number(to > from ? to - from : 0n) };
  });
  const tasks = assignPartitions(work, shards).map((partitions, shard) => ({
    attemptId: ctx.attemptId,
    shard,
    shards,
    windowStartMs: window.startMs,
    windowEndMs: window.endMs,
    partitions,
  }));
  return {
    kind: 'window',
    attemptId: ctx.attemptId,
    windowStartMs: window.startMs,
    windowEndMs: window.endMs,
    tasks,
    retentionGapRecords: retentionGapRecords + windowGapRecords,
  };
}

/**
 * Records, in the shares of the pending window `pending`, the ranges retention deleted from under it:
 * where a partition's reading would resume (after its last recorded part) is below its first stored
 * offset, and records are left to read. Reading then resumes at the first stored offset; the parts
 * already landed stay the window's, and only what no run read is lost, logged as a retention gap like
 * the saved offsets' and counted. Answers the records lost.
 *
 * Why not plan the window again from the first stored offsets: that would drop the parts it landed
 * (records no longer in the topic, but safe in the bucket), and leave their objects under keys the new
 * plan writes again. A gap is written in the share itself, conditional on its version, so a writer of an
 * earlier attempt that read the deleted records before they went cannot record a part over it.
 */
async function recordRetentionGaps(
  ctx: StepContext,
  store: AttemptStore,
  window: WindowBounds,
  pending: PendingBatch,
  bounds: readonly PartitionBounds[],
): Promise<number> {
  const lows = new Map(
    bounds
      .filter(({ partition, low }) => {
        const resume = resumeOffset(pending, pending.startOffsets, partition);
        const end = recordedEnd(pending, partition);
        return (
          resume !== undefined &&
          BigInt(resume) < BigInt(low) &&
          (end === undefined || BigInt(resume) < BigInt(end))
        );
      })
      .map(({ partition, low }) => [partition, low] as const),
  );
  if (lows.size === 0) return 0;
  const gaps = await store.updateShares(window, [...lows.keys()], (share) => {
    const start = pending.startOffsets[String(share.partition)];
    const recorded = withRetentionGap(share, start, lows.get(share.partition) as string);
    return recorded ? { share: recorded.share, value: recorded.gap } : { value: undefined };
  });
  const logger = ctx.logger ?? stderrRunLogger;
  let lost = 0;
  for (const [partition, gap] of [...gaps].sort(([a], [b]) => a - b)) {
    if (gap === undefined) continue;
    const recordsLost = Number(BigInt(gap.to) - BigInt(gap.from));
    lost += recordsLost;
    logger.warn('retention deleted records of the pending window before any run read them', {
      topic: ctx.config.topic,
      groupId: ctx.config.groupId,
      runId: ctx.attemptId,
      partition,
      resumeOffset: gap.from,
      firstStoredOffset: lows.get(partition),
      recordsLost,
    });
  }
  return lost;
}

/**
 * Takes the lease until the deadline, saving the start positions and what the group's `committed`
 * offsets (undefined for a new pipeline) hold behind them; answers the holder's id when another attempt
 * holds the lease.
 */
async function takeLease(
  ctx: StepContext,
  store: AttemptStore,
  state: PipelineState,
  bounds: readonly PartitionBounds[],
  committed: ReadonlyMap<number, string> | undefined,
): Promise<{ holder?: string; retentionGapRecords: number }> {
  const { config } = ctx;
  const isNewPipeline = committed === undefined;
  const now = ctx.now ?? Date.now;
  const logger = ctx.logger ?? stderrRunLogger;
  const offsetsAtTime =
    isNewPipeline && config.startPosition.kind === 'timestamp'
      ? await ctx.source.offsetsForTime(config.startPosition.timestampMs)
      : undefined;
  const positions = resolveStartPositions(
    state.offsets,
    isNewPipeline,
    bounds,
    config.startPosition,
    offsetsAtTime,
    new Set(Object.keys(state.pending?.startOffsets ?? {}).map(Number)),
  );
  let retentionGapRecords = 0;
  for (const gap of positions.gaps) {
    const recordsLost = Number(BigInt(gap.lowWatermark) - BigInt(gap.savedOffset));
    retentionGapRecords += recordsLost;
    logger.warn('retention deleted records before any run read them', {
      topic: config.topic,
      groupId: config.groupId,
      runId: ctx.attemptId,
      partition: gap.partition,
      savedOffset: gap.savedOffset,
      firstStoredOffset: gap.lowWatermark,
      recordsLost,
    });
  }
  // Commits lost run after run leave the group where it was: the next plan must know it is still there.
  const behind = committed && committedBehind(positions.offsets, committed);
  const unchanged =
    !isNewPipeline &&
    state.lease?.owner === ctx.attemptId &&
    state.lease.expiresAtMs === ctx.deadlineMs &&
    sameOffsets(state.offsets, positions.offsets) &&
    sameOffsets(state.committedBehind ?? {}, behind ?? {});
  if (unchanged) return { retentionGapRecords };
  const { committedBehind: _, ...rest } = state;
  const next = { ...rest, offsets: positions.offsets, ...(behind ? { committedBehind: behind } : {}) };
  // A new pipeline's start offsets are saved at once, so that 'latest' means the first run's latest.
  try {
    await store.save(withLease(next, ctx.attemptId, ctx.deadlineMs));
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    // Someone wrote between our read and our write: whoever it was holds the lease now.
    const reloaded = await store.load();
    const blocker = reloaded && blockingLease(reloaded.state, ctx.attemptId, now(), ctx.endedRunIds);
    if (blocker) return { holder: blocker.owner, retentionGapRecords };
    throw error;
  }
  return { retentionGapRecords };
}

function sameOffsets(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The next window's bounds; for a new pipeline, from its first record's timestamp. */
async function nextWindow(
  ctx: StepContext,
  clock: StepClock,
  state: PipelineState,
  bounds: readonly PartitionBounds[],
): Promise<WindowBounds | undefined> {
  const interval = ctx.config.batchIntervalMs;
  if (state.nextWindowStartMs !== null) {
    return { startMs: state.nextWindowStartMs, endMs: state.nextWindowStartMs + interval };
  }
  const first = await firstTimestamp(ctx, clock, state, bounds);
  if (first === undefined) return undefined;
  const startMs = floorToInterval(first, interval);
  return { startMs, endMs: startMs + interval };
}

/** The earliest timestamp among the partitions' first records. */
async function firstTimestamp(
  ctx: StepContext,
  clock: StepClock,
  state: PipelineState,
  bounds: readonly PartitionBounds[],
): Promise<number | undefined> {
  const positions = new Map(bounds.map((b) => [b.partition, state.offsets[String(b.partition)] ?? b.low]));
  const waiting = new Set(
    bounds
      .filter((b) => BigInt(b.high) > BigInt(positions.get(b.partition) ?? b.high))
      .map((b) => b.partition),
  );
  if (waiting.size === 0) return undefined;
  const reader = stepReader(ctx);
  await reader.fetchFrom(new Map([...positions].filter(([p]) => waiting.has(p))));
  const nowMs = clock.now();
  const highs = new Map(bounds.map((b) => [b.partition, BigInt(b.high)]));
  const candidates: number[] = [];
  const polled = new Map<number, SourceBatch[]>();
  while (waiting.size > 0 && !clock.stopReason()) {
    for (const batch of await reader.poll(clock.pollWaitMs())) {
      const ofPartition = polled.get(batch.partition);
      if (ofPartition) ofPartition.push(batch);
      else polled.set(batch.partition, [batch]);
      if (!waiting.has(batch.partition)) continue;
      // The partition's first record with a usable timestamp (later ones may be late, or bad). A fetch
      // with none (aborted records and their marker, bad timestamps) says nothing yet: read on, to the
      // partition's end if need be.
      const first = batch.records.find(
        (r) => r.timestampMs >= 0 && r.timestampMs <= nowMs + ctx.config.futureToleranceMs,
      );
      if (first) candidates.push(first.timestampMs);
      if (first || BigInt(batch.nextOffset) >= (highs.get(batch.partition) ?? 0n)) {
        waiting.delete(batch.partition);
      }
    }
  }
  // The window now being defined starts at the saved offsets: what was fetched is carried over to it.
  reader.carryOver(positions, polled);
  if (waiting.size > 0) return undefined;
  return candidates.length > 0 ? Math.min(...candidates) : floorToInterval(nowMs, ctx.config.batchIntervalMs);
}
