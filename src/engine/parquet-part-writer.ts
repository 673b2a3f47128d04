// Streams the rows of one part into one Parquet object: rows are buffered until a row group's worth,
// then that row group is encoded, compressed by Parquet's codec, hashed and sent to the sink, so a part
// is never held in memory whole. The footer (schema, row group index) is written by finish().
//
// hyparquet-writer (pure JavaScript, no install scripts, snappy built in) is used because it writes row
// groups one at a time to a caller's writer, with no timestamps or random ids in the file, and bundles
// into the Lambda as plain JS (its one dependency, hyparquet, is pure JS too). Weighed against it:
// parquet-wasm with apache-arrow (a Rust/WASM module to load and to teach esbuild to bundle, writing
// from Arrow tables, so each row group is first built as an Arrow table in memory) and @dsnp/parquetjs
// (a fork of parquetjs whose dependencies include the S3 client, thrift, brotli-wasm, xxhash-wasm and a
// virtual file system, and which decides row groups by its own buffering).
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { Compression } from '../config.js';
import {
  type ParquetCell,
  type ParquetLayout,
  type ParquetRow,
  parquetColumnNames,
  parquetSchema,
} from '../core/parquet-schema.js';
import { zstdCompressor } from '../core/zstd-support.js';
import type { BatchSink, CompleteOptions, ObjectUpload, WrittenObject } from '../ports.js';

const CONTENT_TYPE = 'application/vnd.apache.parquet';
/** Row bytes buffered before they are written as one row group: bounds memory, whatever the part size. */
export const ROW_GROUP_BYTES = 8 * 1024 * 1024;

/** The row group size for parts of `partSizeBytes`: at most ROW_GROUP_BYTES, and at least four per part. */
export function rowGroupBytesFor(partSizeBytes: number): number {
  return Math.min(ROW_GROUP_BYTES, Math.ceil(partSizeBytes / 4));
}
/** Encoded bytes handed to the upload at a time. */
const CHUNK_BYTES = 1024 * 1024;
/** Named in the file's footer; fixed, so the same rows give the same bytes on every run. */
const CREATED_BY = 'kafka-batch-puller';

type Row = Readonly<Record<string, ParquetCell>>;
type Codec = 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED';

function codecOf(compression: Compression): Codec {
  switch (compression) {
    case 'snappy':
      return 'SNAPPY';
    case 'gzip':
      return 'GZIP';
    case 'zstd':
      return 'ZSTD';
    default:
      return 'UNCOMPRESSED';
  }
}

/** One Parquet object being written: rows in, row groups out to the sink. */
export class ParquetObjectWriter {
  private readonly upload: ObjectUpload;
  private readonly hash = createHash('sha256');
  private readonly bytesOut = new ByteWriter(CHUNK_BYTES * 2);
  private readonly parquet: ParquetWriter;
  private readonly names: readonly string[];
  private rows: Row[] = [];
  /** Row groups cut and not yet written. */
  private groups: Row[][] = [];
  private bufferedBytes = 0;
  private storedBytes = 0;
  private pendingUpload: Promise<void> = Promise.resolve();

  constructor(
    sink: BatchSink,
    key: string,
    compression: Compression,
    layout: ParquetLayout,
    private readonly rowGroupBytes = ROW_GROUP_BYTES,
  ) {
    this.upload = sink.openObject(key, CONTENT_TYPE);
    this.names = parquetColumnNames(layout);
    // Encoded bytes go to the upload every CHUNK_BYTES, so the encoding buffer stays small; the writer
    // awaits the upload at the end of each row group (flush), which is the backpressure.
    const grow = this.bytesOut.ensure.bind(this.bytesOut);
    Object.assign(this.bytesOut, {
      flush: () => this.drain(),
      ensure: (size: number) => {
        if (this.bytesOut.index >= CHUNK_BYTES) void this.drain();
        grow(size);
      },
    });
    const zstd = zstdCompressor();
    this.parquet = new ParquetWriter({
      writer: this.bytesOut,
      schema: parquetSchema(layout) as ConstructorParameters<typeof ParquetWriter>[0]['schema'],
      codec: codecOf(compression),
      compressors: {
        GZIP: (input) => zlib.gzipSync(input, { level: 6 }),
        ...(zstd ? { ZSTD: zstd } : {}),
      },
      createdBy: CREATED_BY,
    });
  }

  /** Takes the bytes encoded so far and sends them on; resolves when the sink has them. */
  private drain(): Promise<void> {
    if (this.bytesOut.index === 0) return this.pendingUpload;
    const chunk = Buffer.from(this.bytesOut.getBytes());
    this.bytesOut.index = 0;
    this.hash.update(chunk);
    this.storedBytes += chunk.length;
    this.pendingUpload = this.pendingUpload.then(() => this.upload.write(chunk));
    // A failed write surfaces at the next awaited flush or finish, not as an unhandled rejection.
    this.pendingUpload.catch(() => {});
    return this.pendingUpload;
  }

  /**
   * Adds one row. Row groups are cut by the rows' bytes alone (never by when records arrived), so a part
   * written again has the same row groups and bytes; `flush` writes the groups cut so far.
   */
  add(row: ParquetRow): void {
    this.rows.push(row.cells);
    this.bufferedBytes += row.bytes;
    if (this.bufferedBytes >= this.rowGroupBytes) this.cutRowGroup();
  }

  private cutRowGroup(): void {
    if (this.rows.length === 0) return;
    this.groups.push(this.rows);
    this.rows = [];
    this.bufferedBytes = 0;
  }

  /** Encodes and sends the row groups cut so far. */
  async flush(): Promise<void> {
    for (let rows = this.groups.shift(); rows !== undefined; rows = this.groups.shift()) {
      const columnData = this.names.map((name) => ({ name, data: rows.map((row) => row[name] ?? null) }));
      await this.parquet.write({
        columnData: columnData as Parameters<ParquetWriter['write']>[0]['columnData'],
        rowGroupSize: rows.length,
      });
    }
  }

  /**
   * Writes the last row group and the footer, and completes the object create-only (see
   * `ObjectUpload.complete`); it is visible under its key when this resolves.
   */
  async finish(options?: CompleteOptions): Promise<WrittenObject> {
    this.cutRowGroup();
    await this.flush();
    await this.parquet.finish();
    await this.drain();
    const written = { bytes: this.storedBytes, sha256: this.hash.digest('hex') };
    await this.upload.complete(written, options);
    return written;
  }

  /** Discards the object: nothing becomes visible. */
  async abort(): Promise<void> {
    this.rows = [];
    this.groups = [];
    await this.pendingUpload.catch(() => {});
    await this.upload.abort();
  }
}
