// One partition's open part of a window: its data object and (when needed) its errors object, with the
// counts the manifest and the state record. A part is cut after the record that brings its uncompressed
// size to the part size, so the cut points depend only on the records, never on fetch timing. The data
// object is NDJSON (lines) or Parquet (rows in row groups); the errors object is always NDJSON.
import type { Compression } from '../config.js';
import { errorsKey, partKey, type WindowBounds } from '../core/key-layout.js';
import { NdjsonBuffer } from '../core/ndjson-encoder.js';
import { type ParquetLayout, type TypedValueReader, toParquetRow } from '../core/parquet-schema.js';
import type { FinishedPart } from '../core/pipeline-state.js';
import { formattedNdjsonLine } from '../core/record-format.js';
import type { PartValues, RegistryDecoder } from '../core/registry-decoder.js';
import {
  type DocumentReader,
  decodedWithRegistry,
  FormatMismatch,
  OutputFormat,
  ValueFormat,
} from '../core/value-format.js';
import type { BatchSink, SourceRecord } from '../ports.js';
import { ObjectWriter } from './object-writer.js';
import { ParquetObjectWriter } from './parquet-part-writer.js';

/** How a part's records become rows: the data objects' format, how keys and values are read, declared columns. */
export interface PartLayout extends ParquetLayout {
  readonly format: OutputFormat;
  /** Parquet: row bytes buffered before a row group is written. */
  readonly rowGroupBytes: number;
  /** NDJSON: the level of its gzip or zstd; null for the codec's default (or a codec without levels). */
  readonly compressionLevel: number | null;
}

/** Identifies a part: which window, partition and sequence number, and where its offsets start. */
export interface PartStart {
  readonly prefix: string;
  readonly topic: string;
  readonly window: WindowBounds;
  readonly partition: number;
  readonly sequence: number;
  readonly firstOffset: string;
  readonly compression: Compression;
  readonly layout: PartLayout;
}

/** What `addRecord` answers when a record's value schema needs columns the open part does not have. */
export const NEW_PART = Symbol('the record starts a new part');

/**
 * The typed values of a part none of whose rows has a value of a known schema: it has no `value` column,
 * and never takes such a value (it starts a new part); others fail to decode and go to the errors object.
 */
function noValueColumn(registry: DocumentReader): TypedValueReader {
  return {
    read: (bytes) => registry(bytes, 'value'),
    cells: () => new FormatMismatch('the part has no value column'),
  };
}

/** A partition's part being written. Lines are buffered per fetched batch and flushed in one write. */
export class PartWriter {
  private data: ObjectWriter | undefined;
  private parquet: ParquetObjectWriter | undefined;
  private readonly topicJson: string;
  private errors: ObjectWriter | undefined;
  /** The data lines of the batch being added, as UTF-8. */
  private readonly dataLines: NdjsonBuffer;
  private errorsText = '';
  records = 0;
  lateRecords = 0;
  errorRecords = 0;
  minTimestampMs: number | null = null;
  maxTimestampMs: number | null = null;
  /** Uncompressed bytes of data and error lines: what the part size is measured against. */
  bytes = 0;
  /**
   * A Parquet part's typed values: the schema its `value` column follows, decided by its first row
   * (null when that row's value is null: the part then has no `value` column); undefined until then.
   */
  private values: PartValues | null | undefined;
  /** The part's layout with its values' shape, made once they are decided. */
  private valuesLayout: ParquetLayout | undefined;

  /**
   * `registry` decodes registry-encoded keys and values, their schemas looked up before each batch; a
   * Parquet part writes such values as typed columns.
   */
  constructor(
    private readonly sink: BatchSink,
    readonly start: PartStart,
    private readonly registry?: RegistryDecoder,
  ) {
    this.topicJson = JSON.stringify(start.topic);
    this.dataLines = new NdjsonBuffer(this.topicJson);
  }

  private key(): string {
    const s = this.start;
    return partKey(s.prefix, s.topic, s.window, s.partition, s.sequence, s.compression, s.layout.format);
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

  /**
   * Adds a record as a row in the part's format; when its key or value does not fit the layout, adds
   * nothing and returns the reason (the caller writes the record to the errors object with it).
   */
  addRecord(record: SourceRecord, late: boolean): string | undefined | typeof NEW_PART {
    const s = this.start;
    if (s.layout.format === OutputFormat.PARQUET) {
      const typed = this.typedValuesFor(record);
      if (typed === NEW_PART) return NEW_PART;
      const layout = typed ? this.typedLayout() : s.layout;
      const row = toParquetRow(s.topic, record, layout, this.registry?.read, typed);
      if (row instanceof FormatMismatch) {
        // Only a row decides the part's columns: a record that makes none (its key is bad) leaves them open.
        if (this.parquet === undefined) this.values = undefined;
        return row.reason;
      }
      this.parquet ??= new ParquetObjectWriter(
        this.sink,
        this.key(),
        s.compression,
        layout,
        s.layout.rowGroupBytes,
      );
      this.parquet.add(row);
      this.countRow(row.bytes, record.timestampMs, late);
      return undefined;
    }
    if (s.layout.keyFormat === ValueFormat.STRING && s.layout.valueFormat === ValueFormat.STRING) {
      // The default line, escaped from the record's bytes straight into the batch's buffer.
      this.countRow(this.dataLines.appendDefaultLine(record), record.timestampMs, late);
      return undefined;
    }
    const line = formattedNdjsonLine(this.topicJson, record, s.layout, this.registry?.read);
    if (line instanceof FormatMismatch) return line.reason;
    this.addRow(line, record.timestampMs, late);
    return undefined;
  }

  private typedLayout(): ParquetLayout {
    const valueShape = this.values?.shape ?? null;
    if (this.valuesLayout?.valueShape !== valueShape)
      this.valuesLayout = { ...this.start.layout, valueShape };
    return this.valuesLayout;
  }

  /**
   * How a Parquet part reads `record`'s value into its typed column, deciding the part's schema at its
   * first row; NEW_PART when the value needs another part; undefined when values are not typed.
   */
  private typedValuesFor(record: SourceRecord): TypedValueReader | typeof NEW_PART | undefined {
    const { registry } = this;
    if (registry === undefined || !decodedWithRegistry(this.start.layout.valueFormat)) return undefined;
    const schema = registry.valueSchemaOf(record.value);
    if (this.values === undefined) {
      if (schema !== undefined) this.values = registry.valuesOf(schema);
      else if (record.value === null) this.values = null;
    } else if (
      schema !== undefined &&
      (this.values === null || registry.startsNewPart(this.values.schema, schema))
    ) {
      return NEW_PART;
    }
    return this.values ? this.values.reader : noValueColumn(registry.read);
  }

  private countRow(bytes: number, timestampMs: number, late: boolean): void {
    this.bytes += bytes;
    this.records += 1;
    if (late) this.lateRecords += 1;
    this.noteTimestamp(timestampMs);
  }

  /** Adds one data row (an NDJSON line; NDJSON parts only). */
  addRow(line: string, timestampMs: number, late: boolean): void {
    this.countRow(this.dataLines.appendText(line), timestampMs, late);
  }

  /** Adds one error row (an NDJSON line). */
  addError(line: string): void {
    this.errorsText += line;
    this.bytes += Buffer.byteLength(line);
    this.errorRecords += 1;
  }

  /** Sends the buffered lines to the sink. */
  async flush(): Promise<void> {
    await this.parquet?.flush();
    if (this.dataLines.length > 0) {
      this.data ??= new ObjectWriter(
        this.sink,
        this.key(),
        this.start.compression,
        this.start.layout.compressionLevel,
      );
      await this.data.write(this.dataLines.take());
    }
    if (this.errorsText !== '') {
      // Errors objects are gzip (none when the data is uncompressed), at the data's level when it is gzip too.
      const errorsCompression = this.start.compression === 'none' ? 'none' : 'gzip';
      this.errors ??= new ObjectWriter(
        this.sink,
        this.errorsKey(),
        errorsCompression,
        errorsCompression === this.start.compression ? this.start.layout.compressionLevel : null,
      );
      const text = this.errorsText;
      this.errorsText = '';
      await this.errors.write(text);
    }
  }

  /**
   * Completes the part's objects, create-only; `nextOffset` is where its offset range ends. When a key
   * already holds other bytes, `mayReplace` (given the part's offset range end) says whether they are
   * no writer's to keep (see `CompleteOptions`).
   */
  async finish(
    nextOffset: string,
    mayReplace?: (nextOffset: string) => Promise<boolean>,
  ): Promise<FinishedPart> {
    await this.flush();
    const options = mayReplace ? { mayReplace: () => mayReplace(nextOffset) } : {};
    const [data, errors] = await Promise.all([
      this.parquet?.finish(options) ?? this.data?.finish(options),
      this.errors?.finish(options),
    ]);
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
      ...(this.values ? { valueSchema: this.values.schema.id } : {}),
      ...(this.values?.schema.message ? { valueMessage: this.values.schema.message } : {}),
    };
  }

  /** Discards the part: neither object becomes visible. */
  async abort(): Promise<void> {
    await Promise.all([this.data?.abort(), this.parquet?.abort(), this.errors?.abort()]);
  }
}
