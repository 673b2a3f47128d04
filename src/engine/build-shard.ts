// Step 2 of a window: one shard reads its partitions from where their shares resume to the window's end
// under the window rule, and writes their parts. It records each finished part in its partition's share
// of the pending window, and the partition's end offset there before its last part: so every writer of a part,
// whichever attempt it belongs to, writes the same bytes under the same key. A shard never moves the
// boundary and never commits offsets.
import type { WindowBounds } from '../core/key-layout.js';
import { mapBounded } from '../core/map-bounded.js';
import {
  PartMismatch,
  PartRefused,
  partsOf,
  recordedEnd,
  resumeOffset,
  withEnd,
  withPart,
} from '../core/pending-batch.js';
import type { FinishedPart, PendingBatch } from '../core/pipeline-state.js';
import { type ErrorRow, toNdjsonLine, toOutputRow } from '../core/record-format.js';
import {
  type PlacedRecord,
  Placement,
  type ShareEnd,
  summarizeShareEnds,
  WindowTracker,
} from '../core/window-rule.js';
import { AttemptSupersededError, WindowIntegrityError } from '../errors.js';
import type { PartitionBounds, SourceBatch } from '../ports.js';
import { AttemptStore } from './attempt-store.js';
import { partLayoutOf } from './part-layout.js';
import { PartWriter } from './part-writer.js';
import { RunOutcome } from './run-types.js';
import { readerOf, type SourceReader } from './source-reader.js';
import { StepClock, type StopReason } from './step-clock.js';
import type { ShardResult, ShardTask, StepContext } from './step-types.js';

/** Builds `task`'s share of its window; see the file comment. */
export async function buildShard(ctx: StepContext, task: ShardTask): Promise<ShardResult> {
  if (task.partitions.length === 0) {
    return { shard: task.shard, stopped: null, partitions: 0, partitionsDone: 0, records: 0, ends: [] };
  }
  return new ShardBuild(ctx, task).execute();
}

/** Last parts finished at once when a shard closes its partitions: the sink's requests in flight. */
const PARTS_FINISHING_AT_ONCE = 32;

class ShardBuild {
  private readonly store: AttemptStore;
  private readonly clock: StepClock;
  private readonly reader: SourceReader;
  private readonly window: WindowBounds;
  private readonly partitions: readonly number[];
  private readonly writers = new Map<number, PartWriter>();
  private readonly sequences = new Map<number, number>();
  /** Partitions whose end offset is recorded, with it: they are read exactly up to it. */
  private readonly ends = new Map<number, string>();
  /** Partitions whose end was recorded before this shard began: their trackers know too little to skip windows. */
  private readonly replayed = new Set<number>();
  /** Partitions done, their last part written. */
  private readonly finished = new Set<number>();
  private readonly records = new Map<number, number>();
  /** Per partition with an open part, where the records written to it end: a deadline cuts it there. */
  private readonly writtenTo = new Map<number, string>();
  /** Per done partition, the polled batches that reach past its end: the next window starts in them. */
  private readonly pastEnd = new Map<number, SourceBatch[]>();
  private tracker!: WindowTracker;
  private pending!: PendingBatch;

  constructor(
    private readonly ctx: StepContext,
    private readonly task: ShardTask,
  ) {
    this.store = new AttemptStore(ctx);
    this.clock = new StepClock(ctx);
    this.reader = readerOf(ctx.source);
    this.window = { startMs: task.windowStartMs, endMs: task.windowEndMs };
    this.partitions = [...task.partitions].sort((a, b) => a - b);
  }

  async execute(): Promise<ShardResult> {
    // The attempt must still own the window before a single object is written.
    this.pending = await this.store.pendingBatch(this.window, this.partitions);
    const bounds = new Map((await this.ctx.source.partitionBounds()).map((b) => [b.partition, b] as const));
    const startOffsets = this.pending.startOffsets;
    this.tracker = new WindowTracker(
      this.window,
      this.partitions.map((partition) => {
        const own = partsOf(this.pending, partition);
        const clocks = own.map((part) => part.maxTimestampMs).filter((ts): ts is number => ts !== null);
        return {
          partition,
          nextOffset:
            resumeOffset(this.pending, startOffsets, partition) ?? bounds.get(partition)?.low ?? '0',
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
      this.sequences.set(partition, partsOf(this.pending, partition).length);
      const end = sealed
        ? (sealed.endOffsets[String(partition)] ??
          startOffsets[String(partition)] ??
          this.tracker.nextOffset(partition))
        : recordedEnd(this.pending, partition);
      if (end !== undefined) {
        this.ends.set(partition, end);
        this.replayed.add(partition);
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
            this.keepPastEnd(batch);
            continue;
          }
          fed.add(batch.partition);
          const stopped = await this.write(batch.partition, this.take(batch, nowMs));
          if (stopped) return await this.stopped(stopped);
          if (this.isDone(batch.partition)) this.keepPastEnd(batch);
        }
        await this.advanceIdleClocks(fed, nowMs - before, nowMs);
        await this.closeDone();
        this.ctx.onProgress?.({
          windowStartMs: this.window.startMs,
          windowEndMs: this.window.endMs,
          records: this.writtenSoFar(),
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
      await this.abandonOpenParts().catch(() => {});
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

  /** Keeps a batch of a done partition that holds records at or past its end. */
  private keepPastEnd(batch: SourceBatch): void {
    if (BigInt(batch.nextOffset) <= BigInt(this.endOf(batch.partition))) return;
    const kept = this.pastEnd.get(batch.partition);
    if (kept) kept.push(batch);
    else this.pastEnd.set(batch.partition, [batch]);
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
    this.reader.hold(new Map(done.map((p) => [p, this.endOf(p)])), this.pastEnd);
    for (const partition of done) this.pastEnd.delete(partition);
    if (this.open().length > 0) return;
    // A partition that found nothing (it ends where it starts, with no part) records nothing: finalize
    // takes an end it finds no record of as the start, so a quiet window costs no write per partition.
    for (const p of done) {
      const found = this.writers.has(p) || partsOf(this.pending, p).length > 0;
      if (
        !this.ends.has(p) &&
        !found &&
        this.tracker.nextOffset(p) === this.pending.startOffsets[String(p)]
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
          const start = this.pending.startOffsets[String(share.partition)];
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
    // Bounded: a shard may close thousands of partitions at once, each a request to the sink.
    const finished = await mapBounded(done, PARTS_FINISHING_AT_ONCE, async (partition) => {
      const writer = this.writers.get(partition);
      if (!writer) return undefined;
      const part = await writer.finish(
        this.ends.get(partition) ?? writer.start.firstOffset,
        this.replaceCheck(partition, writer.start.sequence),
      );
      this.writers.delete(partition);
      this.writtenTo.delete(partition);
      this.records.set(partition, (this.records.get(partition) ?? 0) + writer.records);
      return part;
    });
    const parts = finished.filter((part): part is FinishedPart => part !== undefined);
    if (parts.length > 0) await this.recordParts(parts);
    for (const partition of done) this.finished.add(partition);
  }

  private async recordParts(parts: readonly FinishedPart[]): Promise<void> {
    const byPartition = new Map<number, FinishedPart[]>();
    for (const part of parts)
      byPartition.set(part.partition, [...(byPartition.get(part.partition) ?? []), part]);
    const answers = await this.store.updateShares<PartMismatch | PartRefused | undefined>(
      this.window,
      [...byPartition.keys()],
      (share) => {
        let next = share;
        for (const part of byPartition.get(share.partition) ?? []) {
          const recorded = withPart(next, part);
          if (recorded instanceof PartMismatch || recorded instanceof PartRefused) return { value: recorded };
          next = recorded;
        }
        return { share: next, value: undefined };
      },
    );
    const refused = [...answers.values()].find((answer) => answer instanceof PartRefused);
    if (refused) {
      // Another writer of this shard recorded the partition's end before this one read past it, or a
      // plan found what this one read deleted by retention and resumed the window after it.
      throw new AttemptSupersededError(this.store.pipelineId, this.ctx.attemptId, refused.reason);
    }
    const mismatch = [...answers.values()].find((answer) => answer instanceof PartMismatch);
    if (mismatch) {
      throw new WindowIntegrityError(this.store.pipelineId, [
        `part ${mismatch.offered.key} is recorded with ${mismatch.recorded.bytes} bytes (sha256 ${mismatch.recorded.sha256}) and was written again with ${mismatch.offered.bytes} (sha256 ${mismatch.offered.sha256})`,
      ]);
    }
    this.pending = { ...this.pending, parts: [...this.pending.parts, ...parts] };
  }

  /**
   * What decides, when a part's key already holds other bytes, whether this part may take their place.
   * Parts are completed before they are recorded, so such an object is one no share records yet: left
   * by a run of an earlier plan of the window, by a writer that died before recording it (on another
   * runtime, whose compressor wrote other bytes), or by a writer of this shard that read past the end
   * another recorded (late records arrived between them) and so can never record it. It may go only
   * while this part can still be recorded: the attempt owns the window as planned, no share records
   * the part, and it reaches no further than its partition's recorded end (writers that can record a
   * part read the same records and write the same bytes). Otherwise this writer has lost to another,
   * whose object stays: it stops, saying why.
   */
  private replaceCheck(partition: number, sequence: number): (nextOffset: string) => Promise<boolean> {
    return async (nextOffset) => {
      // Read afresh: throws AttemptSupersededError once the attempt no longer owns the window.
      const current = await this.store.pendingBatch(this.window, [partition]);
      const refuse = (why: string): never => {
        throw new AttemptSupersededError(
          this.store.pipelineId,
          this.ctx.attemptId,
          `part ${sequence} of partition ${partition} is already stored with other bytes, which this shard may not replace: ${why}`,
        );
      };
      if (current.id !== this.pending.id) refuse(`the window was planned again as ${current.id}`);
      const recorded = partsOf(current, partition).find((part) => part.sequence === sequence);
      if (recorded) refuse(`another writer recorded it, up to offset ${recorded.nextOffset}`);
      const end = recordedEnd(current, partition);
      if (end !== undefined && BigInt(nextOffset) > BigInt(end))
        refuse(`the partition's end is recorded as ${end}, and this part reaches ${nextOffset}`);
      return true;
    };
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

  private writerFor(partition: number): PartWriter {
    let writer = this.writers.get(partition);
    if (!writer) {
      const { config } = this.ctx;
      // A new part starts where the partition's last finished part ended.
      writer = new PartWriter(this.ctx.sink, {
        prefix: config.output.prefix,
        topic: config.topic,
        window: this.window,
        partition,
        sequence: this.sequences.get(partition) ?? 0,
        firstOffset: resumeOffset(this.pending, this.pending.startOffsets, partition) ?? '0',
        compression: config.compression,
        layout: partLayoutOf(config),
      });
      this.writers.set(partition, writer);
    }
    return writer;
  }

  private async write(partition: number, placed: readonly PlacedRecord[]): Promise<StopReason | undefined> {
    const { topic, partSizeBytes } = this.ctx.config;
    const parseRecord = this.ctx.hooks?.parseRecord;
    for (const { record, placement } of placed) {
      const writer = this.writerFor(partition);
      const late = placement === Placement.LATE;
      if (placement === Placement.BAD_TIMESTAMP) {
        writer.addError(errorLine(toOutputRow(topic, record), badTimestampReason(record.timestampMs)));
      } else if (!parseRecord) {
        const mismatch = writer.addRecord(record, late);
        if (mismatch !== undefined) writer.addError(errorLine(toOutputRow(topic, record), mismatch));
      } else {
        const row = toOutputRow(topic, record);
        try {
          writer.addRow(toNdjsonLine(parseRecord(row)), record.timestampMs, late);
        } catch (error) {
          writer.addError(
            errorLine(row, `parseRecord failed: ${error instanceof Error ? error.message : String(error)}`),
          );
        }
      }
      this.writtenTo.set(partition, (BigInt(record.offset) + 1n).toString());
      if (writer.bytes >= partSizeBytes) {
        await this.cutPart(partition, writer);
        // A part boundary is a safe point: a large fetched batch does not carry the shard past its deadline.
        const stop = this.clock.stopReason();
        if (stop) return stop;
      }
    }
    await this.writers.get(partition)?.flush();
    return undefined;
  }

  private writtenSoFar(): number {
    const open = [...this.writers.values()].reduce((sum, writer) => sum + writer.records, 0);
    return open + [...this.records.values()].reduce((sum, n) => sum + n, 0);
  }

  /** Finishes `partition`'s open part where its records end, and records it: the next part starts there. */
  private async cutPart(partition: number, writer: PartWriter): Promise<void> {
    const part = await writer.finish(
      this.writtenTo.get(partition) ?? writer.start.firstOffset,
      this.replaceCheck(partition, writer.start.sequence),
    );
    this.writers.delete(partition);
    this.writtenTo.delete(partition);
    this.records.set(partition, (this.records.get(partition) ?? 0) + writer.records);
    await this.recordParts([part]);
    this.sequences.set(partition, writer.start.sequence + 1);
  }

  /** Discards the open parts: none becomes visible; finished parts stay recorded. */
  private async abandonOpenParts(): Promise<void> {
    await Promise.all([...this.writers.values()].map((writer) => writer.abort()));
    this.writers.clear();
    this.writtenTo.clear();
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
      const cutBy = this.ctx.deadlineMs - this.ctx.config.safetyMarginMs / 2;
      const open = [...this.writers].sort(([, a], [, b]) => b.bytes - a.bytes);
      await mapBounded(open, PARTS_FINISHING_AT_ONCE, async ([partition, writer]) => {
        if (writer.bytes > 0 && this.clock.now() < cutBy) await this.cutPart(partition, writer);
      });
    }
    await this.abandonOpenParts();
    return this.result(reason);
  }

  private result(stopped: StopReason | null): ShardResult {
    // A share whose end an earlier attempt recorded was not read from its start: nothing is known of
    // what ended it, so no window after it may be skipped on its account.
    const ends: ShareEnd[] = this.partitions.map((partition) =>
      this.replayed.has(partition)
        ? { endingTimestampMs: null, caughtUp: false }
        : this.tracker.shareEnd(partition),
    );
    return {
      shard: this.task.shard,
      stopped,
      partitions: this.partitions.length,
      partitionsDone: this.finished.size,
      records: [...this.records.values()].reduce((sum, n) => sum + n, 0),
      ends: summarizeShareEnds(ends),
    };
  }
}

function badTimestampReason(timestampMs: number): string {
  if (!(timestampMs >= 0)) return `the record has no usable timestamp (${timestampMs})`;
  return `timestamp ${new Date(timestampMs).toISOString()} is further in the future than the tolerance allows`;
}

function errorLine(row: ReturnType<typeof toOutputRow>, reason: string): string {
  const error: ErrorRow = {
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    timestamp: row.timestamp,
    reason,
    record: row,
  };
  return toNdjsonLine(error);
}
