// A window's manifest: what a loader needs to trust a batch (bounds, offset ranges, counts, objects
// and their checksums). Built from the pending batch alone, so a retry writes the same bytes. Pure.
import type { Compression } from '../config.js';
import type { FinishedPart, PendingBatch } from './pipeline-state.js';
import { OutputFormat } from './value-format.js';

/** One partition's share of a window. */
export interface ManifestPartition {
  readonly partition: number;
  /** First offset of the window's range. */
  readonly startOffset: string;
  /** Next offset after the window's range: the range is `[startOffset, endOffset)`. */
  readonly endOffset: string;
  readonly records: number;
  readonly lateRecords: number;
  readonly errorRecords: number;
  readonly minTimestamp: number | null;
  readonly maxTimestamp: number | null;
}

/** One object the window wrote. */
export interface ManifestObject {
  readonly key: string;
  /** `data`: one row per record; `errors`: records that could not be written as rows, with the reason. */
  readonly kind: 'data' | 'errors';
  readonly partition: number;
  readonly sequence: number;
  /** Offsets this object's slice covers: `[firstOffset, nextOffset)`. */
  readonly firstOffset: string;
  readonly nextOffset: string;
  readonly records: number;
  readonly bytes: number;
  /** SHA-256 of the object's bytes as stored, hex. */
  readonly sha256: string;
}

/** The `_manifest.json` of one window. */
export interface Manifest {
  readonly formatVersion: 1;
  readonly topic: string;
  readonly window: {
    readonly start: string;
    readonly end: string;
    readonly startMs: number;
    readonly endMs: number;
  };
  /** When the window was closed (recorded before its objects were written, so retries agree). */
  readonly closedAt: string;
  readonly compression: Compression;
  /** What the data objects are: `ndjson` or `parquet` (whose compression is its codec, inside the file). */
  readonly format: OutputFormat;
  readonly totals: {
    readonly records: number;
    readonly lateRecords: number;
    readonly errorRecords: number;
    readonly bytes: number;
    readonly objects: number;
  };
  readonly partitions: readonly ManifestPartition[];
  readonly objects: readonly ManifestObject[];
}

const byPartitionThenSequence = (a: FinishedPart, b: FinishedPart) =>
  a.partition - b.partition || a.sequence - b.sequence;

function minOf(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.min(...present);
}

function maxOf(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

/** The manifest of a closed window. */
export function buildManifest(
  topic: string,
  compression: Compression,
  pending: PendingBatch,
  format: OutputFormat = OutputFormat.NDJSON,
): Manifest {
  if (pending.endOffsets === null || pending.closedAtMs === null) {
    throw new Error('a manifest needs a closed window (end offsets and close time recorded)');
  }
  const endOffsets = pending.endOffsets;
  const parts = [...pending.parts].sort(byPartitionThenSequence);
  const partitions = Object.keys(endOffsets)
    .map(Number)
    .sort((a, b) => a - b)
    .map((partition): ManifestPartition => {
      const own = parts.filter((part) => part.partition === partition);
      return {
        partition,
        startOffset: pending.startOffsets[String(partition)] ?? endOffsets[String(partition)] ?? '0',
        endOffset: endOffsets[String(partition)] ?? '0',
        records: own.reduce((sum, part) => sum + part.records, 0),
        lateRecords: own.reduce((sum, part) => sum + part.lateRecords, 0),
        errorRecords: own.reduce((sum, part) => sum + part.errorRecords, 0),
        minTimestamp: minOf(own.map((part) => part.minTimestampMs)),
        maxTimestamp: maxOf(own.map((part) => part.maxTimestampMs)),
      };
    });
  const objects: ManifestObject[] = [];
  for (const part of parts) {
    const slice = {
      partition: part.partition,
      sequence: part.sequence,
      firstOffset: part.firstOffset,
      nextOffset: part.nextOffset,
    };
    if (part.records > 0) {
      objects.push({
        key: part.key,
        kind: 'data',
        ...slice,
        records: part.records,
        bytes: part.bytes,
        sha256: part.sha256,
      });
    }
    if (part.errorsKey !== null && part.errorsSha256 !== null) {
      objects.push({
        key: part.errorsKey,
        kind: 'errors',
        ...slice,
        records: part.errorRecords,
        bytes: part.errorsBytes,
        sha256: part.errorsSha256,
      });
    }
  }
  return {
    formatVersion: 1,
    topic,
    window: {
      start: new Date(pending.windowStartMs).toISOString(),
      end: new Date(pending.windowEndMs).toISOString(),
      startMs: pending.windowStartMs,
      endMs: pending.windowEndMs,
    },
    closedAt: new Date(pending.closedAtMs).toISOString(),
    compression,
    format,
    totals: {
      records: partitions.reduce((sum, p) => sum + p.records, 0),
      lateRecords: partitions.reduce((sum, p) => sum + p.lateRecords, 0),
      errorRecords: partitions.reduce((sum, p) => sum + p.errorRecords, 0),
      bytes: objects.reduce((sum, o) => sum + o.bytes, 0),
      objects: objects.length,
    },
    partitions,
    objects,
  };
}

/** The manifest as stored: pretty JSON with a final newline, byte-identical for the same window. */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}
