// Where a window's objects go: deterministic, sortable, Hive-style keys. Pure: no I/O.
//
//   <prefix>/topic=<topic>/date=YYYY-MM-DD/hour=HH/window=<start>_<end>/part-<partition>-<sequence>.ndjson[.gz]|.parquet
//   <prefix>/topic=<topic>/date=YYYY-MM-DD/hour=HH/window=<start>_<end>/_manifest.json
//   <prefix>/errors/topic=<topic>/date=YYYY-MM-DD/hour=HH/window=<start>_<end>/part-<partition>-<sequence>.ndjson[.gz]
//
// A table over <prefix>/topic=<topic>/ (partitioned by date and hour) reads the data parts only: Athena,
// like Hive and Spark, treats objects whose names start with '_' or '.' as hidden, so it skips the
// manifest, and errors objects live outside that folder. Parquet parts carry their codec inside the
// file, so their keys have no compression suffix.
//
// <start> and <end> are ISO-8601 basic UTC times to the second (20261127T090000Z), so keys sort by
// time and hold no ':' (awkward in URLs and on some file systems). date and hour are the window start's.
import type { Compression } from '../config.js';
import { OutputFormat } from './value-format.js';

/** A window's bounds, epoch ms: `[startMs, endMs)`. */
export interface WindowBounds {
  readonly startMs: number;
  readonly endMs: number;
}

/** The names a manifest and tools look for. */
export const ManifestFileName = '_manifest.json';

function basicIso(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function join(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

/** The folder of every window of a topic. */
export function topicFolder(prefix: string, topic: string): string {
  return join(prefix, `topic=${topic}`);
}

/** The folder of one window's data objects and manifest. */
export function windowFolder(prefix: string, topic: string, window: WindowBounds): string {
  const start = new Date(window.startMs).toISOString();
  return join(
    topicFolder(prefix, topic),
    `date=${start.slice(0, 10)}`,
    `hour=${start.slice(11, 13)}`,
    `window=${basicIso(window.startMs)}_${basicIso(window.endMs)}`,
  );
}

/** The suffix an NDJSON object's compression adds: what readers (Athena, Spark, DuckDB) detect it by. */
const NDJSON_SUFFIX: Partial<Record<Compression, string>> = { gzip: '.gz', zstd: '.zst' };

function partFileName(
  partition: number,
  sequence: number,
  compression: Compression,
  format: OutputFormat,
): string {
  const extension =
    format === OutputFormat.PARQUET ? '.parquet' : `.ndjson${NDJSON_SUFFIX[compression] ?? ''}`;
  return `part-${String(partition).padStart(4, '0')}-${String(sequence).padStart(5, '0')}${extension}`;
}

/** The key of one part: partition `partition`'s `sequence`-th slice of the window. */
export function partKey(
  prefix: string,
  topic: string,
  window: WindowBounds,
  partition: number,
  sequence: number,
  compression: Compression,
  format: OutputFormat,
): string {
  return join(windowFolder(prefix, topic, window), partFileName(partition, sequence, compression, format));
}

/**
 * The key of the errors object beside a part: the records of that slice that could not be written as
 * rows. Always NDJSON (gzip unless `compression` is none), whatever the data objects are.
 */
export function errorsKey(
  prefix: string,
  topic: string,
  window: WindowBounds,
  partition: number,
  sequence: number,
  compression: Compression,
): string {
  return join(
    windowFolder(join(prefix, 'errors'), topic, window),
    partFileName(partition, sequence, compression === 'none' ? 'none' : 'gzip', OutputFormat.NDJSON),
  );
}

/** The key of a window's manifest, written after all its parts. */
export function manifestKey(prefix: string, topic: string, window: WindowBounds): string {
  return join(windowFolder(prefix, topic, window), ManifestFileName);
}

/**
 * The folder inside a pipeline's data folder where the construct keeps its Iceberg table's metadata and
 * manifests. Hidden (`_`) from readers that list the folder as Hive-style partitions (Athena, Spark).
 */
export const ICEBERG_METADATA_FOLDER = '_iceberg';
