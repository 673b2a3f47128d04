// Windows committed to a real Iceberg REST catalog (Apache Iceberg's own server, warehouse in the
// emulator's S3) and read back by pyiceberg: one snapshot per window, every row once, across repeated,
// concurrent, conflicting and unanswered commits.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ParquetLayout } from '../../src/core/parquet-schema.js';
import { commitWindow } from '../../src/iceberg/commit-window.js';
import { dataFileEntriesOf } from '../../src/iceberg/data-files.js';
import { ensureTable } from '../../src/iceberg/ensure-table.js';
import type { TableCatalog, TableIdentifier } from '../../src/iceberg/ports.js';
import { RestTableCatalog } from '../../src/iceberg/rest-table-catalog.js';
import type { WindowCommit } from '../../src/iceberg/window-snapshot.js';
import { createBucket, uniqueName } from '../support/bed.js';
import { answerDroppingProxy } from './answer-dropping-proxy.js';
import { catalogUrl, icebergIo, LAYOUT, readWithPyiceberg, record, writePart } from './catalog-bed.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');

let bucket: string;

beforeAll(async () => {
  await catalogUrl();
  bucket = await createBucket();
});

/** A new table, created as a finalize would create it. */
async function newTable(): Promise<TableIdentifier> {
  const table = { namespace: ['puller_tests'], name: uniqueName('w').replaceAll('-', '_') };
  await ensureTable((await icebergIo()).catalog, table, LAYOUT);
  return table;
}

/** Window `index` (an hour from T0) of two partitions, `perPartition` records each, as data files. */
async function windowOf(
  pipelineId: string,
  index: number,
  perPartition = 3,
  schemaTable?: TableIdentifier,
  layout: ParquetLayout = LAYOUT,
) {
  const startMs = T0 + index * HOUR;
  const parts = await Promise.all(
    [0, 1].map((partition) => {
      const records = Array.from({ length: perPartition }, (_, i) =>
        record(partition, index * perPartition + i, startMs + i * 1000),
      );
      return writePart(bucket, `data/${randomUUID()}/p${partition}.parquet`, records, layout);
    }),
  );
  const window: WindowCommit = {
    pipelineId,
    startMs,
    endMs: startMs + HOUR,
    endOffsets: { 0: String((index + 1) * perPartition), 1: String((index + 1) * perPartition) },
  };
  const io = await icebergIo();
  const loaded = await io.catalog.loadTable(schemaTable ?? { namespace: [], name: '' });
  const schema = loaded?.metadata.schemas.find(
    (s) => s['schema-id'] === loaded.metadata['current-schema-id'],
  );
  if (schema === undefined) throw new Error('the table has no schema');
  return { window, files: dataFileEntriesOf(parts, (key) => `s3://${bucket}/${key}`, schema) };
}

/** A catalog that counts the requests its commits make. */
function countingCatalog(uri: string) {
  const requests: string[] = [];
  const catalog = new RestTableCatalog({ uri, onRequest: (r) => requests.push(`${r.method} ${r.status}`) });
  return { catalog, requests };
}

describe('commitWindow', () => {
  it('lands two windows as two snapshots that pyiceberg reads, every row once, with their windows', async () => {
    const table = await newTable();
    const pipelineId = `g|${table.name}`;
    const io = await icebergIo();
    const results = [];
    for (const index of [0, 1]) {
      const { window, files } = await windowOf(pipelineId, index, 3, table);
      const counted = countingCatalog(await catalogUrl());
      const started = performance.now();
      const result = await commitWindow({ catalog: counted.catalog, files: io.files }, table, window, files);
      results.push({ result, ms: performance.now() - started, requests: counted.requests });
    }
    expect(results.map((r) => r.result.outcome)).toEqual(['committed', 'committed']);
    // One load and one commit per window (and the catalog's configuration, read once per client).
    for (const r of results) expect(r.requests).toEqual(['GET 200', 'GET 200', 'POST 200']);
    console.info(`commit per window: ${results.map((r) => `${r.ms.toFixed(0)} ms`).join(', ')}`);

    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots).toHaveLength(2);
    expect(read.snapshots[1]?.parentId).toBe(read.snapshots[0]?.snapshotId);
    expect(read.snapshots.map((s) => s.summary)).toEqual([
      expect.objectContaining({
        operation: 'append',
        'added-records': '6',
        'total-records': '6',
        'kafka-batch-puller.pipeline-id': pipelineId,
        'kafka-batch-puller.window-start': '2026-03-01T10:00:00.000Z',
        'kafka-batch-puller.window-end': '2026-03-01T11:00:00.000Z',
        'kafka-batch-puller.end-offsets': '{"0":"3","1":"3"}',
      }),
      expect.objectContaining({
        'added-records': '6',
        'total-records': '12',
        'kafka-batch-puller.window-start': '2026-03-01T11:00:00.000Z',
        'kafka-batch-puller.end-offsets': '{"0":"6","1":"6"}',
      }),
    ]);
    expect(read.rowCount).toBe(12);
    expect(read.rows.map((r) => `${r.partition}:${r.offset}`)).toEqual(
      [0, 1].flatMap((p) => [0, 1, 2, 3, 4, 5].map((o) => `${p}:${o}`)),
    );
    expect(read.rows[0]).toMatchObject({
      topic: 'topic-a',
      timestamp: '2026-03-01T10:00:00+00:00',
      key: 'k0',
      key_encoding: 'utf8',
      value: '{"amount":0}',
      amount: 0,
      headers: [{ key: 'h', value: 'v', value_encoding: 'utf8' }],
    });
  });

  it('commits a window committed before as nothing, and reports it found', async () => {
    const table = await newTable();
    const io = await icebergIo();
    const { window, files } = await windowOf(`g|${table.name}`, 0, 3, table);
    const first = await commitWindow(io, table, window, files);
    const again = await commitWindow(io, table, window, files);
    expect(first.outcome).toBe('committed');
    expect(again).toMatchObject({ outcome: 'already-committed', attempts: 0 });
    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots).toHaveLength(1);
    expect(read.rowCount).toBe(6);
  });

  it('makes one snapshot of a window two attempts commit at once', async () => {
    const table = await newTable();
    const { window, files } = await windowOf(`g|${table.name}`, 0, 3, table);
    const outcomes = await Promise.all([
      commitWindow(await icebergIo(), table, window, files),
      commitWindow(await icebergIo(), table, window, files),
    ]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['already-committed', 'committed']);
    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots).toHaveLength(1);
    expect(read.rowCount).toBe(6);
  });

  it('retries a commit that lost to another writer, and both windows are in the table', async () => {
    const table = await newTable();
    const io = await icebergIo();
    const ours = await windowOf(`g|${table.name}`, 0, 3, table);
    const theirs = await windowOf(`other|${table.name}`, 5, 2, table);
    // Another writer commits between this commit's load and its commit.
    let interleaved = false;
    const racing: TableCatalog = {
      loadTable: (t) => io.catalog.loadTable(t),
      createNamespaceIfMissing: (n) => io.catalog.createNamespaceIfMissing(n),
      createTableIfMissing: (t, d) => io.catalog.createTableIfMissing(t, d),
      commitTable: async (t, commit) => {
        if (!interleaved) {
          interleaved = true;
          await commitWindow(io, table, theirs.window, theirs.files);
        }
        return io.catalog.commitTable(t, commit);
      },
    };
    const result = await commitWindow({ catalog: racing, files: io.files }, table, ours.window, ours.files);
    expect(result).toMatchObject({ outcome: 'committed', attempts: 2 });
    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots.map((s) => s.summary['kafka-batch-puller.pipeline-id'])).toEqual([
      `other|${table.name}`,
      `g|${table.name}`,
    ]);
    expect(read.rowCount).toBe(6 + 4);
    expect(new Set(read.rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(10);
  });

  it('resolves a commit whose answer was lost from the table, without a second snapshot', async () => {
    const table = await newTable();
    const { window, files } = await windowOf(`g|${table.name}`, 0, 3, table);
    const proxy = await answerDroppingProxy(
      await catalogUrl(),
      (method, path) => method === 'POST' && path.endsWith(`/tables/${table.name}`),
    );
    try {
      const io = await icebergIo(proxy.url);
      const result = await commitWindow(io, table, window, files);
      expect(proxy.dropped).toEqual([expect.objectContaining({ method: 'POST', status: 200 })]);
      expect(result).toMatchObject({ outcome: 'committed', attempts: 1 });
    } finally {
      await proxy.close();
    }
    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots).toHaveLength(1);
    expect(read.rowCount).toBe(6);
  });

  it('evolves the schema for a declared column added between windows; older rows read it as null', async () => {
    const table = await newTable();
    const io = await icebergIo();
    const first = await windowOf(`g|${table.name}`, 0, 2, table);
    await commitWindow(io, table, first.window, first.files);
    const wider: ParquetLayout = {
      ...LAYOUT,
      columns: [...LAYOUT.columns, { name: 'doubled', type: 'bigint', path: 'amount' }],
    };
    const evolved = await ensureTable(io.catalog, table, wider);
    expect(evolved.metadata['current-schema-id']).toBe(1);
    const second = await windowOf(`g|${table.name}`, 1, 2, table, wider);
    expect((await commitWindow(io, table, second.window, second.files)).outcome).toBe('committed');
    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots).toHaveLength(2);
    expect(read.rows.map((r) => [r.offset, r.amount, r.doubled])).toEqual([
      ['0', 0, null],
      ['1', 10, null],
      ['2', 20, 20],
      ['3', 30, 30],
      ['0', 0, null],
      ['1', 10, null],
      ['2', 20, 20],
      ['3', 30, 30],
    ]);
  });

  it('commits nothing for an empty window', async () => {
    const table = await newTable();
    const window = { pipelineId: 'g|empty', startMs: T0, endMs: T0 + HOUR, endOffsets: {} };
    const result = await commitWindow(await icebergIo(), table, window, []);
    expect(result).toEqual({ outcome: 'empty' });
    const read = await readWithPyiceberg(table.namespace[0] as string, table.name);
    expect(read.snapshots).toHaveLength(0);
  });
});
