// The window rule: which records belong to window [start, end), and when each partition's share of it
// is complete. Pure: no I/O, time comes in as arguments.
//
// A partition's share is done when
//   (a) it delivers a record whose timestamp is at or past the window's end (that record and all after
//       it belong to later windows), or
//   (b) it is read to its last stable offset and its clock has reached the window's end.
// Its clock is the newest timestamp seen, advanced by the time each empty poll of the caught-up
// partition waited, and never behind the wall clock minus the allowed lateness: a run that starts long
// after a window ended does not wait out idle time that has already passed.
// A partition with a transaction still open is not caught up, though nothing more can be read: its
// records, and every record after them, wait in the log past the last stable offset (the high watermark
// is above it), and may belong to the window. Its clock then moves only with the wall clock, so the
// window waits for the transaction up to the allowed lateness, never longer: a transaction left open
// (up to the producer's transaction timeout, or a hanging one) cannot stall the pipeline, and what it
// commits after that lands in a later window, counted as late.
import type { SourceRecord } from '../ports.js';
import type { WindowBounds } from './key-layout.js';

/** Floors `ms` to a multiple of `intervalMs` (epoch-aligned windows). */
export function floorToInterval(ms: number, intervalMs: number): number {
  return Math.floor(ms / intervalMs) * intervalMs;
}

/** Where a record goes relative to the window being built. */
export const Placement = {
  /** start <= timestamp < end. */
  IN_WINDOW: 'in-window',
  /** timestamp < start: written to this window and counted as late. */
  LATE: 'late',
  /** No usable timestamp (negative), or further in the future than tolerated: written to the errors object. */
  BAD_TIMESTAMP: 'bad-timestamp',
} as const;
/** Where a record goes relative to the window being built. */
export type Placement = (typeof Placement)[keyof typeof Placement];

/** A record taken into the window, with where it goes. */
export interface PlacedRecord {
  readonly record: SourceRecord;
  readonly placement: Placement;
}

/** Settings of the rule. */
export interface WindowRuleOptions {
  /** How far a partition's clock may lag the wall clock, ms. */
  readonly allowedLatenessMs: number;
  /** Timestamps further than this past the wall clock are bad, so that one cannot hold a partition back for years. */
  readonly futureToleranceMs: number;
}

interface PartitionShare {
  nextOffset: bigint;
  /** The last stable offset last noted: how far the partition can be read now. */
  stableEnd: bigint | undefined;
  /** The high watermark last noted: above `stableEnd` while a transaction is open. */
  highWatermark: bigint | undefined;
  clockMs: number;
  endedByRecord: boolean;
  /** Timestamp of the record that ended the share, when one did. */
  endingTimestampMs: number | undefined;
}

/** A partition's starting point in a window. */
export interface PartitionStart {
  readonly partition: number;
  /** The next offset to read. */
  readonly nextOffset: string;
  /** Newest timestamp already taken into this window (a resumed window), if any. */
  readonly clockMs?: number;
}

/** Tracks every partition's share of one window. */
export class WindowTracker {
  private readonly shares = new Map<number, PartitionShare>();

  constructor(
    readonly window: WindowBounds,
    partitions: readonly PartitionStart[],
    private readonly options: WindowRuleOptions,
  ) {
    for (const p of partitions) {
      this.shares.set(p.partition, {
        nextOffset: BigInt(p.nextOffset),
        stableEnd: undefined,
        highWatermark: undefined,
        clockMs: Math.max(window.startMs, p.clockMs ?? window.startMs),
        endedByRecord: false,
        endingTimestampMs: undefined,
      });
    }
  }

  private share(partition: number): PartitionShare {
    const share = this.shares.get(partition);
    if (!share) throw new Error(`partition ${partition} is not part of this window`);
    return share;
  }

  /**
   * Takes records fetched from `partition` (in offset order) at wall time `nowMs`, and returns those
   * that belong to this window. The first record at or past the window's end is left out, with all
   * after it, and ends the partition's share, unless its timestamp lies beyond the future tolerance:
   * then it is a bad record, kept for the errors object. `nextOffset` is where the fetch continues after
   * these records (past any control records), when all of them were taken.
   *
   * `replaying`: the window was closed before and is being written again up to its recorded end
   * offsets; every record before them belongs to it, so one at or past the end must have been bad.
   */
  take(
    partition: number,
    records: readonly SourceRecord[],
    nextOffset: string,
    nowMs: number,
    replaying = false,
  ): PlacedRecord[] {
    const share = this.share(partition);
    if (share.endedByRecord) return [];
    const placed: PlacedRecord[] = [];
    for (const record of records) {
      if (BigInt(record.offset) < share.nextOffset) continue; // already taken
      const ts = record.timestampMs;
      if (!(ts >= 0)) {
        placed.push({ record, placement: Placement.BAD_TIMESTAMP });
      } else if (ts >= this.window.endMs) {
        if (replaying || ts > nowMs + this.options.futureToleranceMs) {
          placed.push({ record, placement: Placement.BAD_TIMESTAMP });
        } else {
          share.endedByRecord = true;
          share.endingTimestampMs = ts;
          share.nextOffset = BigInt(record.offset);
          share.clockMs = Math.max(share.clockMs, ts);
          return placed;
        }
      } else {
        placed.push({ record, placement: ts < this.window.startMs ? Placement.LATE : Placement.IN_WINDOW });
        share.clockMs = Math.max(share.clockMs, ts);
      }
      share.nextOffset = BigInt(record.offset) + 1n;
    }
    const after = BigInt(nextOffset);
    if (after > share.nextOffset) share.nextOffset = after;
    return placed;
  }

  /**
   * Records the partition's current ends: its last stable offset (how far records can be read) and its
   * high watermark (the offset the next produced record will get; the same unless a transaction is open).
   */
  noteEnds(partition: number, lastStableOffset: string, highWatermark = lastStableOffset): void {
    const share = this.share(partition);
    share.stableEnd = BigInt(lastStableOffset);
    // Asked one after the other, the high watermark may predate records the stable offset counts.
    share.highWatermark = BigInt(highWatermark) > share.stableEnd ? BigInt(highWatermark) : share.stableEnd;
  }

  /** A poll that waited `waitedMs` returned nothing for `partition`: a caught-up partition's clock moves on. */
  noteEmptyPoll(partition: number, waitedMs: number): void {
    const share = this.share(partition);
    if (this.isCaughtUp(partition)) share.clockMs += waitedMs;
  }

  /** Applies the wall clock: no partition's clock lags it by more than the allowed lateness. */
  noteWallClock(nowMs: number): void {
    const floor = nowMs - this.options.allowedLatenessMs;
    for (const share of this.shares.values()) share.clockMs = Math.max(share.clockMs, floor);
  }

  /** Read to the last known stable offset: nothing more can be read now. */
  isReadToStableEnd(partition: number): boolean {
    const share = this.share(partition);
    return share.stableEnd !== undefined && share.nextOffset >= share.stableEnd;
  }

  /** Read to the last known high watermark: nothing more is in the log (no transaction holds records back). */
  isCaughtUp(partition: number): boolean {
    const share = this.share(partition);
    return share.highWatermark !== undefined && share.nextOffset >= share.highWatermark;
  }

  /** The partition's share of the window is complete. */
  isDone(partition: number): boolean {
    const share = this.share(partition);
    return share.endedByRecord || (this.isReadToStableEnd(partition) && share.clockMs >= this.window.endMs);
  }

  /** The next offset to read of `partition`: its end offset once its share is done. */
  nextOffset(partition: number): string {
    return this.share(partition).nextOffset.toString();
  }

  /** Records between the read positions and the known high watermarks (an open transaction's included). */
  lag(): number | undefined {
    let lag = 0n;
    for (const share of this.shares.values()) {
      if (share.highWatermark === undefined) return undefined;
      if (share.highWatermark > share.nextOffset) lag += share.highWatermark - share.nextOffset;
    }
    return Number(lag);
  }

  /** How `partition`'s share ended, for deciding where the next window starts. */
  shareEnd(partition: number): ShareEnd {
    const share = this.share(partition);
    return { endingTimestampMs: share.endingTimestampMs ?? null, caughtUp: this.isCaughtUp(partition) };
  }

  /** Where the next window starts once this one is complete: see `nextWindowStartOf`. */
  nextWindowStartMs(intervalMs: number, nowMs: number): number {
    const ends = [...this.shares.keys()].map((partition) => this.shareEnd(partition));
    return nextWindowStartOf(this.window, ends, intervalMs, nowMs, this.options.allowedLatenessMs);
  }

  /** Every partition's next offset: where the next window starts once this one is complete. */
  endOffsets(): Record<string, string> {
    const offsets: Record<string, string> = {};
    for (const [partition, share] of this.shares) offsets[String(partition)] = share.nextOffset.toString();
    return offsets;
  }
}

/** How one partition's share of a window ended. */
export interface ShareEnd {
  /** The timestamp of the record that ended the share, when a record did. */
  readonly endingTimestampMs: number | null;
  /** Read to the high watermark. */
  readonly caughtUp: boolean;
}

/**
 * `ends` summed up to at most two entries that give `nextWindowStartOf` the same answer: an unknown end
 * (not caught up, no ending record), if any; and the earliest ending record, or else one caught-up end.
 * Shards report their ends this way, so their answers stay small whatever their partition count.
 */
export function summarizeShareEnds(ends: readonly ShareEnd[]): ShareEnd[] {
  const summary: ShareEnd[] = [];
  if (ends.some((end) => end.endingTimestampMs === null && !end.caughtUp)) {
    summary.push({ endingTimestampMs: null, caughtUp: false });
  }
  const endings = ends.flatMap((end) => (end.endingTimestampMs === null ? [] : [end.endingTimestampMs]));
  if (endings.length > 0) summary.push({ endingTimestampMs: Math.min(...endings), caughtUp: false });
  else if (ends.some((end) => end.caughtUp)) summary.push({ endingTimestampMs: null, caughtUp: true });
  return summary;
}

/**
 * Where the next window starts once `window` is complete. Normally right at its end; but when every
 * partition either ended on a record stamped well later, or is read to its end, the windows in between
 * are provably empty and already past on the wall clock, so they are skipped (a record stamped decades
 * ago must not make the pipeline write millions of empty windows).
 */
export function nextWindowStartOf(
  window: WindowBounds,
  ends: readonly ShareEnd[],
  intervalMs: number,
  nowMs: number,
  allowedLatenessMs: number,
): number {
  let earliestEnding = Number.POSITIVE_INFINITY;
  for (const end of ends) {
    if (end.endingTimestampMs !== null) earliestEnding = Math.min(earliestEnding, end.endingTimestampMs);
    else if (!end.caughtUp) return window.endMs;
  }
  if (earliestEnding === Number.POSITIVE_INFINITY) return window.endMs;
  const wallClockBound = floorToInterval(nowMs - allowedLatenessMs, intervalMs);
  return Math.max(window.endMs, Math.min(floorToInterval(earliestEnding, intervalMs), wallClockBound));
}
