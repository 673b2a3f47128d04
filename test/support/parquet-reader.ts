// Landed batches as a user's reader sees them: S3 objects copied to a local folder under their keys, and
// the files a Hive-style table over a topic's folder reads.
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { getObject, listKeys } from './bed.js';

export { duckdb, sqlFiles, sqlText } from './duckdb.js';

/** Copies every object of `bucket` to a new local folder, under its key; returns the folder. */
export async function downloadBucket(bucket: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'kbp-landed-'));
  for (const key of await listKeys(bucket)) {
    const path = join(folder, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await getObject(bucket, key));
  }
  return folder;
}

/** Every file under `folder`, as paths relative to it, sorted. */
export async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(folder, join(e.parentPath, e.name)))
    .sort();
}

/**
 * The files a Hive-style table over `tableFolder` reads: every file below it except those whose name
 * starts with '_' or '.', which Athena, Hive and Spark treat as hidden. Absolute paths, sorted.
 */
export async function tableFiles(tableFolder: string): Promise<string[]> {
  const files = await filesUnder(tableFolder).catch(() => []);
  return files
    .filter((file) => !/^[_.]/.test(file.split('/').at(-1) ?? ''))
    .map((file) => join(tableFolder, file));
}
