// Streams NDJSON lines into one sink object, compressing and hashing on the way, so a part never has
// to be held in memory whole.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Compression } from '../config.js';
import { COMPRESSION_LEVELS } from '../core/compression-level.js';
import { createZstdStream } from '../core/zstd-support.js';
import type { BatchSink, CompleteOptions, ObjectUpload, WrittenObject } from '../ports.js';

const CONTENT_TYPE = 'application/x-ndjson';
/** Uncompressed bytes an object may queue for compression before a write waits. */
const COMPRESSOR_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The compressing stream for an object, or none. A level fixed by the settings keeps the bytes
 * reproducible: a retry on the same runtime writes the same object. Compressed output depends only on
 * the bytes written, not on how they were split into writes, since neither stream is flushed before its end.
 */
function compressorFor(compression: Compression, level: number | null): Transform | undefined {
  switch (compression) {
    case 'gzip':
      return createGzip({ level: level ?? COMPRESSION_LEVELS.gzip.default, chunkSize: 64 * 1024 });
    case 'zstd': {
      const zstd = createZstdStream(level ?? COMPRESSION_LEVELS.zstd.default);
      // The config refuses zstd on a runtime without it; this guards any other caller.
      if (zstd === undefined)
        throw new Error(`zstd needs Node.js 22.15 or later (this is ${process.version})`);
      return zstd;
    }
    default:
      return undefined;
  }
}

/** One object being written: lines in, compressed bytes out to the sink. */
export class ObjectWriter {
  private readonly upload: ObjectUpload;
  private readonly hash = createHash('sha256');
  private readonly compressor: Transform | undefined;
  private readonly flowing: Promise<void> | undefined;
  private storedBytes = 0;
  /** Settles when the compressor has taken in the last chunk written. */
  private lastWrite: Promise<void> = Promise.resolve();

  /** `level`: the codec's level, or null for its default. */
  constructor(sink: BatchSink, key: string, compression: Compression, level: number | null = null) {
    this.upload = sink.openObject(key, CONTENT_TYPE);
    this.compressor = compressorFor(compression, level);
    if (this.compressor !== undefined) {
      // A deep input buffer lets the thread pool compress while the main thread builds the next lines.
      this.compressor.setMaxListeners(0);
      this.flowing = pipeline(this.compressor, this.storedStream());
      this.flowing.catch(() => {}); // surfaced by finish() or abort()
    }
  }

  private storedStream(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.store(chunk).then(() => done(), done);
      },
    });
  }

  private async store(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.storedBytes += chunk.length;
    await this.upload.write(chunk);
  }

  /** Appends whole NDJSON lines: text, or its UTF-8 bytes (handed over: the caller does not reuse them). */
  async write(lines: string | Buffer): Promise<void> {
    const chunk = typeof lines === 'string' ? Buffer.from(lines, 'utf8') : lines;
    if (this.compressor === undefined) {
      await this.store(chunk);
      return;
    }
    const compressor = this.compressor;
    this.lastWrite = new Promise((resolve) => compressor.write(chunk, () => resolve()));
    if (this.compressor.writableLength > COMPRESSOR_BUFFER_BYTES)
      await Promise.race([once(this.compressor, 'drain'), this.flowing]);
  }

  /** Completes the object, create-only (see `ObjectUpload.complete`); it is visible under its key when this resolves. */
  async finish(options?: CompleteOptions): Promise<WrittenObject> {
    if (this.compressor !== undefined) {
      // End only once every chunk is in: Node's zlib gives a chunk still queued at end() the codec's end
      // flag, and zstd then frames its last block differently (9 more bytes), so the bytes would depend on
      // whether the thread pool had caught up. gzip's bytes do not, but one rule serves both.
      await Promise.race([this.lastWrite, this.flowing]);
      this.compressor.end();
      await this.flowing;
    }
    const written = { bytes: this.storedBytes, sha256: this.hash.digest('hex') };
    await this.upload.complete(written, options);
    return written;
  }

  /** Discards the object: nothing becomes visible. */
  async abort(): Promise<void> {
    this.compressor?.destroy();
    await this.flowing?.catch(() => {});
    await this.upload.abort();
  }
}
