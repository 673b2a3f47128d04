// Landed folders are a Hive-style table: a reader over <prefix>/topic=<topic>/ that skips hidden files
// (names starting with '_' or '.', as Athena, Hive and Spark do) reads only data parts, and its
// per-window counts equal the manifests', for both formats and both value settings. An empty window
// has a manifest and no data part.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../src/core/manifest.js';
import { createTopic, produce, runOnce, type TestRecord, testConfig, uniqueName } from './support/bed.js';
import { duckdb, sqlFiles } from './support/duckdb.js';
import { filesUnder, tableFiles } from './support/parquet-reader.js';

const MINUTE = 60_000;
/** 2026-11-28T09:00:00.000Z as the key layout spells it: 20261128T090000Z. */
const basicIso = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');

const settings = [
  { OUTPUT_FORMAT: 'ndjson', VALUE_FORMAT: 'string' },
  { OUTPUT_FORMAT: 'ndjson', VALUE_FORMAT: 'json' },
  { OUTPUT_FORMAT: 'parquet', VALUE_FORMAT: 'string' },
  { OUTPUT_FORMAT: 'parquet', VALUE_FORMAT: 'json' },
] as const;

/**
 * Windows 0 and 2 hold records on 3 partitions, window 3 one record; the windows after it, up to the
 * wall clock, close empty.
 */
function records(base: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (const [window, count] of [
    [0, 40],
    [2, 25],
  ] as const) {
    for (let i = 0; i < count; i++) {
      out.push({
        partition: i % 3,
        timestamp: base + window * MINUTE + i * 100,
        value: JSON.stringify({ id: `${window}-${i}`, n: i }),
      });
    }
    // Not JSON: with value format json it goes to the errors object, which no table reads.
    if (window === 0) out.push({ partition: 1, timestamp: base + 5, value: 'not json' });
  }
  out.push({ partition: 0, timestamp: base + 3 * MINUTE, value: '{}' });
  return out;
}

describe('hive-style layout', () => {
  it('gives per-window counts equal to the manifests, reading no manifest or errors object', async () => {
    const topic = await createTopic(3);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 8 * MINUTE;
    await produce(topic, records(base));

    await Promise.all(
      settings.map(async (setting) => {
        const label = `${setting.OUTPUT_FORMAT}/${setting.VALUE_FORMAT}`;
        const folder = await mkdtemp(join(tmpdir(), 'kbp-hive-'));
        const config = testConfig({
          KAFKA_TOPIC: topic,
          KAFKA_GROUP_ID: uniqueName('g'),
          OUTPUT_DIRECTORY: folder,
          OUTPUT_PREFIX: 'lake',
          STATE_FILE: join(folder, 'state.json'),
          ...setting,
        });
        await runOnce(config, { seconds: 10 });

        const all = await filesUnder(folder);
        const manifests: Manifest[] = [];
        for (const file of all.filter((f) => f.endsWith('/_manifest.json'))) {
          manifests.push(JSON.parse(await readFile(join(folder, file), 'utf8')) as Manifest);
        }
        const withRecords = manifests.filter((m) => m.totals.records > 0);
        expect(
          withRecords.map((m) => m.totals.records),
          label,
        ).toEqual(setting.VALUE_FORMAT === 'json' ? [40, 25, 1] : [41, 25, 1]);
        expect(manifests[0]?.totals.errorRecords, label).toBe(setting.VALUE_FORMAT === 'json' ? 1 : 0);
        // Empty windows after the last record: a manifest, no data part.
        const empty = manifests.filter((m) => m.totals.records === 0);
        expect(empty.length, label).toBeGreaterThan(0);
        for (const m of empty) expect(m.objects, label).toEqual([]);

        const table = join(folder, 'lake', `topic=${topic}`);
        const files = await tableFiles(table);
        const dataKeys = manifests.flatMap((m) =>
          m.objects.filter((o) => o.kind === 'data').map((o) => o.key),
        );
        expect(files.map((f) => f.slice(folder.length + 1)).sort(), label).toEqual(dataKeys.sort());

        const reader =
          setting.OUTPUT_FORMAT === 'parquet'
            ? `read_parquet(${sqlFiles(files)}, hive_partitioning = true)`
            : `read_json(${sqlFiles(files)}, format = 'newline_delimited', hive_partitioning = true)`;
        const counts = await duckdb(
          `select "date", "hour", "window", count(*) as records from ${reader} group by all order by "window"`,
        );
        const expected = withRecords.map((m) => ({
          date: m.window.start.slice(0, 10),
          hour: m.window.start.slice(11, 13),
          window: `${basicIso(m.window.start)}_${basicIso(m.window.end)}`,
          records: String(m.totals.records),
        }));
        expect(counts, label).toEqual(expected);

        // A JSON value is data, not a string: NDJSON nests it, Parquet keeps its text.
        const [sample] = await duckdb(
          `select typeof(value) as type, value::json->>'id' as id from ${reader} where "partition" = 0 and "offset" = 1`,
        );
        const type =
          setting.VALUE_FORMAT === 'string' || setting.OUTPUT_FORMAT === 'parquet'
            ? 'VARCHAR'
            : 'STRUCT(id VARCHAR, n BIGINT)';
        expect(sample, label).toEqual({ type, id: '0-3' });
      }),
    );
  });
});
