// A shard's parts: one open part per partition being written, cut by size (or at the deadline) and at
// the partition's end, each finished part recorded in its partition's share of the pending window. Every
// writer of a part, whichever attempt it belongs to, writes the same bytes under the same key.
import type { WindowBounds } from '../core/key-layout.js';
import { mapBounded } from '../core/map-bounded.js';
import {
  PartMismatch,
  PartRefused,
  partsOf,
  recordedEnd,
  resumeOffset,
  withPart,
} from '../core/pending-batch.js';
import type { FinishedPart, PendingBatch } from '../core/pipeline-state.js';
import { type ErrorRow, toNdjsonLine, toOutputRow } from '../core/record-format.js';
import { RegistryDecoder } from '../core/registry-decoder.js';
import { type PlacedRecord, Placement } from '../core/window-rule.js';
import { AttemptSupersededError, WindowIntegrityError } from '../errors.js';
import type { AttemptStore } from './attempt-store.js';
import { partLayoutOf } from './part-layout.js';
import { NEW_PART, PartWriter } from './part-writer.js';
import { learnSchemas } from './schema-lookups.js';
import type { StepClock, StopReason } from './step-clock.js';
import type { StepContext } from './step-types.js';

/** Last parts finished at once when a shard closes its partitions: the sink's requests in flight. */
const PARTS_FINISHING_AT_ONCE = 32;

/** The parts one shard writes in one window, open and finished. */
export class ShardParts {
  private readonly writers = new Map<number, PartWriter>();
  /** Per partition, the sequence number of its next part. */
  private readonly sequences = new Map<number, number>();
  /** Records in finished parts, per partition. */
  private readonly records = new Map<number, number>();
  /** Per partition with an open part, where the records written to it end: a deadline cuts it there. */
  private readonly writtenTo = new Map<number, string>();
  private current: PendingBatch;
  /** Decodes `confluent` and `glue` keys and values; absent when the pipeline reads none. */
  private readonly registry: RegistryDecoder | undefined;

  constructor(
    private readonly ctx: StepContext,
    private readonly store: AttemptStore,
    private readonly clock: StepClock,
    private readonly window: WindowBounds,
    pending: PendingBatch,
    partitions: readonly number[],
  ) {
    this.current = pending;
    if (RegistryDecoder.isNeeded(ctx.config) && !ctx.hooks?.parseRecord) {
      if (!ctx.schemas) throw new Error('a registry-encoded key or value format needs a schema source');
      this.registry = new RegistryDecoder(ctx.config);
    }
    for (const partition of partitions) this.sequences.set(partition, partsOf(pending, partition).length);
  }

  /** The pending window as this shard knows it: as read, with the parts it has recorded since. */
  get pending(): PendingBatch {
    return this.current;
  }

  /** Whether `partition` has a part, open or recorded. */
  hasParts(partition: number): boolean {
    return this.writers.has(partition) || partsOf(this.current, partition).length > 0;
  }

  /** Records written so far: in finished parts and in open ones (data rows, late included). */
  writtenSoFar(): number {
    const open = [...this.writers.values()].reduce((sum, writer) => sum + writer.records, 0);
    return open + this.finishedRecords();
  }

  /** Records in finished parts. */
  finishedRecords(): number {
    return [...this.records.values()].reduce((sum, n) => sum + n, 0);
  }

  /**
   * Writes placed records of `partition` to its open part, cutting it by size. Answers why the shard
   * must stop, when a part boundary finds it must.
   */
  async write(partition: number, placed: readonly PlacedRecord[]): Promise<StopReason | undefined> {
    const { topic, partSizeBytes } = this.ctx.config;
    const parseRecord = this.ctx.hooks?.parseRecord;
    await this.lookUpSchemas(placed);
    for (const { record, placement } of placed) {
      let writer = this.writerFor(partition);
      const late = placement === Placement.LATE;
      if (placement === Placement.BAD_TIMESTAMP) {
        writer.addError(errorLine(toOutputRow(topic, record), badTimestampReason(record.timestampMs)));
      } else if (!parseRecord) {
        let mismatch = writer.addRecord(record, late);
        if (mismatch === NEW_PART) {
          // The value's schema adds columns the part lacks: the part ends before it, the next begins with it.
          await this.cutPart(partition, writer);
          writer = this.writerFor(partition);
          mismatch = writer.addRecord(record, late);
          if (mismatch === NEW_PART) throw new Error('a new part refused its first record');
        }
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

  /**
   * Finishes the last parts of `done` partitions, each at its recorded end (`endOf`), and records them
   * together. Bounded: a shard may close thousands of partitions at once, each a request to the sink.
   */
  async finishLast(done: readonly number[], endOf: (partition: number) => string | undefined): Promise<void> {
    const finished = await mapBounded(done, PARTS_FINISHING_AT_ONCE, async (partition) => {
      const writer = this.writers.get(partition);
      if (!writer) return undefined;
      const part = await writer.finish(
        endOf(partition) ?? writer.start.firstOffset,
        this.replaceCheck(partition, writer.start.sequence),
      );
      this.writers.delete(partition);
      this.writtenTo.delete(partition);
      this.records.set(partition, (this.records.get(partition) ?? 0) + writer.records);
      return part;
    });
    const parts = finished.filter((part): part is FinishedPart => part !== undefined);
    if (parts.length > 0) await this.recordParts(parts);
  }

  /**
   * Cuts the open parts where their records end and records them, the largest first, while the clock is
   * before `cutByMs`; the rest stay open (for `abandonOpen`).
   */
  async cutOpen(cutByMs: number): Promise<void> {
    const open = [...this.writers].sort(([, a], [, b]) => b.bytes - a.bytes);
    await mapBounded(open, PARTS_FINISHING_AT_ONCE, async ([partition, writer]) => {
      if (writer.bytes > 0 && this.clock.now() < cutByMs) await this.cutPart(partition, writer);
    });
  }

  /** Discards the open parts: none becomes visible; finished parts stay recorded. */
  async abandonOpen(): Promise<void> {
    await Promise.all([...this.writers.values()].map((writer) => writer.abort()));
    this.writers.clear();
    this.writtenTo.clear();
  }

  /**
   * Looks up the schemas the batch's keys and values name that the decoder does not know yet, so its
   * records are then encoded without waiting (and without a wait when every schema is known). Each is
   * learnt in id order, whenever its answer came. A registry that cannot answer fails the shard here,
   * before any of the batch is written: the window is left for the next run.
   */
  private async lookUpSchemas(placed: readonly PlacedRecord[]): Promise<void> {
    const { registry } = this;
    if (!registry) return;
    const ids = registry.unknownIds(
      placed.filter((p) => p.placement !== Placement.BAD_TIMESTAMP).map((p) => p.record),
    );
    if (ids.length === 0) return;
    await learnSchemas(registry, this.ctx.schemas as NonNullable<StepContext['schemas']>, ids);
  }

  private writerFor(partition: number): PartWriter {
    let writer = this.writers.get(partition);
    if (!writer) {
      const { config } = this.ctx;
      // A new part starts where the partition's last finished part ended.
      writer = new PartWriter(
        this.ctx.sink,
        {
          prefix: config.output.prefix,
          topic: config.topic,
          window: this.window,
          partition,
          sequence: this.sequences.get(partition) ?? 0,
          firstOffset: resumeOffset(this.current, this.current.startOffsets, partition) ?? '0',
          compression: config.compression,
          layout: partLayoutOf(config),
        },
        this.registry,
      );
      this.writers.set(partition, writer);
    }
    return writer;
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
    this.current = { ...this.current, parts: [...this.current.parts, ...parts] };
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
      if (current.id !== this.current.id) refuse(`the window was planned again as ${current.id}`);
      const recorded = partsOf(current, partition).find((part) => part.sequence === sequence);
      if (recorded) refuse(`another writer recorded it, up to offset ${recorded.nextOffset}`);
      const end = recordedEnd(current, partition);
      if (end !== undefined && BigInt(nextOffset) > BigInt(end))
        refuse(`the partition's end is recorded as ${end}, and this part reaches ${nextOffset}`);
      return true;
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
