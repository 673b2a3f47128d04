// One run of a pipeline: restore the boundary, take the lease, finish any pending batch, then build and
// write every window that can close before the deadline. The order of writes is what makes it
// exactly-once:
//   1. the window's end offsets are recorded as pending (so a retry re-reads exactly those records),
//   2. its parts are written (each recorded in the pending batch when done),
//   3. its manifest is written last,
//   4. the new boundary and offsets are saved and pending cleared, in one conditional write,
//   5. the offsets are committed to the consumer group (the saved state, not the group, is the truth).
// A run that dies anywhere is finished by the next one, which writes the same keys with the same bytes.
import type { PullerConfig } from '../config.js';
import { movedOffsets } from '../core/committed-offsets.js';
import { manifestKey, type WindowBounds } from '../core/key-layout.js';
import { blockingLease, withLease, withoutLease } from '../core/lease.js';
import { buildManifest, serializeManifest } from '../core/manifest.js';
import {
  type FinishedPart,
  newPipelineState,
  type OutputLayout,
  type PendingBatch,
  type PipelineState,
  pipelineIdOf,
} from '../core/pipeline-state.js';
import { type ErrorRow, toNdjsonLine, toOutputRow } from '../core/record-format.js';
import { OutputFormat } from '../core/value-format.js';
import { floorToInterval, type PlacedRecord, Placement, WindowTracker } from '../core/window-rule.js';
import { ConfigError, GroupOffsetsMovedError, StateConflictError } from '../errors.js';
import type { PartitionBounds, SourceBatch, VersionedState } from '../ports.js';
import { outputLayoutOf, refuseChangedOutput, refuseOrphanedOutput } from './output-guard.js';
import { partLayoutOf } from './part-layout.js';
import { PartWriter } from './part-writer.js';
import { releaseLeaseAfterFailure } from './release-lease.js';
import { type RunLogger, stderrRunLogger } from './run-logger.js';
import {
  type ClosedWindow,
  RunOutcome as Outcome,
  type RunOptions,
  type RunOutcome,
  type RunReport,
} from './run-types.js';
import { resolveStartPositions } from './start-positions.js';

/** Runs the pipeline once; see RunOptions. Resolves with what the run did; throws on failure. */
export async function runPipeline(options: RunOptions): Promise<RunReport> {
  return new PipelineRun(options).execute();
}

const MANIFEST_CONTENT_TYPE = 'application/json';

type WindowResult = 'closed' | typeof Outcome.DEADLINE | typeof Outcome.ABORTED;

class PipelineRun {
  private readonly config: PullerConfig;
  private readonly now: () => number;
  private readonly pipelineId: string;
  private state!: PipelineState;
  private version: number | undefined;
  private bounds: PartitionBounds[] = [];
  private sourceStarted = false;
  /** Partitions being fetched, with the offset fetching started from (cleared when paused). */
  private readonly fetching = new Map<number, string>();
  private holdsLease = false;
  /** A lease write was sent: it may have been applied even if its answer was an error. */
  private mayHoldLease = false;
  private readonly closed: ClosedWindow[] = [];
  private readonly totals = { records: 0, bytes: 0, late: 0, errors: 0 };
  private readonly logger: RunLogger;
  /** Recorded with every save: the layout this pipeline's windows are written in. */
  private readonly outputLayout: OutputLayout;
  private retentionGapRecords = 0;

  constructor(private readonly options: RunOptions) {
    this.config = options.config;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? stderrRunLogger;
    this.outputLayout = outputLayoutOf(this.config);
    this.pipelineId = pipelineIdOf(this.config.groupId, this.config.topic);
    if (options.hooks?.parseRecord && this.config.format !== OutputFormat.NDJSON) {
      throw new ConfigError([
        `parseRecord maps records to NDJSON rows; it cannot be used with format ${this.config.format}`,
      ]);
    }
  }

  async execute(): Promise<RunReport> {
    const { source } = this.options;
    try {
      const loaded = await this.options.store.load(this.pipelineId);
      this.adopt(loaded);
      const blocker = blockingLease(this.state, this.options.runId, this.now(), this.options.endedRunIds);
      if (blocker) return this.report(Outcome.LEASE_HELD, blocker.owner);

      // Reach the broker before writing anything: a missing topic or an unreachable broker leaves state untouched.
      this.bounds = await source.partitionBounds();
      if (loaded === undefined) await refuseOrphanedOutput(this.options.sink, this.config, this.pipelineId);
      else {
        refuseChangedOutput(this.state, this.config, this.pipelineId);
        const moved = movedOffsets(this.state, await source.committedOffsets());
        if (moved.length > 0) throw new GroupOffsetsMovedError(this.pipelineId, moved);
      }
      const held = await this.takeLease(loaded === undefined);
      if (held !== undefined) return this.report(Outcome.LEASE_HELD, held);

      const outcome = await this.buildWindows();
      await this.releaseLease();
      return this.report(outcome);
    } catch (error) {
      // The failed write may have been applied after all: the release re-reads the item rather than trust
      // the version this run last knew.
      if (this.mayHoldLease) {
        await releaseLeaseAfterFailure(
          this.options.store,
          this.pipelineId,
          this.options.runId,
          this.now,
        ).catch(() => {});
      }
      throw error;
    } finally {
      await source.close();
    }
  }

  private adopt(loaded: VersionedState | undefined): void {
    this.state = loaded?.state ?? newPipelineState(this.config.groupId, this.config.topic, this.now());
    this.version = loaded?.version;
  }

  /** Takes the lease until the deadline; returns the holder's id when another run holds it. */
  private async takeLease(isNewPipeline: boolean): Promise<string | undefined> {
    const offsetsAtTime =
      isNewPipeline && this.config.startPosition.kind === 'timestamp'
        ? await this.options.source.offsetsForTime(this.config.startPosition.timestampMs)
        : undefined;
    const positions = resolveStartPositions(
      this.state.offsets,
      isNewPipeline,
      this.bounds,
      this.config.startPosition,
      offsetsAtTime,
    );
    for (const gap of positions.gaps) {
      const recordsLost = Number(BigInt(gap.lowWatermark) - BigInt(gap.savedOffset));
      this.retentionGapRecords += recordsLost;
      this.logger.warn('retention deleted records before any run read them', {
        topic: this.config.topic,
        groupId: this.config.groupId,
        runId: this.options.runId,
        partition: gap.partition,
        savedOffset: gap.savedOffset,
        firstStoredOffset: gap.lowWatermark,
        recordsLost,
      });
    }
    // A new pipeline's start offsets are saved at once, so that 'latest' means the first run's latest.
    const next = withLease(
      { ...this.state, offsets: positions.offsets },
      this.options.runId,
      this.options.deadlineMs,
    );
    this.mayHoldLease = true;
    try {
      await this.save(next);
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      this.mayHoldLease = false;
      // Someone wrote between our read and our write: whoever it was holds the lease now.
      const reloaded = await this.options.store.load(this.pipelineId);
      const blocker =
        reloaded && blockingLease(reloaded.state, this.options.runId, this.now(), this.options.endedRunIds);
      if (blocker) return blocker.owner;
      throw error;
    }
    this.holdsLease = true;
    return undefined;
  }

  private async releaseLease(): Promise<void> {
    if (!this.holdsLease) return;
    this.holdsLease = false;
    await this.save(withoutLease(this.state));
  }

  private async save(next: PipelineState): Promise<void> {
    const stamped = { ...next, output: this.outputLayout, updatedAtMs: this.now() };
    this.version = await this.options.store.save(this.pipelineId, stamped, this.version);
    this.state = stamped;
  }

  /** A poll's wait: the poll interval, but never past the point where the run must stop. */
  private pollWaitMs(): number {
    const left = this.options.deadlineMs - this.config.safetyMarginMs - this.now();
    return Math.max(0, Math.min(this.config.pollIntervalMs, left));
  }

  private stopReason(): typeof Outcome.DEADLINE | typeof Outcome.ABORTED | undefined {
    if (this.options.signal?.aborted) return Outcome.ABORTED;
    if (this.now() >= this.options.deadlineMs - this.config.safetyMarginMs) return Outcome.DEADLINE;
    return undefined;
  }

  private async buildWindows(): Promise<RunOutcome> {
    for (;;) {
      const stop = this.stopReason();
      if (stop) return stop;
      const window = this.state.pending
        ? { startMs: this.state.pending.windowStartMs, endMs: this.state.pending.windowEndMs }
        : await this.nextWindow();
      if (window === undefined) return Outcome.CAUGHT_UP;
      // A window that ends after the deadline cannot close in this run; the next run takes it.
      const endNotRecorded = this.state.pending?.endOffsets == null;
      if (endNotRecorded && window.endMs > this.options.deadlineMs - this.config.safetyMarginMs)
        return Outcome.CAUGHT_UP;
      const result = await this.buildWindow(window);
      if (result !== 'closed') return result;
    }
  }

  /** The next window's bounds; for a new pipeline, from its first record's timestamp. */
  private async nextWindow(): Promise<WindowBounds | undefined> {
    const interval = this.config.batchIntervalMs;
    if (this.state.nextWindowStartMs !== null) {
      return { startMs: this.state.nextWindowStartMs, endMs: this.state.nextWindowStartMs + interval };
    }
    const first = await this.firstTimestamp();
    if (first === undefined) return undefined;
    const startMs = floorToInterval(first, interval);
    return { startMs, endMs: startMs + interval };
  }

  /** The earliest timestamp among the partitions' first records. */
  private async firstTimestamp(): Promise<number | undefined> {
    const positions = this.positionsFrom(this.state.offsets);
    const waiting = new Set(
      this.bounds
        .filter((b) => BigInt(b.high) > BigInt(positions.get(b.partition) ?? b.high))
        .map((b) => b.partition),
    );
    if (waiting.size === 0) return undefined;
    await this.fetchFrom(positions);
    const nowMs = this.now();
    const candidates: number[] = [];
    while (waiting.size > 0 && !this.stopReason()) {
      for (const batch of await this.options.source.poll(this.pollWaitMs())) {
        if (!waiting.delete(batch.partition)) continue;
        // The partition's first record with a usable timestamp (later ones may be late, or bad).
        const first = batch.records.find(
          (r) => r.timestampMs >= 0 && r.timestampMs <= nowMs + this.config.futureToleranceMs,
        );
        if (first) candidates.push(first.timestampMs);
      }
    }
    // Start over from the saved offsets: these records belong to the window now being defined.
    this.pause(this.bounds.map((b) => b.partition));
    if (waiting.size > 0) return undefined;
    return candidates.length > 0
      ? Math.min(...candidates)
      : floorToInterval(nowMs, this.config.batchIntervalMs);
  }

  private positionsFrom(offsets: Readonly<Record<string, string>>): Map<number, string> {
    return new Map(this.bounds.map((b) => [b.partition, offsets[String(b.partition)] ?? b.low]));
  }

  /** Fetches the given partitions from the given offsets; every other partition is paused. */
  private async fetchFrom(positions: ReadonlyMap<number, string>): Promise<void> {
    const { source } = this.options;
    this.pause([...this.fetching.keys()].filter((p) => !positions.has(p)));
    if (!this.sourceStarted) {
      this.sourceStarted = true;
      const all = this.positionsFrom(this.state.offsets);
      for (const [partition, offset] of positions) all.set(partition, offset);
      await source.start(all);
      for (const [partition, offset] of positions) this.fetching.set(partition, offset);
      source.pause(this.bounds.map((b) => b.partition).filter((p) => !positions.has(p)));
      return;
    }
    // A partition already fetching from the right offset (prefetched at the last close) is left alone.
    const toResume = new Map([...positions].filter(([p, offset]) => this.fetching.get(p) !== offset));
    if (toResume.size === 0) return;
    source.resume(toResume);
    for (const [partition, offset] of toResume) this.fetching.set(partition, offset);
  }

  private pause(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    this.options.source.pause(partitions);
    for (const p of partitions) this.fetching.delete(p);
  }

  private async buildWindow(window: WindowBounds): Promise<WindowResult> {
    const pending = this.state.pending;
    const replayEnd = pending?.endOffsets ?? undefined;
    const parts = pending?.parts ?? [];
    const startOffsets = pending?.startOffsets ?? this.state.offsets;
    const tracker = new WindowTracker(
      window,
      this.bounds.map((b) => {
        const own = parts.filter((part) => part.partition === b.partition);
        const readFrom = resumeOffset(pending, startOffsets, b.partition) ?? b.low;
        const clocks = own.map((part) => part.maxTimestampMs).filter((ts): ts is number => ts !== null);
        return {
          partition: b.partition,
          nextOffset: readFrom,
          ...(clocks.length ? { clockMs: Math.max(...clocks) } : {}),
        };
      }),
      { allowedLatenessMs: this.config.allowedLatenessMs, futureToleranceMs: this.config.futureToleranceMs },
    );
    const sequences = new Map(
      this.bounds.map((b) => [b.partition, parts.filter((p) => p.partition === b.partition).length]),
    );
    const writers = new Map<number, PartWriter>();
    // A closed window being finished reads exactly up to its recorded end offsets.
    const isDone = (partition: number) =>
      replayEnd
        ? BigInt(tracker.nextOffset(partition)) >= BigInt(replayEnd[String(partition)] ?? '0')
        : tracker.isDone(partition);
    const open = () => this.bounds.map((b) => b.partition).filter((p) => !isDone(p));

    try {
      if (!replayEnd) {
        // Partitions already read to their end whose clocks the wall clock has carried past the window are
        // done before any poll: a backlog of quiet windows closes without waiting a poll interval each.
        await this.refreshHighWatermarks(tracker);
        tracker.noteWallClock(this.now());
      }
      const toRead = open();
      await this.fetchFrom(new Map(toRead.map((p) => [p, tracker.nextOffset(p)])));

      for (let reading = open(); reading.length > 0; reading = open()) {
        const stop = this.stopReason();
        if (stop) return await abandon(writers, stop);
        const before = this.now();
        const batches = await this.options.source.poll(this.pollWaitMs());
        const nowMs = this.now();
        const fed = new Set<number>();
        for (const batch of batches) {
          if (isDone(batch.partition)) continue;
          fed.add(batch.partition);
          const placed = this.take(tracker, batch, replayEnd, nowMs);
          const stopped = await this.write(window, batch.partition, placed, writers, sequences);
          if (stopped) return await abandon(writers, stopped);
        }
        if (!replayEnd) await this.advanceIdleClocks(tracker, fed, nowMs - before, nowMs);
        // A partition whose share is done stops fetching: what lies beyond its end belongs to the next window.
        this.pause(reading.filter((p) => isDone(p)));
        this.options.listener?.onProgress?.({
          windowStartMs: window.startMs,
          windowEndMs: window.endMs,
          records: this.countSoFar(writers),
          partitionsDone: this.bounds.length - open().length,
          partitions: this.bounds.length,
          lag: tracker.lag(),
        });
      }
      // A finished window being written again (replayEnd) has lost its trackers' knowledge: no skipping.
      const nextStart = replayEnd
        ? window.endMs
        : tracker.nextWindowStartMs(this.config.batchIntervalMs, this.now());
      const endOffsets = replayEnd ?? tracker.endOffsets();
      // The next window starts where this one ends: let the fetch run while this one's objects are written.
      if (this.sourceStarted && nextStart === window.endMs) {
        await this.fetchFrom(new Map(Object.entries(endOffsets).map(([p, offset]) => [Number(p), offset])));
      }
      await this.closeWindow(window, endOffsets, writers, nextStart);
      return 'closed';
    } catch (error) {
      // Uploads a failed abort leaves behind are removed by the bucket's lifecycle rule.
      await abandon(writers, undefined).catch(() => {});
      throw error;
    }
  }

  private countSoFar(writers: ReadonlyMap<number, PartWriter>): number {
    const recorded = (this.state.pending?.parts ?? []).reduce((sum, part) => sum + part.records, 0);
    return recorded + [...writers.values()].reduce((sum, writer) => sum + writer.records, 0);
  }

  /** Places a batch's records; when finishing a closed window, only those below its end offsets. */
  private take(
    tracker: WindowTracker,
    batch: SourceBatch,
    replayEnd: Record<string, string> | undefined,
    nowMs: number,
  ): PlacedRecord[] {
    if (!replayEnd) return tracker.take(batch.partition, batch.records, batch.nextOffset, nowMs);
    const end = BigInt(replayEnd[String(batch.partition)] ?? '0');
    const records = batch.records.filter((r) => BigInt(r.offset) < end);
    const next = BigInt(batch.nextOffset) < end ? batch.nextOffset : end.toString();
    return tracker.take(batch.partition, records, next, nowMs, true);
  }

  private async advanceIdleClocks(
    tracker: WindowTracker,
    fed: ReadonlySet<number>,
    waitedMs: number,
    nowMs: number,
  ) {
    tracker.noteWallClock(nowMs);
    const idle = this.bounds.map((b) => b.partition).filter((p) => !fed.has(p) && !tracker.isDone(p));
    if (idle.length === 0) return;
    // Only a partition read to its high watermark is idle; the watermark may have moved since we last asked.
    if (idle.some((p) => tracker.isCaughtUp(p))) await this.refreshHighWatermarks(tracker);
    for (const p of idle) tracker.noteEmptyPoll(p, waitedMs);
  }

  private async refreshHighWatermarks(tracker: WindowTracker): Promise<void> {
    for (const b of await this.options.source.partitionBounds()) {
      if (this.bounds.some((known) => known.partition === b.partition))
        tracker.noteHighWatermark(b.partition, b.high);
    }
  }

  private async write(
    window: WindowBounds,
    partition: number,
    placed: readonly PlacedRecord[],
    writers: Map<number, PartWriter>,
    sequences: Map<number, number>,
  ): Promise<ReturnType<PipelineRun['stopReason']>> {
    const { topic, partSizeBytes } = this.config;
    const parseRecord = this.options.hooks?.parseRecord;
    const writerFor = () => {
      let writer = writers.get(partition);
      if (!writer) {
        const pending = this.state.pending;
        // A new part starts where the partition's last finished part (now in the state) ended.
        const firstOffset =
          resumeOffset(pending, pending?.startOffsets ?? this.state.offsets, partition) ?? '0';
        writer = new PartWriter(this.options.sink, {
          prefix: this.config.output.prefix,
          topic,
          window,
          partition,
          sequence: sequences.get(partition) ?? 0,
          firstOffset,
          compression: this.config.compression,
          layout: partLayoutOf(this.config),
        });
        writers.set(partition, writer);
      }
      return writer;
    };
    for (const { record, placement } of placed) {
      const writer = writerFor();
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
      if (writer.bytes >= partSizeBytes) {
        const next = (BigInt(record.offset) + 1n).toString();
        await this.finishPart(window, writer, next);
        writers.delete(partition);
        sequences.set(partition, writer.start.sequence + 1);
        // A part boundary is a safe point: a large fetched batch does not carry the run past its deadline.
        const stop = this.stopReason();
        if (stop) return stop;
      }
    }
    await writers.get(partition)?.flush();
    return undefined;
  }

  private pendingFor(window: WindowBounds): PendingBatch {
    return (
      this.state.pending ?? {
        windowStartMs: window.startMs,
        windowEndMs: window.endMs,
        startOffsets: { ...this.state.offsets },
        endOffsets: null,
        closedAtMs: null,
        parts: [],
      }
    );
  }

  private async finishPart(
    window: WindowBounds,
    writer: PartWriter,
    nextOffset: string,
  ): Promise<FinishedPart> {
    const part = await writer.finish(nextOffset);
    const pending = this.pendingFor(window);
    await this.save({ ...this.state, pending: { ...pending, parts: [...pending.parts, part] } });
    return part;
  }

  private async closeWindow(
    window: WindowBounds,
    endOffsets: Record<string, string>,
    writers: Map<number, PartWriter>,
    nextWindowStartMs: number,
  ): Promise<void> {
    const { sink, source } = this.options;
    if (this.state.pending?.endOffsets == null) {
      const pending = this.pendingFor(window);
      await this.save({ ...this.state, pending: { ...pending, endOffsets, closedAtMs: this.now() } });
    }
    for (const partition of [...writers.keys()].sort((a, b) => a - b)) {
      const writer = writers.get(partition);
      if (!writer) continue;
      await this.finishPart(window, writer, endOffsets[String(partition)] ?? writer.start.firstOffset);
      writers.delete(partition);
    }

    const pending = this.pendingFor(window);
    const manifest = buildManifest(this.config.topic, this.config.compression, pending, this.config.format);
    const key = manifestKey(this.config.output.prefix, this.config.topic, window);
    await sink.putObject(key, serializeManifest(manifest), MANIFEST_CONTENT_TYPE);

    await this.save({
      ...this.state,
      offsets: { ...this.state.offsets, ...endOffsets },
      nextWindowStartMs,
      pending: null,
      lastClosedWindow: {
        startMs: window.startMs,
        endMs: window.endMs,
        closedAtMs: pending.closedAtMs ?? this.now(),
        manifestKey: key,
        records: manifest.totals.records,
        startOffsets: pending.startOffsets,
      },
      windowsClosed: this.state.windowsClosed + 1,
    });

    // A window that read nothing moved no offset: the last commit still holds (and a commit with no
    // member in the group costs kafkajs a whole throwaway consumer).
    if (Object.entries(endOffsets).some(([p, offset]) => pending.startOffsets[p] !== offset)) {
      await source.commit(new Map(Object.entries(endOffsets).map(([p, offset]) => [Number(p), offset])));
    }
    this.totals.records += manifest.totals.records;
    this.totals.bytes += manifest.totals.bytes;
    this.totals.late += manifest.totals.lateRecords;
    this.totals.errors += manifest.totals.errorRecords;
    const closed = { manifest, manifestLocation: sink.locate(key) };
    this.closed.push(closed);
    this.options.listener?.onWindowClosed?.(closed);
    await this.options.hooks?.onBatchComplete?.(manifest);
  }

  private async report(outcome: RunOutcome, leaseHolder?: string): Promise<RunReport> {
    let consumerLag: number | undefined;
    if (outcome !== Outcome.LEASE_HELD && this.bounds.length > 0) {
      const bounds = await this.options.source.partitionBounds().catch(() => this.bounds);
      consumerLag = bounds.reduce((sum, b) => {
        const saved = this.state.offsets[String(b.partition)] ?? b.low;
        return sum + Math.max(0, Number(BigInt(b.high) - BigInt(saved)));
      }, 0);
    }
    const newest = this.state.lastClosedWindow;
    return {
      runId: this.options.runId,
      outcome,
      windowsClosed: this.closed,
      recordsWritten: this.totals.records,
      bytesWritten: this.totals.bytes,
      lateRecords: this.totals.late,
      errorRecords: this.totals.errors,
      retentionGapRecords: this.retentionGapRecords,
      consumerLag,
      newestWindowAgeSeconds: newest ? Math.max(0, (this.now() - newest.endMs) / 1000) : undefined,
      ...(leaseHolder === undefined ? {} : { leaseHolder }),
    };
  }
}

/**
 * Where a partition's reading resumes in a window: after its last finished part, or else at the window's
 * start offset (undefined when neither is known).
 */
function resumeOffset(
  pending: PendingBatch | null,
  startOffsets: Readonly<Record<string, string>>,
  partition: number,
): string | undefined {
  let offset = startOffsets[String(partition)];
  for (const part of pending?.parts ?? []) {
    if (part.partition === partition && (offset === undefined || BigInt(part.nextOffset) > BigInt(offset))) {
      offset = part.nextOffset;
    }
  }
  return offset;
}

/** Discards the open parts of an unfinished window: none becomes visible; finished parts stay recorded. */
async function abandon<T>(writers: ReadonlyMap<number, PartWriter>, result: T): Promise<T> {
  await Promise.all([...writers.values()].map((writer) => writer.abort()));
  return result;
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
