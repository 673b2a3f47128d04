// Keys and values read as string, json or binary: NDJSON lines and Parquet rows, and the reasons a
// record does not fit.
import { describe, expect, it } from 'vitest';
import { ColumnType, parquetColumnNames, toParquetRow } from '../../src/core/parquet-schema.js';
import { defaultNdjsonLine, formattedNdjsonLine, STRING_FORMATS } from '../../src/core/record-format.js';
import { FormatMismatch, readJson } from '../../src/core/value-format.js';
import type { SourceRecord } from '../../src/ports.js';

const record = (value: Buffer | string | null, key: Buffer | string | null = 'k'): SourceRecord => ({
  partition: 2,
  offset: '9007199254740993',
  timestampMs: 1_764_000_000_123,
  key: typeof key === 'string' ? Buffer.from(key) : key,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  headers: [['h', Buffer.from('v')]],
});

describe('value formats', () => {
  it('keeps the default line byte for byte', () => {
    const r = record('{"a":1}');
    expect(formattedNdjsonLine('"t"', r, STRING_FORMATS)).toBe(defaultNdjsonLine('"t"', r));
  });

  it('nests a JSON value as JSON, keeping its number text and putting it on one line', () => {
    const line = formattedNdjsonLine('"t"', record('{\n "n": 12345678901234567890,\r\n "s": "x"\n}'), {
      keyFormat: 'string',
      valueFormat: 'json',
    });
    expect(line).toBe(
      '{"topic":"t","partition":2,"offset":9007199254740992,"timestamp":1764000000123,"timestampIso":"2025-11-24T16:00:00.123Z","key":"k","keyEncoding":"utf8","value":{  "n": 12345678901234567890,   "s": "x" },"valueEncoding":"json","headers":[{"key":"h","value":"v","valueEncoding":"utf8"}]}\n',
    );
    expect(JSON.parse(line as string).value).toEqual({ n: 1.2345678901234567e19, s: 'x' });
  });

  it('writes binary keys and values as base64 and JSON keys nested', () => {
    const line = formattedNdjsonLine('"t"', record(Buffer.from('hi'), '[1,2]'), {
      keyFormat: 'json',
      valueFormat: 'binary',
    }) as string;
    expect(JSON.parse(line)).toMatchObject({
      key: [1, 2],
      keyEncoding: 'json',
      value: 'aGk=',
      valueEncoding: 'base64',
    });
    const nulls = JSON.parse(
      formattedNdjsonLine('"t"', record(null, null), { keyFormat: 'json', valueFormat: 'json' }) as string,
    );
    expect(nulls).toMatchObject({ key: null, keyEncoding: null, value: null, valueEncoding: null });
  });

  it('gives the reason a key or value is not JSON', () => {
    expect(readJson(Buffer.from('{"a":'), 'value')).toEqual(
      new FormatMismatch(expect.stringMatching(/^the value is not valid JSON: /) as unknown as string),
    );
    expect(readJson(Buffer.from([0xff, 0x00]), 'key')).toEqual(
      new FormatMismatch('the key is not UTF-8 text, so it cannot be JSON'),
    );
    const bad = formattedNdjsonLine('"t"', record('nope'), { keyFormat: 'string', valueFormat: 'json' });
    expect(bad).toBeInstanceOf(FormatMismatch);
  });

  it('makes Parquet keys JSON text or raw bytes, and copies the bytes it keeps', () => {
    const source = Buffer.from('xx{"id":7}yy');
    const value = source.subarray(2, 10);
    const row = toParquetRow(
      't',
      { ...record(value, '{"k":1}'), headers: [['h', null]] },
      {
        keyFormat: 'json',
        valueFormat: 'binary',
        columns: [],
      },
    );
    const cells = (row as { cells: Record<string, unknown> }).cells;
    expect(cells).toMatchObject({ key: '{"k":1}', value: Buffer.from('{"id":7}') });
    expect(cells.headers).toEqual([{ key: 'h', value: null, value_encoding: null }]);
    expect('value_encoding' in cells || 'key_encoding' in cells).toBe(false);
    // A copy, not a view of the fetched bytes, which stay free to be collected while the row waits.
    source.fill(0);
    expect(cells.value).toEqual(Buffer.from('{"id":7}'));
    expect(
      toParquetRow('t', record('x', '{'), { keyFormat: 'json', valueFormat: 'string', columns: [] }),
    ).toEqual(new FormatMismatch(expect.stringMatching(/^the key is not valid JSON: /) as unknown as string));
  });

  it('makes Parquet rows with typed declared columns, or says which field does not fit', () => {
    const layout = {
      keyFormat: 'string' as const,
      valueFormat: 'json' as const,
      columns: [
        { name: 'qty', type: ColumnType.BIGINT, path: 'order.qty' },
        { name: 'at', type: ColumnType.TIMESTAMP, path: 'at' },
      ],
    };
    expect(parquetColumnNames(layout)).toEqual([
      'topic',
      'partition',
      'offset',
      'timestamp',
      'key',
      'key_encoding',
      'value',
      'headers',
      'qty',
      'at',
    ]);
    const row = toParquetRow('t', record('{"order":{"qty":3},"at":"2026-01-01T00:00:00Z"}'), layout);
    expect(row).not.toBeInstanceOf(FormatMismatch);
    expect((row as { cells: Record<string, unknown> }).cells).toMatchObject({
      offset: 9007199254740993n,
      qty: 3n,
      at: BigInt(Date.parse('2026-01-01T00:00:00Z')),
    });
    expect(toParquetRow('t', record('{"order":{"qty":1.5}}'), layout)).toEqual(
      new FormatMismatch("value field 'order.qty' is 1.5, which does not fit column 'qty' (bigint)"),
    );
    // A 64-bit integer as a string of digits (proto3's JSON for int64) is exact, past 2^53 too.
    const digits = toParquetRow('t', record('{"order":{"qty":"-9223372036854775808"}}'), layout);
    expect((digits as { cells: Record<string, unknown> }).cells.qty).toBe(-(2n ** 63n));
    for (const misfit of ['"9223372036854775808"', '"12.5"', '" 12"', '"0x10"', '""']) {
      expect(toParquetRow('t', record(`{"order":{"qty":${misfit}}}`), layout)).toEqual(
        new FormatMismatch(`value field 'order.qty' is ${misfit}, which does not fit column 'qty' (bigint)`),
      );
    }
    expect(toParquetRow('t', record('{"at":"yesterday"}'), layout)).toEqual(
      new FormatMismatch(`value field 'at' is "yesterday", which does not fit column 'at' (timestamp)`),
    );
  });
});
