// One partition's open part of a window: its data object and (when needed) its errors object, with the
// counts the manifest and the state record. A part is cut after the record that brings its uncompressed
// size to the part size, so the cut points depend only on the records, never on fetch timing.
import type { Compression } from '../config.js';
import { errorsKey, partKey, type WindowBounds } from '../core/key-layout.js';
import type { FinishedPart } from '../core/pipeline-state.js';
import type { BatchSink } from '../ports.js';
import { ObjectWriter } from './object-writer.js';

/** Identifies a part: which window, partition and sequence number, and where its offsets start. */
export interface PartStart {
  readonly prefix: string;
  readonly topic: string;
  readonly window: WindowBounds;
  readonly partition: number;
  readonly sequence: number;
  readonly firstOffset: string;
  readonly compression: Compression;
}

/** A partition's part being written. Lines are buffered per fetched batch and flushed in one write. */
export class PartWriter {
  private data: ObjectWriter | undefined;
  private errors: ObjectWriter | undefined;
  private dataText = '';
  private errorsText = '';
  records = 0;
  lateRecords = 0;
  errorRecords = 0;
  minTimestampMs: number | null = null;
  maxTimestampMs: number | null = null;
  /** Uncompressed bytes of data and error lines: what the part size is measured against. */
  bytes = 0;

  constructor(
    private readonly sink: BatchSink,
    readonly start: PartStart,
  ) {}

  private key(): string {
    const s = this.start;
    return partKey(s.prefix, s.topic, s.window, s.partition, s.sequence, s.compression);
  }

  private errorsKey(): string {
    const s = this.start;
    return errorsKey(s.prefix, s.topic, s.window, s.partition, s.sequence, s.compression);
  }

  private noteTimestamp(timestampMs: number): void {
    this.minTimestampMs =
      this.minTimestampMs === null ? timestampMs : Math.min(this.minTimestampMs, timestampMs);
    this.maxTimestampMs =
      this.maxTimestampMs === null ? timestampMs : Math.max(this.maxTimestampMs, timestampMs);
  }

  /** Adds one data row (an NDJSON line). */
  addRow(line: string, timestampMs: number, late: boolean): void {
    this.dataText += line;
    this.bytes += Buffer.byteLength(line);
    this.records += 1;
    if (late) this.lateRecords += 1;
    this.noteTimestamp(timestampMs);
  }

  /** Adds one error row (an NDJSON line). */
  addError(line: string): void {
    this.errorsText += line;
    this.bytes += Buffer.byteLength(line);
    this.errorRecords += 1;
  }

  /** Sends the buffered lines to the sink. */
  async flush(): Promise<void> {
    if (this.dataText !== '') {
      this.data ??= new ObjectWriter(this.sink, this.key(), this.start.compression);
      const text = this.dataText;
      this.dataText = '';
      await this.data.write(text);
    }
    if (this.errorsText !== '') {
      this.errors ??= new ObjectWriter(this.sink, this.errorsKey(), this.start.compression);
      const text = this.errorsText;
      this.errorsText = '';
      await this.errors.write(text);
    }
  }

  /** Completes the part's objects; `nextOffset` is where its offset range ends. */
  async finish(nextOffset: string): Promise<FinishedPart> {
    await this.flush();
    const [data, errors] = await Promise.all([this.data?.finish(), this.errors?.finish()]);
    return {
      partition: this.start.partition,
      sequence: this.start.sequence,
      key: this.key(),
      firstOffset: this.start.firstOffset,
      nextOffset,
      records: this.records,
      lateRecords: this.lateRecords,
      errorRecords: this.errorRecords,
      bytes: data?.bytes ?? 0,
      sha256: data?.sha256 ?? '',
      minTimestampMs: this.minTimestampMs,
      maxTimestampMs: this.maxTimestampMs,
      errorsKey: errors ? this.errorsKey() : null,
      errorsBytes: errors?.bytes ?? 0,
      errorsSha256: errors?.sha256 ?? null,
    };
  }

  /** Discards the part: neither object becomes visible. */
  async abort(): Promise<void> {
    await Promise.all([this.data?.abort(), this.errors?.abort()]);
  }
}
