// What a reset does to a pipeline's state item: every partition's next offset moved to the reset point,
// the window boundary put where the next window must start, no pending window. Pure: no I/O.
import { committedBehind } from './committed-offsets.js';
import type { PipelineState } from './pipeline-state.js';
import type { TopicIdentity } from './topic-identity.js';
import { floorToInterval } from './window-rule.js';

/** Where a reset moves a pipeline. */
export type ResetTarget =
  /** The window holding this instant (its start): every partition at its first record stamped from then on. */
  | { readonly kind: 'time'; readonly timestampMs: number }
  /** These next offsets, by partition; a partition not named keeps its saved offset. */
  | { readonly kind: 'offsets'; readonly offsets: ReadonlyMap<number, string> }
  /** Every partition's first stored offset. */
  | { readonly kind: 'earliest' }
  /** Every partition's end: only records produced after the reset are landed. */
  | { readonly kind: 'latest' };

/** A partition's bounds, as the source gives them. */
export interface ResetBounds {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/**
 * The batch interval the state's windows were cut at, read from its last closed or pending window;
 * undefined when it holds neither (no window was planned yet).
 */
export function recordedIntervalMs(state: PipelineState): number | undefined {
  const last = state.lastClosedWindow;
  if (last) return last.endMs - last.startMs;
  const pending = state.pending;
  return pending ? pending.windowEndMs - pending.windowStartMs : undefined;
}

/**
 * Every partition's next offset after the reset, or the problems that forbid it: a partition the topic
 * does not have, an offset outside what the partition stores (`[low, high]`). `offsetsAtTime` are the
 * broker's answer for a time target (the end where no record is that late).
 */
export function resetOffsets(
  target: ResetTarget,
  bounds: readonly ResetBounds[],
  saved: Readonly<Record<string, string>>,
  offsetsAtTime?: ReadonlyMap<number, string>,
): { readonly offsets: Record<string, string>; readonly problems: string[] } {
  const offsets: Record<string, string> = {};
  const problems: string[] = [];
  const known = new Set(bounds.map((b) => b.partition));
  if (target.kind === 'offsets') {
    for (const partition of target.offsets.keys())
      if (!known.has(partition)) problems.push(`partition ${partition}: the topic has no such partition`);
  }
  for (const { partition, low, high } of bounds) {
    const offset =
      target.kind === 'earliest'
        ? low
        : target.kind === 'latest'
          ? high
          : target.kind === 'time'
            ? (offsetsAtTime?.get(partition) ?? high)
            : (target.offsets.get(partition) ?? saved[String(partition)] ?? low);
    if (BigInt(offset) < BigInt(low) || BigInt(offset) > BigInt(high)) {
      problems.push(
        `partition ${partition}: offset ${offset} is outside the stored offsets ${low} to ${high}`,
      );
    }
    offsets[String(partition)] = offset;
  }
  return { offsets, problems };
}

/**
 * Where the next window starts after the reset. A time target starts the window that holds it. Otherwise
 * the window of the first record to be read (`firstTimestampMs`, undefined when nothing is left to read),
 * but never later than the boundary `before`: a reset that moves forward skips records, not windows, so
 * windows between stay in order (an empty one closes with an empty manifest or is skipped as any is).
 */
export function resetBoundary(
  target: ResetTarget,
  before: number | null,
  intervalMs: number,
  firstTimestampMs: number | undefined,
): number | null {
  if (target.kind === 'time') return floorToInterval(target.timestampMs, intervalMs);
  const first = firstTimestampMs === undefined ? undefined : floorToInterval(firstTimestampMs, intervalMs);
  if (before === null) return first ?? null;
  return first === undefined ? before : Math.min(before, first);
}

/** What the reset writes: the state with its new offsets and boundary. */
export interface ResetChange {
  readonly offsets: Readonly<Record<string, string>>;
  readonly nextWindowStartMs: number | null;
  /** The group's committed offsets now: those that differ from the new ones are accepted until a commit. */
  readonly committed: ReadonlyMap<number, string>;
  /** The topic the new offsets belong to. */
  readonly topicIdentity: TopicIdentity;
  readonly nowMs: number;
}

/**
 * `state` moved to the reset point: new offsets and boundary, no pending window (its share items are
 * left to expire), the topic's current identity, and the group's committed offsets recorded as behind
 * where they differ (`committedBehind`), so a run that finds them there, because the reset's commit
 * failed or has not happened yet, takes them for lost commits rather than a move by hand.
 */
export function resetState(state: PipelineState, change: ResetChange): PipelineState {
  const { committedBehind: _, ...rest } = state;
  const behind = committedBehind(change.offsets, change.committed);
  return {
    ...rest,
    offsets: { ...change.offsets },
    nextWindowStartMs: change.nextWindowStartMs,
    pending: null,
    topicIdentity: change.topicIdentity,
    ...(behind ? { committedBehind: behind } : {}),
    updatedAtMs: change.nowMs,
  };
}
