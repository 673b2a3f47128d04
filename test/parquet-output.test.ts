// Parquet parts, read back by DuckDB, hold every record exactly: each envelope column, binary bytes,
// nulls, timestamps, headers, declared columns from JSON values; records that do not fit go to the
// errors object with their reason.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ErrorRow } from '../src/core/record-format.js';
import {
  createTopic,
  getObject,
  listKeys,
  newPipeline,
  parseNdjson,
  produce,
  readLanded,
  runOnce,
} from './support/bed.js';
import { downloadBucket, duckdb, sqlFiles, tableFiles } from './support/parquet-reader.js';

const MINUTE = 60_000;
const pastWindow = () => Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);

/** The Parquet data files a run landed for `topic` (every non-hidden file under the topic's folder). */
async function landedParquet(bucket: string, topic: string): Promise<string[]> {
  const folder = await downloadBucket(bucket);
  const files = await tableFiles(join(folder, `topic=${topic}`));
  for (const file of files) expect(file).toMatch(/\/part-\d{4}-\d{5}\.parquet$/);
  return files;
}

async function errorRows(bucket: string): Promise<ErrorRow[]> {
  const rows: ErrorRow[] = [];
  for (const manifest of (await readLanded(bucket)).manifests) {
    for (const object of manifest.objects.filter((o) => o.kind === 'errors')) {
      rows.push(...(parseNdjson(object.key, await getObject(bucket, object.key)) as ErrorRow[]));
    }
  }
  return rows;
}

describe('parquet output', () => {
  it('refuses a parseRecord hook, which makes NDJSON rows, before touching anything', async () => {
    const topic = await createTopic(1);
    const { config, bucket } = await newPipeline(topic, { OUTPUT_FORMAT: 'parquet' });
    await expect(runOnce(config, { hooks: { parseRecord: (row) => row } })).rejects.toThrow(
      'invalid configuration: parseRecord maps records to NDJSON rows; it cannot be used with format parquet',
    );
    expect(await listKeys(bucket)).toEqual([]);
  });

  it('writes every envelope column: text, base64 for non-UTF-8 bytes, nulls, timestamps, headers, 5 MB values', async () => {
    const topic = await createTopic(1);
    const t = pastWindow();
    const big = Buffer.alloc(5 * 1024 * 1024, 'z');
    big.write('start', 0);
    await produce(topic, [
      { partition: 0, timestamp: t + 1, key: binary, value: binary },
      { partition: 0, timestamp: t + 2, key: null, value: null },
      {
        partition: 0,
        timestamp: t + 3,
        key: 'k',
        value: 'héllo',
        headers: { trace: ['a', 'b'], bin: binary },
      },
      { partition: 0, timestamp: t + 4, key: 'big', value: big },
      { partition: 0, timestamp: t + MINUTE },
    ]);
    const asText = await newPipeline(topic, { OUTPUT_FORMAT: 'parquet' });
    const asBinary = await newPipeline(topic, {
      OUTPUT_FORMAT: 'parquet',
      KEY_FORMAT: 'binary',
      VALUE_FORMAT: 'binary',
      COMPRESSION: 'gzip',
    });
    await Promise.all([runOnce(asText.config, { seconds: 10 }), runOnce(asBinary.config, { seconds: 10 })]);

    const textFiles = await landedParquet(asText.bucket, topic);
    // The window of the records, and the one the last record closes it with.
    expect(textFiles).toHaveLength(2);
    const rows = await duckdb(
      `select topic, partition, "offset", epoch_ms("timestamp") as ms, typeof("timestamp") as ts_type,
         key, key_encoding, strlen(value) as value_length, left(value, 5) as value_start,
         value_encoding, headers
       from read_parquet(${sqlFiles(textFiles)}) where "offset" < 4 order by "offset"`,
    );
    expect(rows).toEqual([
      {
        topic,
        partition: 0,
        offset: '0',
        ms: String(t + 1),
        ts_type: 'TIMESTAMP WITH TIME ZONE',
        key: '//4AgA==',
        key_encoding: 'base64',
        value_length: '8',
        value_start: '//4Ag',
        value_encoding: 'base64',
        headers: [],
      },
      {
        topic,
        partition: 0,
        offset: '1',
        ms: String(t + 2),
        ts_type: 'TIMESTAMP WITH TIME ZONE',
        key: null,
        key_encoding: null,
        value_length: null,
        value_start: null,
        value_encoding: null,
        headers: [],
      },
      {
        topic,
        partition: 0,
        offset: '2',
        ms: String(t + 3),
        ts_type: 'TIMESTAMP WITH TIME ZONE',
        key: 'k',
        key_encoding: 'utf8',
        value_length: '6',
        value_start: 'héllo',
        value_encoding: 'utf8',
        headers: [
          { key: 'trace', value: 'a', value_encoding: 'utf8' },
          { key: 'trace', value: 'b', value_encoding: 'utf8' },
          { key: 'bin', value: '//4AgA==', value_encoding: 'base64' },
        ],
      },
      {
        topic,
        partition: 0,
        offset: '3',
        ms: String(t + 4),
        ts_type: 'TIMESTAMP WITH TIME ZONE',
        key: 'big',
        key_encoding: 'utf8',
        value_length: String(big.length),
        value_start: 'start',
        value_encoding: 'utf8',
        headers: [],
      },
    ]);

    // Binary keys and values: the bytes themselves, byte for byte, 5 MB included.
    const binaryFiles = await landedParquet(asBinary.bucket, topic);
    const bytes = await duckdb(
      `select hex(key) as key, typeof(value) as value_type, octet_length(value) as length,
         md5(value) as md5 from read_parquet(${sqlFiles(binaryFiles)}) where "offset" < 4 order by "offset"`,
    );
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    expect(bytes).toEqual([
      { key: 'FFFE0080', value_type: 'BLOB', length: '4', md5: md5(binary) },
      { key: null, value_type: 'BLOB', length: null, md5: null },
      { key: '6B', value_type: 'BLOB', length: '6', md5: md5(Buffer.from('héllo')) },
      { key: '626967', value_type: 'BLOB', length: String(big.length), md5: md5(big) },
    ]);
    const codecs = await duckdb(
      `select distinct compression from parquet_metadata(${sqlFiles(binaryFiles)}) order by 1`,
    );
    expect(codecs).toEqual([{ compression: 'GZIP' }]);
  });

  it('writes JSON values as JSON text with typed declared columns; bad JSON and misfits go to the errors object', async () => {
    const topic = await createTopic(1);
    const t = pastWindow();
    const good =
      '{"id":"o1","total":{"amount":12.5},"qty":3,"paid":true,"at":"2026-01-02T03:04:05.678Z","meta":{"tags":["a"]},"big":12345678901234567890}';
    await produce(topic, [
      { partition: 0, timestamp: t + 1, key: 'o1', value: good },
      { partition: 0, timestamp: t + 2, key: 'o2', value: '{\n  "id": "o2",\n  "at": 1767323045678\n}' },
      { partition: 0, timestamp: t + 3, key: 'o3', value: null },
      { partition: 0, timestamp: t + 4, key: 'bad', value: '{"id": "o4", oops}' },
      { partition: 0, timestamp: t + 5, key: 'misfit', value: '{"id":"o5","qty":"three"}' },
      { partition: 0, timestamp: t + MINUTE, value: '{}' },
    ]);
    const { bucket, config } = await newPipeline(topic, {
      OUTPUT_FORMAT: 'parquet',
      VALUE_FORMAT: 'json',
      VALUE_COLUMNS:
        'order_id:string:id,amount:double:total.amount,qty:bigint:qty,paid:boolean:paid,placed_at:timestamp:at,meta:json:meta',
    });
    const report = await runOnce(config, { seconds: 10 });
    expect(report.errorRecords).toBe(2);

    const files = await landedParquet(bucket, topic);
    const rows = await duckdb(
      `select "offset", key, value, order_id, amount, qty, typeof(qty) as qty_type, paid,
         epoch_ms(placed_at) as at_ms, meta
       from read_parquet(${sqlFiles(files)}) where "offset" < 3 order by "offset"`,
    );
    expect(rows).toEqual([
      {
        offset: '0',
        key: 'o1',
        value: good,
        order_id: 'o1',
        amount: 12.5,
        qty: '3',
        qty_type: 'BIGINT',
        paid: true,
        at_ms: String(Date.parse('2026-01-02T03:04:05.678Z')),
        meta: '{"tags":["a"]}',
      },
      {
        offset: '1',
        key: 'o2',
        value: '{   "id": "o2",   "at": 1767323045678 }',
        order_id: 'o2',
        amount: null,
        qty: null,
        qty_type: 'BIGINT',
        paid: null,
        at_ms: '1767323045678',
        meta: null,
      },
      {
        offset: '2',
        key: 'o3',
        value: null,
        order_id: null,
        amount: null,
        qty: null,
        qty_type: 'BIGINT',
        paid: null,
        at_ms: null,
        meta: null,
      },
    ]);
    // The producer's own number text survives: 12345678901234567890 is past what a double holds.
    const [big] = await duckdb(
      `select json_extract_string(value, '$.big') as big from read_parquet(${sqlFiles(files)}) where "offset" = 0`,
    );
    expect(big?.big).toBe('12345678901234567890');

    const errors = await errorRows(bucket);
    expect(errors.map((e) => [e.offset, e.record.key, e.record.value])).toEqual([
      [3, 'bad', '{"id": "o4", oops}'],
      [4, 'misfit', '{"id":"o5","qty":"three"}'],
    ]);
    expect(errors[0]?.reason).toMatch(/^the value is not valid JSON: /);
    expect(errors[1]?.reason).toBe(`value field 'qty' is "three", which does not fit column 'qty' (bigint)`);
  });
});
