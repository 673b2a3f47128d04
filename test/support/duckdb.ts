// An independent reader for the tests: DuckDB, with its own Parquet and JSON readers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** Runs one query in a fresh in-memory DuckDB; rows as JSON values (BIGINT and timestamps as text). */
export async function duckdb(sql: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Array<Record<string, unknown>>;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A SQL string literal. */
export const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A SQL list of file paths. */
export const sqlFiles = (files: readonly string[]) => `[${files.map(sqlText).join(', ')}]`;

/** Runs `query(file)` over a Parquet object's bytes, saved to a temporary file. */
export async function queryParquetBytes(
  bytes: Buffer,
  query: (file: string) => string,
): Promise<Array<Record<string, unknown>>> {
  const folder = await mkdtemp(join(tmpdir(), 'kbp-part-'));
  try {
    const file = join(folder, 'part.parquet');
    await writeFile(file, bytes);
    return await duckdb(query(sqlText(file)));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The `partition`/`offset` of each row of a Parquet object, in file order. */
export async function parquetRecordIds(bytes: Buffer): Promise<Array<{ partition: number; offset: number }>> {
  const rows = await queryParquetBytes(
    bytes,
    (file) => `select partition, "offset" from read_parquet(${file})`,
  );
  return rows.map((row) => ({ partition: Number(row.partition), offset: Number(row.offset) }));
}
