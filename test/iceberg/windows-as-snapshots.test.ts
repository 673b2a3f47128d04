// Closed windows landed as Iceberg snapshots end to end, against the real broker, the REST catalog and
// moto, and read back by pyiceberg: the CLI's run with --table-format iceberg; runs that die before a
// window's commit and between its commit and the state save; a finalize retried after its commit; and a
// sharded window. Each window is one snapshot, every record is in the table once, and nothing of a window
// that did not finish is in it.
//
// In-process runs commit through the engine's own adapters, with the table's metadata in `_iceberg/` of
// the pipeline's data folder, as the construct places it: the IAM audit checks their S3 requests, and
// their catalog requests as Glue's Iceberg REST endpoint would authorize them, against the role the
// construct gives an Iceberg pipeline.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ICEBERG_METADATA_FOLDER } from '../../src/core/key-layout.js';
import { pipelineIdOf } from '../../src/core/pipeline-state.js';
import { finalizeWindow, planWindow } from '../../src/engine/window-steps.js';
import { SummaryKey } from '../../src/iceberg/window-snapshot.js';
import type { WindowTable } from '../../src/ports.js';
import {
  createBucket,
  createTopic,
  newPipeline,
  produce,
  runOnce,
  storedOffsets,
  type TestRecord,
  uniqueName,
} from '../support/bed.js';
import { runCli } from '../support/cli.js';
import { type DeathStep, dyingAdapters, ProcessDied, stepLabel } from '../support/dying-adapters.js';
import { expectExactlyOnce, runSharded, StepAttempt, windowClock } from '../support/shard-bed.js';
import { catalogUrl, icebergFlags, icebergIo, type ReadTable, readWithPyiceberg } from './catalog-bed.js';

const MINUTE = 60_000;
const NAMESPACE = 'pipeline_tests';
const PARTITIONS = 2;

let url: string;

beforeAll(async () => {
  url = await catalogUrl();
  // A deployed pipeline's database is the stack's: its function may not create one.
  await (await icebergIo(url)).catalog.createNamespaceIfMissing([NAMESPACE]);
});

/** A table name of its own for each pipeline. */
const tableName = () => uniqueName('w').replaceAll('-', '_');

/**
 * The settings of a pipeline of `topic` that lands its windows in the Iceberg table `table` too, keeping
 * its metadata where the construct would: in the data folder of the pipeline's bucket.
 */
const icebergVariables = (topic: string, table: string) => (bucket: string) => ({
  OUTPUT_FORMAT: 'parquet',
  VALUE_FORMAT: 'json',
  VALUE_COLUMNS: 'amount:bigint:amount',
  PART_SIZE_MB: '0.05',
  TABLE_FORMAT: 'iceberg',
  ICEBERG_CATALOG_URL: url,
  ICEBERG_NAMESPACE: NAMESPACE,
  ICEBERG_TABLE: table,
  ICEBERG_TABLE_LOCATION: `s3://${bucket}/topic=${topic}/${ICEBERG_METADATA_FOLDER}`,
});

/**
 * `perWindow` records per partition in each of `windows` consecutive windows of `intervalMs`, the last
 * ending `idleWindows` windows before the current one: a few parts of 0.05 MiB per partition and window.
 */
function pastWindows(windows: number, perWindow: number, intervalMs = MINUTE, idleWindows = 1): TestRecord[] {
  const first = (Math.floor(Date.now() / intervalMs) - windows - idleWindows) * intervalMs;
  const records: TestRecord[] = [];
  for (let w = 0; w < windows; w++)
    for (let i = 0; i < perWindow; i++)
      for (let partition = 0; partition < PARTITIONS; partition++)
        records.push({
          partition,
          timestamp: first + w * intervalMs + Math.floor((i * intervalMs) / perWindow),
          value: JSON.stringify({ amount: i, pad: 'x'.repeat(400) }),
        });
  return records;
}

/**
 * The table holds `windows` snapshots, one per window with records, in window order, each naming the
 * pipeline, its window and its end offsets; and the topic's every record exactly once.
 */
async function expectTableHoldsTopic(
  table: string,
  topic: string,
  pipelineId: string,
  windows: number,
  label = table,
): Promise<ReadTable> {
  const read = await readWithPyiceberg(NAMESPACE, table);
  const summaries = read.snapshots.map((s) => s.summary);
  expect(summaries, label).toHaveLength(windows);
  const starts = summaries.map((s) => Date.parse(s[SummaryKey.WINDOW_START] ?? ''));
  expect(starts, label).toEqual([...starts].sort((a, b) => a - b));
  expect(new Set(starts).size, label).toBe(windows);
  for (const summary of summaries) {
    expect(summary, label).toMatchObject({ operation: 'append', [SummaryKey.PIPELINE_ID]: pipelineId });
    expect(Object.keys(JSON.parse(summary[SummaryKey.END_OFFSETS] ?? '{}')).sort(), label).toEqual([
      '0',
      '1',
    ]);
  }
  expect(read.rows.map((r) => `${r.partition}:${r.offset}`).sort(), label).toEqual(
    (await storedOffsets(topic)).sort(),
  );
  return read;
}

/** The end offsets the newest snapshot names. */
const lastEndOffsets = (read: ReadTable) =>
  JSON.parse(read.snapshots.at(-1)?.summary[SummaryKey.END_OFFSETS] ?? '{}') as Record<string, string>;

describe('windows as Iceberg snapshots', () => {
  it('the CLI lands three windows as three snapshots, every record once, and none for empty windows', async () => {
    const topic = await createTopic(PARTITIONS);
    const records = pastWindows(3, 20, 30_000, 2);
    await produce(topic, records);
    const bucket = await createBucket();
    const table = tableName();
    const groupId = uniqueName('g');
    const dir = await mkdtemp(join(tmpdir(), 'kbp-iceberg-'));
    // the flags as a user types them
    const result = await runCli(
      [
        'run',
        '--topic',
        topic,
        '--group-id',
        groupId,
        '--batch-interval-seconds',
        '30',
        '--poll-interval-seconds',
        '1',
        '--output',
        `s3://${bucket}/landing`,
        '--format',
        'parquet',
        '--value-format',
        'json',
        '--column',
        'amount:bigint:amount',
        ...icebergFlags(url, NAMESPACE, table),
        '--once',
      ],
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(0);
    // Two idle windows closed after the three with records: they made no snapshot.
    expect(result.stdout.match(/ window .* closed: 40 records, .* \+ Iceberg snapshot$/gm)).toHaveLength(3);
    const read = await expectTableHoldsTopic(table, topic, pipelineIdOf(groupId, topic), 3);
    expect(read.snapshots.map((s) => s.summary['added-records'])).toEqual(['40', '40', '40']);
    expect(lastEndOffsets(read)).toEqual({ 0: '60', 1: '60' });
    expect(read.rows[0]).toMatchObject({ topic, amount: 0 });
  });

  const crashes: DeathStep[] = [
    // The second window's manifest is written; its commit is not.
    { kind: 'manifest-written', occurrence: 2 },
    // The second window's commit went through; its state save did not.
    { kind: 'table-committed', occurrence: 2 },
  ];

  it.each(crashes.map((step) => [stepLabel(step), step] as const))(
    'a run that dies at %s leaves one snapshot per window once the next run finishes',
    async (_label, step) => {
      const topic = await createTopic(PARTITIONS);
      await produce(topic, pastWindows(3, 60));
      const table = tableName();
      const { bucket, config, pipelineId } = await newPipeline(topic, icebergVariables(topic, table));
      const deadRun = uniqueName('dead-run');
      const crashing = runOnce(config, {
        seconds: 30,
        runId: deadRun,
        adapt: (adapters) => dyingAdapters(step, adapters),
      });
      await expect(crashing).rejects.toThrow(ProcessDied);
      // Nothing of the unfinished window: before its commit one snapshot, after it two.
      const before = await readWithPyiceberg(NAMESPACE, table);
      expect(before.snapshots).toHaveLength(step.kind === 'table-committed' ? 2 : 1);

      const recovered = await runOnce(config, {
        seconds: 50,
        endedRunIds: [deadRun],
        now: windowClock(MINUTE),
      });
      expect(recovered.outcome).toBe('caught-up');
      await expectExactlyOnce(bucket, topic);
      const read = await expectTableHoldsTopic(table, topic, pipelineId, 3);
      expect(read.snapshots.slice(0, before.snapshots.length)).toEqual(before.snapshots);
    },
  );

  it('with two shards, a finalize retried after its commit adds no second snapshot', async () => {
    const topic = await createTopic(PARTITIONS);
    await produce(topic, pastWindows(2, 40));
    const table = tableName();
    const { bucket, config, pipelineId } = await newPipeline(topic, (b) => ({
      ...icebergVariables(topic, table)(b),
      SHARDS: '2',
    }));

    // The first window as the state machine runs it: plan, two shards, then a finalize whose commit
    // goes through and whose answer is lost, and the step's retry.
    const attempt = await StepAttempt.open(config, { now: windowClock(MINUTE) });
    const endedRunIds = [attempt.id];
    try {
      const plan = await planWindow(attempt.context, 2);
      if (plan.kind !== 'window') throw new Error(`no window planned: ${plan.outcome}`);
      const built = await attempt.buildAll(plan);
      const engineTable = attempt.context.table;
      if (engineTable === undefined) throw new Error('the attempt has no Iceberg table');
      const lostAnswer: WindowTable = {
        commitWindow: async (window) => {
          await engineTable.commitWindow(window);
          throw new Error('the answer was lost');
        },
      };
      await expect(finalizeWindow({ ...attempt.context, table: lostAnswer }, plan, built)).rejects.toThrow(
        /answer was lost/,
      );
      const retried = await finalizeWindow(attempt.context, plan, built);
      expect(retried.outcome).toBe('closed');
    } finally {
      await attempt.close();
    }
    expect((await readWithPyiceberg(NAMESPACE, table)).snapshots).toHaveLength(1);

    // The second window, and the empty ones after it, in one sharded run.
    // It takes over the lease the attempt kept for the next window.
    const run = await runSharded(config, 2, { now: windowClock(MINUTE), endedRunIds });
    expect(run.outcome).toBe('caught-up');
    await expectExactlyOnce(bucket, topic);
    await expectTableHoldsTopic(table, topic, pipelineId, 2);
  });
});
