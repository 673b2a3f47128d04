// Step 2 of a window: one shard reads its partitions from where their shares resume to the window's end
// under the window rule, and writes their parts (shard-parts.ts). It records each partition's end offset
// in its share of the pending window before its last part: so every writer of a part, whichever attempt
// it belongs to, writes the same bytes under the same key. What it fetched past a partition's end is
// carried over to the next window's share (source-reader.ts). A shard never moves the boundary and never
// commits offsets.
import type { WindowBounds } from '../core/key-layout.js';
import { partsOf, recordedEnd, resumeOffset, withEnd } from '../core/pending-batch.js';
import { type PlacedRecord, type ShareEnd, summarizeShareEnds, WindowTracker } from '../core/window-rule.js';
import { AttemptSupersededError } from '../errors.js';
import type { PartitionBounds, SourceBatch } from '../ports.js';
import { AttemptStore } from './attempt-store.js';
import { RunOutcome } from './run-types.js';
import { ShardParts } from './shard-parts.js';
import { type SourceReader, stepReader } from './source-reader.js';
import { StepClock, type StopReason } from './step-clock.js';
import type { ShardResult, ShardTask, StepContext } from './step-types.js';

/** Builds `task`'s share of its window; see the file comment. */
export async function buildShard(ctx: StepContext, task: ShardTask): Promise<ShardResult> {
  if (task.partitions.length === 0) {
    return { shard: task.shard, stopped: null, partitions: 0, partitionsDone: 0, records: 0, ends: [] };
  }
  return new ShardBuild(ctx, task).execute();
}

class ShardBuild {
  private readonly store: AttemptStore;
  private readonly clock: StepClock;
  private readonly reader: SourceReader;
  private readonly window: WindowBounds;
  private readonly partitions: readonly number[];
  /** Partitions whose end offset is recorded, with it: they are read exactly up to it. */
  private readonly ends = new Map<number, string>();
  /** Partitions whose end was recorded before this shard began: their trackers know too little to skip windows. */
  private readonly endedBefore = new Set<number>();
  /** Partitions done, their last part written. */
  private readonly finished = new Set<number>();
  /**
   * Per done partition, its carried batches: the polled ones that reach past its end, kept for the share
   * of the next window, which starts there (handed to the reader when the partition stops fetching).
   */
  private readonly carried = new Map<number, SourceBatch[]>();
  private tracker!: WindowTracker;
  private parts!: ShardParts;

  constructor(
    private readonly ctx: StepContext,
    private readonly task: ShardTask,
  ) {
    this.store = new AttemptStore(ctx);
    this.clock = new StepClock(ctx);
    this.reader = stepReader(ctx);
    this.window = { startMs: task.windowStartMs, endMs: task.windowEndMs };
    this.partitions = [...task.partitions].sort((a, b) => a - b);
  }

  async execute(): Promise<ShardResult> {
    // The attempt must still own the window before a single object is written.
    const pending = await this.store.pendingBatch(this.window, this.partitions);
    this.parts = new ShardParts(this.ctx, this.store, this.clock, this.window, pending, this.partitions);
    const bounds = new Map((await this.ctx.source.partitionBounds()).map((b) => [b.partition, b] as const));
    const startOffsets = pending.startOffsets;
    this.tracker = new WindowTracker(
      this.window,
      this.partitions.map((partition) => {
        const own = partsOf(pending, partition);
        const clocks = own.map((part) => part.maxTimestampMs).filter((ts): ts is number => ts !== null);
        return {
          partition,
          nextOffset: resumeOffset(pending, startOffsets, partition) ?? bounds.get(partition)?.low ?? '0',
          ...(clocks.length ? { clockMs: Math.max(...clocks) } : {}),
        };
      }),
      {
        allowedLatenessMs: this.ctx.config.allowedLatenessMs,
        futureToleranceMs: this.ctx.config.futureToleranceMs,
      },
    );
    // A sealed window (finalize fixed its ends, then did not close it) has all its parts written: it
    // reads nothing more, so no record arriving since, and no retention since, can change it.
    const sealed = this.store.state?.pending?.sealed;
    for (const partition of this.partitions) {
      const end = sealed
        ? (sealed.endOffsets[String(partition)] ??
          startOffsets[String(partition)] ??
          this.tracker.nextOffset(partition))
        : recordedEnd(pending, partition);
      if (end !== undefined) {
        this.ends.set(partition, end);
        this.endedBefore.add(partition);
      }
    }

    try {
      // Partitions read to their end whose clocks the wall clock has carried past the window are done
      // before any poll: a backlog of quiet windows closes without waiting a poll interval each.
      this.noteEnds(bounds.values());
      this.tracker.noteWallClock(this.clock.now());
      await this.closeDone();
      await this.reader.fetchFrom(new Map(this.open().map((p) => [p, this.tracker.nextOffset(p)])));

      for (let reading = this.open(); reading.length > 0; reading = this.open()) {
        const stop = this.clock.stopReason();
        if (stop) return await this.stopped(stop);
        const before = this.clock.now();
        const batches = await this.reader.poll(this.clock.pollWaitMs());
        const nowMs = this.clock.now();
        const fed = new Set<number>();
        for (const batch of batches) {
          if (!this.partitions.includes(batch.partition)) continue;
          if (this.isDone(batch.partition)) {
            this.carryOver(batch);
            continue;
          }
          fed.add(batch.partition);
          const stopped = await this.parts.write(batch.partition, this.take(batch, nowMs));
          if (stopped) return await this.stopped(stopped);
          if (this.isDone(batch.partition)) this.carryOver(batch);
        }
        await this.advanceIdleClocks(fed, nowMs - before, nowMs);
        await this.closeDone();
        this.ctx.onProgress?.({
          windowStartMs: this.window.startMs,
          windowEndMs: this.window.endMs,
          records: this.parts.writtenSoFar(),
          partitionsDone: this.finished.size,
          partitions: this.partitions.length,
          lag: this.tracker.lag(),
        });
      }
      // The next window starts where this one ends: let the fetch run while finalize writes the manifest.
      // Not from an end retention has deleted past: the next plan starts that partition after the gap.
      const stored = (p: number) => BigInt(bounds.get(p)?.low ?? '0');
      await this.reader.fetchFrom(new Map([...this.ends].filter(([p, end]) => BigInt(end) >= stored(p))));
      return this.result(null);
    } catch (error) {
      // Uploads a failed abort leaves behind are removed by the bucket's lifecycle rule.
      await this.parts.abandonOpen().catch(() => {});
      throw error;
    }
  }

  private isDone(partition: number): boolean {
    const end = this.ends.get(partition);
    if (end !== undefined) return BigInt(this.tracker.nextOffset(partition)) >= BigInt(end);
    return this.tracker.isDone(partition);
  }

  /** Where a done partition's share ends: its recorded end, or where the window rule stopped it. */
  private endOf(partition: number): string {
    return this.ends.get(partition) ?? this.tracker.nextOffset(partition);
  }

  /** Carries over a batch of a done partition that holds records at or past its end. */
  private carryOver(batch: SourceBatch): void {
    if (BigInt(batch.nextOffset) <= BigInt(this.endOf(batch.partition))) return;
    const carried = this.carried.get(batch.partition);
    if (carried) carried.push(batch);
    else this.carried.set(batch.partition, [batch]);
  }

  private open(): number[] {
    return this.partitions.filter((p) => !this.finished.has(p) && !this.isDone(p));
  }

  /**
   * Once every partition of the shard is done: records the ends not yet recorded (together, in one
   * write), then writes and records the last parts (together too). Until then a done partition only
   * stops fetching: a shard stopped by its deadline leaves no finished object its window does not list
   * (parts cut by size apart), as a run of one shard always has.
   */
  private async closeDone(): Promise<void> {
    const done = this.partitions.filter((p) => !this.finished.has(p) && this.isDone(p));
    if (done.length === 0) return;
    this.reader.carryOver(new Map(done.map((p) => [p, this.endOf(p)])), this.carried);
    for (const partition of done) this.carried.delete(partition);
    if (this.open().length > 0) return;
    // A partition that found nothing (it ends where it starts, with no part) records nothing: finalize
    // takes an end it finds no record of as the start, so a quiet window costs no write per partition.
    const { startOffsets } = this.parts.pending;
    for (const p of done) {
      if (
        !this.ends.has(p) &&
        !this.parts.hasParts(p) &&
        this.tracker.nextOffset(p) === startOffsets[String(p)]
      ) {
        this.ends.set(p, this.tracker.nextOffset(p));
      }
    }
    const unrecorded = done.filter((p) => !this.ends.has(p));
    if (unrecorded.length > 0) {
      const nowMs = this.clock.now();
      const answers = await this.store.updateShares<string | { partsReach: string }>(
        this.window,
        unrecorded,
        (share) => {
          const start = startOffsets[String(share.partition)];
          const recording = withEnd(share, start, this.tracker.nextOffset(share.partition), nowMs);
          if ('partsReach' in recording) return { value: recording };
          return { share: recording.share, value: recording.end };
        },
      );
      for (const [partition, end] of answers) {
        const mine = this.tracker.nextOffset(partition);
        if (typeof end !== 'string' || end !== mine) {
          // Another writer of this shard (a retry while this one still ran) read the partition differently.
          throw new AttemptSupersededError(
            this.store.pipelineId,
            this.ctx.attemptId,
            typeof end === 'string'
              ? `partition ${partition}'s end is recorded as ${end}, this shard reached ${mine}`
              : `partition ${partition}'s parts already reach ${end.partsReach}, past this shard's ${mine}`,
          );
        }
        this.ends.set(partition, end);
      }
    }
    await this.parts.finishLast(done, (partition) => this.ends.get(partition));
    for (const partition of done) this.finished.add(partition);
  }

  /** Places a batch's records; for a partition with a recorded end, only those below it. */
  private take(batch: SourceBatch, nowMs: number): PlacedRecord[] {
    const endOffset = this.ends.get(batch.partition);
    if (endOffset === undefined) {
      return this.tracker.take(batch.partition, batch.records, batch.nextOffset, nowMs);
    }
    const end = BigInt(endOffset);
    const records = batch.records.filter((r) => BigInt(r.offset) < end);
    const next = BigInt(batch.nextOffset) < end ? batch.nextOffset : endOffset;
    return this.tracker.take(batch.partition, records, next, nowMs, true);
  }

  private async advanceIdleClocks(fed: ReadonlySet<number>, waitedMs: number, nowMs: number): Promise<void> {
    this.tracker.noteWallClock(nowMs);
    const idle = this.partitions.filter((p) => !fed.has(p) && !this.ends.has(p) && !this.tracker.isDone(p));
    if (idle.length === 0) return;
    // Only a partition read as far as it can be is idle; its ends may have moved since we last asked (a
    // transaction that held records back may have finished).
    if (idle.some((p) => this.tracker.isReadToStableEnd(p))) {
      this.noteEnds(await this.ctx.source.partitionBounds());
    }
    for (const p of idle) this.tracker.noteEmptyPoll(p, waitedMs);
  }

  private noteEnds(bounds: Iterable<PartitionBounds>): void {
    for (const b of bounds) {
      if (this.partitions.includes(b.partition)) this.tracker.noteEnds(b.partition, b.high, b.highWatermark);
    }
  }

  /**
   * At the deadline, the open parts are cut where their records end and recorded, so the next run
   * resumes after them: a window larger than one run closes after a few, instead of each run reading
   * the same records and throwing them away. The largest go first, while the safety margin lasts; the
   * rest are discarded. (A part cut here ends where no other writer would cut it; the sink's
   * create-only writes keep a second writer of its key from replacing it.) An abort keeps nothing.
   */
  private async stopped(reason: StopReason): Promise<ShardResult> {
    if (reason === RunOutcome.DEADLINE) {
      await this.parts.cutOpen(this.ctx.deadlineMs - this.ctx.config.safetyMarginMs / 2);
    }
    await this.parts.abandonOpen();
    return this.result(reason);
  }

  private result(stopped: StopReason | null): ShardResult {
    // A share whose end an earlier attempt recorded was not read from its start: nothing is known of
    // what ended it, so no window after it may be skipped on its account.
    const ends: ShareEnd[] = this.partitions.map((partition) =>
      this.endedBefore.has(partition)
        ? { endingTimestampMs: null, caughtUp: false }
        : this.tracker.shareEnd(partition),
    );
    return {
      shard: this.task.shard,
      stopped,
      partitions: this.partitions.length,
      partitionsDone: this.finished.size,
      records: this.parts.finishedRecords(),
      ends: summarizeShareEnds(ends),
    };
  }
}
