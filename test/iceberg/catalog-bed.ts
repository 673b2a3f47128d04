// The Iceberg side of the test bed: the REST catalog (started by scripts/iceberg.sh unless
// ICEBERG_CATALOG_URL names one), pyiceberg reading a table back, and Parquet parts of a window written
// with the puller's own writer into the emulator's S3.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { S3Sink } from '../../src/adapters/s3-sink.js';
import { type ParquetLayout, toParquetRow } from '../../src/core/parquet-schema.js';
import type { FinishedPart } from '../../src/core/pipeline-state.js';
import { FormatMismatch, ValueFormat } from '../../src/core/value-format.js';
import { ParquetObjectWriter } from '../../src/engine/parquet-part-writer.js';
import { RestTableCatalog } from '../../src/iceberg/rest-table-catalog.js';
import { S3MetadataFiles } from '../../src/iceberg/s3-metadata-files.js';
import type { SourceRecord } from '../../src/ports.js';
import { s3 } from '../support/bed.js';
import { arrangementFetch } from '../support/iam-audit/arrangement.js';

const run = promisify(execFile);
const SCRIPT = 'scripts/iceberg.sh';

/** The catalog's URL: ICEBERG_CATALOG_URL, or the bed's catalog, started now if it is not running. */
export async function catalogUrl(): Promise<string> {
  if (process.env.ICEBERG_CATALOG_URL) return process.env.ICEBERG_CATALOG_URL;
  // Fails the test file (never skips it) when the catalog cannot start.
  const { stdout } = await run('bash', [SCRIPT, 'start'], { timeout: 600_000 });
  const url = /^ICEBERG_CATALOG_URL=(.+)$/m.exec(stdout)?.[1];
  if (!url) throw new Error(`${SCRIPT} start printed no ICEBERG_CATALOG_URL: ${stdout}`);
  process.env.ICEBERG_CATALOG_URL = url;
  return url;
}

/** One snapshot of main as pyiceberg reads it. */
export interface ReadSnapshot {
  readonly snapshotId: string;
  readonly parentId: string | null;
  readonly sequenceNumber: number;
  readonly summary: Record<string, string>;
}

/** A table as pyiceberg reads it (see scripts/read-iceberg.py). */
export interface ReadTable {
  readonly snapshots: ReadSnapshot[];
  readonly rowCount: number;
  readonly rows: Array<Record<string, unknown> & { partition: number; offset: string }>;
}

/** Reads a table with pyiceberg, an independent reader, through the same catalog and S3. */
export async function readWithPyiceberg(namespace: string, table: string): Promise<ReadTable> {
  const { stdout } = await run('bash', [SCRIPT, 'read', namespace, table], {
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ICEBERG_CATALOG_URL: await catalogUrl() },
  });
  return JSON.parse(stdout) as ReadTable;
}

/** The CLI flags that land a pipeline's windows in table `namespace.table` of the catalog at `url`. */
export function icebergFlags(url: string, namespace: string, table: string, location?: string): string[] {
  return [
    '--table-format',
    'iceberg',
    '--iceberg-catalog-url',
    url,
    '--iceberg-namespace',
    namespace,
    '--iceberg-table',
    table,
    ...(location === undefined ? [] : ['--iceberg-table-location', location]),
  ];
}

/** The REST catalog adapter and S3 metadata files, pointed at the bed. */
export async function icebergIo(uri?: string) {
  return {
    catalog: new RestTableCatalog({ uri: uri ?? (await catalogUrl()), fetch: arrangementFetch }),
    files: new S3MetadataFiles(s3),
  };
}

/** The layout the tests write: text keys and JSON values with one declared column. */
export const LAYOUT: ParquetLayout = {
  keyFormat: ValueFormat.STRING,
  valueFormat: ValueFormat.JSON,
  columns: [{ name: 'amount', type: 'bigint', path: 'amount' }],
};

/** A record of partition `partition` at `offset`, its value carrying the amount `offset * 10`. */
export function record(partition: number, offset: number, timestampMs: number): SourceRecord {
  return {
    partition,
    offset: String(offset),
    timestampMs,
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(JSON.stringify({ amount: offset * 10 })),
    headers: [['h', Buffer.from('v')]],
  };
}

/** Writes one Parquet part of `records` (one partition's) to `key` in `bucket`, as the puller would. */
export async function writePart(
  bucket: string,
  key: string,
  records: readonly SourceRecord[],
  layout: ParquetLayout = LAYOUT,
): Promise<FinishedPart> {
  const first = records[0];
  const last = records.at(-1);
  if (first === undefined || last === undefined) throw new Error('a part needs records');
  const writer = new ParquetObjectWriter(new S3Sink(s3, bucket), key, 'snappy', layout);
  for (const r of records) {
    const row = toParquetRow('topic-a', r, layout);
    if (row instanceof FormatMismatch) throw new Error(row.reason);
    writer.add(row);
  }
  const written = await writer.finish();
  const timestamps = records.map((r) => r.timestampMs);
  return {
    partition: first.partition,
    sequence: 0,
    key,
    firstOffset: first.offset,
    nextOffset: String(Number(last.offset) + 1),
    records: records.length,
    lateRecords: 0,
    errorRecords: 0,
    bytes: written.bytes,
    sha256: written.sha256,
    minTimestampMs: Math.min(...timestamps),
    maxTimestampMs: Math.max(...timestamps),
    errorsKey: null,
    errorsBytes: 0,
    errorsSha256: null,
  };
}
