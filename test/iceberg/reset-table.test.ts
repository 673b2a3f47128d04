// `kafka-batch-puller reset` of a pipeline that lands an Iceberg table, as real processes against the
// real broker, moto and the REST catalog, read back by pyiceberg: the reset takes the windows it re-lands
// off the table's main branch, so the next run commits them again and the table holds every record once;
// and it refuses, changing nothing, when another writer committed after those windows.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ICEBERG_METADATA_FOLDER, windowFolder } from '../../src/core/key-layout.js';
import { commitWindow } from '../../src/iceberg/commit-window.js';
import { dataFileEntriesOf } from '../../src/iceberg/data-files.js';
import { SummaryKey } from '../../src/iceberg/window-snapshot.js';
import {
  createBucket,
  createTopic,
  listKeys,
  produce,
  s3,
  storedOffsets,
  type TestRecord,
  uniqueName,
} from '../support/bed.js';
import { runCli } from '../support/cli.js';
import { catalogUrl, icebergFlags, icebergIo, readWithPyiceberg, record, writePart } from './catalog-bed.js';

const INTERVAL_MS = 10_000;
const NAMESPACE = 'reset_tests';
const folders: string[] = [];
let url: string;

beforeAll(async () => {
  url = await catalogUrl();
  await (await icebergIo(url)).catalog.createNamespaceIfMissing([NAMESPACE]);
});

afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A pipeline that has landed 4 windows of 5 records per partition (2 partitions) in S3 and its table. */
async function landedIcebergPipeline() {
  const cwd = await mkdtemp(join(tmpdir(), 'kbp-reset-iceberg-'));
  folders.push(cwd);
  const topic = await createTopic(2);
  const bucket = await createBucket();
  const table = uniqueName('t').replaceAll('-', '_');
  const currentStart = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS;
  const windows = [4, 3, 2, 1].map((back) => ({
    startMs: currentStart - back * INTERVAL_MS,
    endMs: currentStart - (back - 1) * INTERVAL_MS,
  }));
  const records: TestRecord[] = windows.flatMap((window) =>
    [0, 1].flatMap((partition) =>
      Array.from({ length: 5 }, (_, i) => ({
        partition,
        timestamp: window.startMs + i * 1_000,
        value: JSON.stringify({ amount: i }),
      })),
    ),
  );
  await produce(topic, records);
  const location = `s3://${bucket}/topic=${topic}/${ICEBERG_METADATA_FOLDER}`;
  const tableFlags = icebergFlags(url, NAMESPACE, table, location);
  const pipeline = ['--topic', topic, '--group-id', uniqueName('g'), '--output', `s3://${bucket}`];
  const run = () =>
    runCli(
      [
        'run',
        ...pipeline,
        ...tableFlags,
        '--format',
        'parquet',
        '--value-format',
        'json',
        '--column',
        'amount:bigint:amount',
        '--batch-interval-seconds',
        '10',
        '--poll-interval-seconds',
        '1',
        '--once',
      ],
      { cwd },
    );
  const first = await run();
  expect(first.code, first.stderr).toBe(0);
  const reset = (at: number) =>
    runCli(
      ['reset', ...pipeline, '--format', 'parquet', ...tableFlags, '--to-time', new Date(at).toISOString()],
      {
        cwd,
      },
    );
  return { cwd, topic, bucket, table, windows, run, reset };
}

/** Deletes the objects of the windows from `fromMs` on (the table's metadata apart), as the runbook says. */
async function removeWindowsFrom(bucket: string, topic: string, fromMs: number): Promise<void> {
  const from = windowFolder('', topic, { startMs: fromMs, endMs: fromMs + INTERVAL_MS });
  for (const key of await listKeys(bucket)) {
    if (key < from || key.includes(`/${ICEBERG_METADATA_FOLDER}/`)) continue;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
}

const windowStarts = (snapshots: ReadonlyArray<{ summary: Record<string, string> }>) =>
  snapshots.map((s) => s.summary[SummaryKey.WINDOW_START]);

describe('reset of a pipeline that lands an Iceberg table', () => {
  it('takes the windows it re-lands off main; the next run commits them again, every record once', async () => {
    const { topic, bucket, table, windows, run, reset } = await landedIcebergPipeline();
    const landed = await readWithPyiceberg(NAMESPACE, table);
    expect(landed.snapshots).toHaveLength(4);
    const target = windows[2] as (typeof windows)[number];
    await removeWindowsFrom(bucket, topic, target.startMs);

    const result = await reset(target.startMs);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^table {9}2 window\(s\) taken off main \(.+\), main at snapshot \d+$/m);
    const rolledBack = await readWithPyiceberg(NAMESPACE, table);
    expect(rolledBack.snapshots).toEqual(landed.snapshots.slice(0, 2));

    const again = await run();
    expect(again.code, again.stderr).toBe(0);
    const read = await readWithPyiceberg(NAMESPACE, table);
    expect(windowStarts(read.snapshots)).toEqual(windowStarts(landed.snapshots));
    expect(read.rows.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(
      (await storedOffsets(topic)).sort(),
    );
  });

  it('refuses, changing neither the table nor the state, when another writer committed after those windows', async () => {
    const { cwd, topic, bucket, table, windows, reset } = await landedIcebergPipeline();
    const io = await icebergIo(url);
    const loaded = await io.catalog.loadTable({ namespace: [NAMESPACE], name: table });
    const schema = loaded?.metadata.schemas.find(
      (s) => s['schema-id'] === loaded.metadata['current-schema-id'],
    );
    if (schema === undefined) throw new Error('the table has no schema');
    const part = await writePart(bucket, `other/${randomUUID()}.parquet`, [record(0, 0, Date.now())]);
    const theirs = dataFileEntriesOf([part], (key) => `s3://${bucket}/${key}`, schema);
    const now = Date.now();
    await commitWindow(
      io,
      { namespace: [NAMESPACE], name: table },
      { pipelineId: 'other|writer', startMs: now, endMs: now + 1, endOffsets: { 0: '1' } },
      theirs,
    );
    // The catalog's own view: pyiceberg cannot read rows whose objects were moved away.
    const metadata = async () =>
      (await io.catalog.loadTable({ namespace: [NAMESPACE], name: table }))?.metadata;
    const before = await metadata();
    const state = await readFile(join(cwd, 'kafka-batch-puller-state.json'), 'utf8');
    const target = windows[2] as (typeof windows)[number];
    await removeWindowsFrom(bucket, topic, target.startMs);

    const result = await reset(target.startMs);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/committed by another writer after a window this reset would land again/);
    const after = await metadata();
    expect(after?.refs).toEqual(before?.refs);
    expect(after?.snapshots).toHaveLength(5);
    expect(after?.properties).toEqual(before?.properties);
    expect(await readFile(join(cwd, 'kafka-batch-puller-state.json'), 'utf8')).toBe(state);
  });
});
