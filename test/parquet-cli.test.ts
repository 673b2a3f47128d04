// `kafka-batch-puller run --format parquet --value-format json --column ...` as a real process: the
// folder it leaves is a Hive-style Parquet table whose typed column DuckDB sums.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTopic, produce, uniqueName } from './support/bed.js';
import { runCli } from './support/cli.js';
import { duckdb, sqlFiles } from './support/duckdb.js';
import { tableFiles } from './support/parquet-reader.js';

const MINUTE = 60_000;

describe('the command line with Parquet', () => {
  it('lands JSON values as Parquet with a typed column, and sends a bad value to the errors object', async () => {
    const topic = await createTopic(2);
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    await produce(topic, [
      ...Array.from({ length: 50 }, (_, i) => ({
        partition: i % 2,
        timestamp: start + i * 100,
        value: JSON.stringify({ n: i, name: `r${i}` }),
      })),
      { partition: 0, timestamp: start + 6_000, value: '{broken' },
    ]);
    const folder = await mkdtemp(join(tmpdir(), 'kbp-cli-parquet-'));
    const result = await runCli(
      [
        'run',
        '--topic',
        topic,
        '--group-id',
        uniqueName('g'),
        '--output',
        join(folder, 'out'),
        '--state',
        join(folder, 'state.json'),
        '--batch-interval-seconds',
        '60',
        '--poll-interval-seconds',
        '1',
        '--format',
        'parquet',
        '--value-format',
        'json',
        '--column',
        'n:bigint:n',
        '--once',
        '--json',
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.code, result.stderr).toBe(0);

    const files = await tableFiles(join(folder, 'out', `topic=${topic}`));
    expect(files.every((f) => f.endsWith('.parquet'))).toBe(true);
    const [totals] = await duckdb(
      `select count(*) as records, sum(n) as total, typeof(sum(n)) as type
       from read_parquet(${sqlFiles(files)}, hive_partitioning = true)`,
    );
    expect(totals).toEqual({ records: '50', total: '1225', type: 'HUGEINT' });
    const errors = await tableFiles(join(folder, 'out', 'errors', `topic=${topic}`));
    expect(errors.map((f) => f.split('/').at(-1))).toEqual(['part-0000-00000.ndjson.gz']);
  });
});
