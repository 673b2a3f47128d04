// Typed value columns in Parquet: the schema elements each shape kind becomes, the part's schema with and
// without a `value` column, and a part of typed rows written and read back by DuckDB (no services).
import { describe, expect, it } from 'vitest';
import {
  type ParquetLayout,
  type ParquetSchemaElement,
  parquetColumnNames,
  parquetSchema,
  shapeElements,
  type TypedValueReader,
  toParquetRow,
} from '../../src/core/parquet-schema.js';
import { type DecodedJson, decodedDocument } from '../../src/core/registry-json.js';
import { cellWriter } from '../../src/core/value-cells.js';
import { FormatMismatch, ValueFormat } from '../../src/core/value-format.js';
import type { ValueShape } from '../../src/core/value-shape.js';
import { ParquetObjectWriter } from '../../src/engine/parquet-part-writer.js';
import type { SourceRecord } from '../../src/ports.js';
import { queryParquetBytes } from '../support/duckdb.js';
import { MemorySink } from '../support/memory-adapters.js';

const OPTIONAL = 'OPTIONAL';

describe('the Parquet elements of a shape', () => {
  it.each<[ValueShape, ParquetSchemaElement]>([
    [
      { kind: 'string' },
      {
        name: 'v',
        type: 'BYTE_ARRAY',
        repetition_type: OPTIONAL,
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      },
    ],
    [
      { kind: 'json' },
      {
        name: 'v',
        type: 'BYTE_ARRAY',
        repetition_type: OPTIONAL,
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      },
    ],
    [{ kind: 'boolean' }, { name: 'v', type: 'BOOLEAN', repetition_type: OPTIONAL }],
    [{ kind: 'int' }, { name: 'v', type: 'INT32', repetition_type: OPTIONAL }],
    [{ kind: 'long' }, { name: 'v', type: 'INT64', repetition_type: OPTIONAL }],
    [{ kind: 'float' }, { name: 'v', type: 'FLOAT', repetition_type: OPTIONAL }],
    [{ kind: 'double' }, { name: 'v', type: 'DOUBLE', repetition_type: OPTIONAL }],
    [{ kind: 'binary' }, { name: 'v', type: 'BYTE_ARRAY', repetition_type: OPTIONAL }],
    [
      { kind: 'date' },
      {
        name: 'v',
        type: 'INT32',
        repetition_type: OPTIONAL,
        converted_type: 'DATE',
        logical_type: { type: 'DATE' },
      },
    ],
    [
      { kind: 'timestamp', unit: 'millis' },
      {
        name: 'v',
        type: 'INT64',
        repetition_type: OPTIONAL,
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      },
    ],
    [
      { kind: 'timestamp', unit: 'micros' },
      {
        name: 'v',
        type: 'INT64',
        repetition_type: OPTIONAL,
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      },
    ],
  ])('%o is one element', (shape, element) => {
    expect(shapeElements('v', shape)).toEqual([element]);
  });

  /** The fewest bytes whose two's complement holds every integer of `precision` digits. */
  const minimalBytes = (precision: number): number => {
    let bytes = 1;
    while (2n ** BigInt(8 * bytes - 1) - 1n < 10n ** BigInt(precision) - 1n) bytes += 1;
    return bytes;
  };

  it.each([1, 9, 10, 18, 19, 20, 28, 30, 38])(
    'gives decimal(%i, 2) the smallest physical type',
    (precision) => {
      const [element, ...rest] = shapeElements('v', { kind: 'decimal', precision, scale: 2 });
      expect(rest).toEqual([]);
      expect(element).toMatchObject({
        name: 'v',
        repetition_type: OPTIONAL,
        converted_type: 'DECIMAL',
        precision,
        scale: 2,
        logical_type: { type: 'DECIMAL', precision, scale: 2 },
      });
      if (precision <= 9) expect(element).toMatchObject({ type: 'INT32' });
      else if (precision <= 18) expect(element).toMatchObject({ type: 'INT64' });
      else
        expect(element).toMatchObject({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: minimalBytes(precision) });
      if (precision <= 18) expect(element).not.toHaveProperty('type_length');
    },
  );

  it('gives every precision past 18 the minimal fixed length', () => {
    for (let precision = 19; precision <= 38; precision++) {
      const [element] = shapeElements('v', { kind: 'decimal', precision, scale: 0 });
      expect({ precision, length: element?.type_length }).toEqual({
        precision,
        length: minimalBytes(precision),
      });
    }
  });

  it('makes a list the three-level LIST', () => {
    expect(shapeElements('tags', { kind: 'list', element: { kind: 'int' } })).toEqual([
      {
        name: 'tags',
        repetition_type: OPTIONAL,
        num_children: 1,
        converted_type: 'LIST',
        logical_type: { type: 'LIST' },
      },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'INT32', repetition_type: OPTIONAL },
    ]);
  });

  it('makes a map a MAP of key_value with a required text key and an optional value', () => {
    expect(shapeElements('attrs', { kind: 'map', value: { kind: 'double' } })).toEqual([
      {
        name: 'attrs',
        repetition_type: OPTIONAL,
        num_children: 1,
        converted_type: 'MAP',
        logical_type: { type: 'MAP' },
      },
      { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
      {
        name: 'key',
        type: 'BYTE_ARRAY',
        repetition_type: 'REQUIRED',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      },
      { name: 'value', type: 'DOUBLE', repetition_type: OPTIONAL },
    ]);
  });

  it('makes a struct a group of its fields, depth-first, nested types included', () => {
    const shape: ValueShape = {
      kind: 'struct',
      fields: [
        { name: 'id', shape: { kind: 'long' } },
        {
          name: 'lines',
          shape: {
            kind: 'list',
            element: {
              kind: 'struct',
              fields: [
                { name: 'sku', shape: { kind: 'string' } },
                { name: 'qty', shape: { kind: 'int' } },
              ],
            },
          },
        },
        { name: 'attrs', shape: { kind: 'map', value: { kind: 'list', element: { kind: 'boolean' } } } },
      ],
    };
    const elements = shapeElements('value', shape);
    expect(elements.map((e) => [e.name, e.repetition_type, e.num_children ?? e.type])).toEqual([
      ['value', OPTIONAL, 3],
      ['id', OPTIONAL, 'INT64'],
      ['lines', OPTIONAL, 1],
      ['list', 'REPEATED', 1],
      ['element', OPTIONAL, 2],
      ['sku', OPTIONAL, 'BYTE_ARRAY'],
      ['qty', OPTIONAL, 'INT32'],
      ['attrs', OPTIONAL, 1],
      ['key_value', 'REPEATED', 2],
      ['key', 'REQUIRED', 'BYTE_ARRAY'],
      ['value', OPTIONAL, 1],
      ['list', 'REPEATED', 1],
      ['element', OPTIONAL, 'BOOLEAN'],
    ]);
  });
});

describe('the schema of a part with typed values', () => {
  const layout = (valueShape: ValueShape | null | undefined): ParquetLayout => ({
    keyFormat: ValueFormat.STRING,
    valueFormat: ValueFormat.CONFLUENT,
    columns: [{ name: 'amount', type: 'double', path: 'amount' }],
    ...(valueShape === undefined ? {} : { valueShape }),
  });
  const STRUCT: ValueShape = {
    kind: 'struct',
    fields: [
      { name: 'id', shape: { kind: 'string' } },
      { name: 'amount', shape: { kind: 'double' } },
    ],
  };

  /** The names of the root's children: the elements that follow a group's last descendant. */
  function topLevelNames(schema: ParquetSchemaElement[]): string[] {
    const names: string[] = [];
    let index = 1;
    const skip = (): void => {
      const element = schema[index++] as ParquetSchemaElement;
      for (let child = 0; child < (element.num_children ?? 0); child++) skip();
    };
    while (index < schema.length) {
      names.push((schema[index] as ParquetSchemaElement).name);
      skip();
    }
    return names;
  }

  it.each<[string, ValueShape | null | undefined, string[]]>([
    [
      'a typed value',
      STRUCT,
      ['topic', 'partition', 'offset', 'timestamp', 'key', 'key_encoding', 'value', 'headers', 'amount'],
    ],
    [
      'no value column',
      null,
      ['topic', 'partition', 'offset', 'timestamp', 'key', 'key_encoding', 'headers', 'amount'],
    ],
    [
      'JSON text values',
      undefined,
      ['topic', 'partition', 'offset', 'timestamp', 'key', 'key_encoding', 'value', 'headers', 'amount'],
    ],
  ])('with %s, the root has one child per column, the names parquetColumnNames gives', (_, shape, names) => {
    const schema = parquetSchema(layout(shape));
    expect(schema[0]).toEqual({ name: 'root', num_children: names.length });
    expect(topLevelNames(schema)).toEqual(names);
    expect(parquetColumnNames(layout(shape))).toEqual(names);
  });

  it('puts the shape elements under value', () => {
    const schema = parquetSchema(layout(STRUCT));
    const at = schema.findIndex((e) => e.name === 'value');
    expect(schema.slice(at, at + 3)).toEqual(shapeElements('value', STRUCT));
  });

  it('has no value column with a null shape, nor a value_encoding', () => {
    const names = parquetSchema(layout(null)).map((e) => e.name);
    // The headers' own `value` and `value_encoding` fields remain.
    const headers = names.indexOf('headers');
    expect(names.slice(0, headers)).not.toContain('value');
    expect(parquetColumnNames(layout(null))).not.toContain('value');
  });
});

describe('a part of typed values read back by DuckDB', () => {
  const SHAPE: ValueShape = {
    kind: 'struct',
    fields: [
      { name: 'id', shape: { kind: 'long' } },
      { name: 'name', shape: { kind: 'string' } },
      {
        name: 'customer',
        shape: {
          kind: 'struct',
          fields: [
            { name: 'id', shape: { kind: 'int' } },
            { name: 'vip', shape: { kind: 'boolean' } },
          ],
        },
      },
      {
        name: 'lines',
        shape: {
          kind: 'list',
          element: {
            kind: 'struct',
            fields: [
              { name: 'sku', shape: { kind: 'string' } },
              { name: 'qty', shape: { kind: 'int' } },
            ],
          },
        },
      },
      { name: 'tags', shape: { kind: 'list', element: { kind: 'string' } } },
      { name: 'attrs', shape: { kind: 'map', value: { kind: 'long' } } },
      { name: 'price', shape: { kind: 'decimal', precision: 10, scale: 2 } },
      { name: 'total', shape: { kind: 'decimal', precision: 30, scale: 4 } },
      { name: 'day', shape: { kind: 'date' } },
      { name: 'at', shape: { kind: 'timestamp', unit: 'micros' } },
      { name: 'at_ms', shape: { kind: 'timestamp', unit: 'millis' } },
      { name: 'raw', shape: { kind: 'binary' } },
      { name: 'ratio', shape: { kind: 'float' } },
      { name: 'score', shape: { kind: 'double' } },
      { name: 'extra', shape: { kind: 'json' } },
    ],
  };

  /** Each record's value bytes name the decoded value the reader gives for them. */
  const VALUES: ReadonlyMap<string, DecodedJson> = new Map<string, DecodedJson>([
    [
      'full',
      {
        id: 2n ** 62n + 1n,
        name: 'first',
        customer: { id: 7, vip: true },
        lines: [
          { sku: 'a', qty: 2 },
          { sku: 'b', qty: null },
        ],
        tags: ['x', null, 'y'],
        attrs: { one: 1, big: '9223372036854775807' },
        price: '-12.30',
        total: '-12345678901234567890123456.7891',
        day: '2024-05-06',
        at: '2026-01-02T05:04:05.678901+02:00',
        at_ms: '2026-01-02T03:04:05.678Z',
        raw: 'AQL/',
        ratio: 1.5,
        score: 'NaN',
        extra: { nested: [1, 'two'] },
      },
    ],
    ['sparse', { id: 2, customer: null, lines: [], tags: null, attrs: {}, price: '0.05', total: '1' }],
    ['bad', { id: 'not a number' }],
  ]);

  const reader: TypedValueReader = {
    read: (bytes) => {
      const value = VALUES.get(bytes.toString());
      return value === undefined ? new FormatMismatch('unknown value') : decodedDocument(value);
    },
    cells: cellWriter(SHAPE),
  };
  const layout: ParquetLayout = {
    keyFormat: ValueFormat.STRING,
    valueFormat: ValueFormat.CONFLUENT,
    columns: [],
    valueShape: SHAPE,
  };
  const record = (offset: number, value: string | null): SourceRecord => ({
    partition: 0,
    offset: String(offset),
    timestampMs: 1_767_323_045_000 + offset,
    key: Buffer.from(`k${offset}`),
    value: value === null ? null : Buffer.from(value),
    headers: [['h', Buffer.from('v')]],
  });

  async function written(records: readonly SourceRecord[]): Promise<Buffer> {
    const sink = new MemorySink();
    const writer = new ParquetObjectWriter(sink, 'part.parquet', 'snappy', layout);
    for (const r of records) {
      const row = toParquetRow('orders', r, layout, undefined, reader);
      if (row instanceof FormatMismatch) throw new Error(row.reason);
      writer.add(row);
    }
    await writer.finish();
    return sink.objects.get('part.parquet') as Buffer;
  }

  it('refuses a row whose value does not fit the shape, naming the field', () => {
    const row = toParquetRow('orders', record(0, 'bad'), layout, undefined, reader);
    expect(row).toBeInstanceOf(FormatMismatch);
    expect((row as FormatMismatch).reason).toMatch(/^value field 'value\.id' is "not a number"/);
  });

  it('reads every kind back with its SQL type and exact values', async () => {
    const bytes = await written([record(0, 'full'), record(1, 'sparse'), record(2, null)]);
    const rows = await queryParquetBytes(
      bytes,
      (file) => `select "offset", key, typeof(value) as value_type,
        typeof(value.price) as price_type, typeof(value.total) as total_type,
        value.id::varchar as id, value.name, value.customer.id as customer_id, value.customer.vip,
        to_json(value.lines) as lines, to_json(value.tags) as tags,
        to_json(map_entries(value.attrs)) as attrs, value.attrs['big']::varchar as big,
        value.price::varchar as price, value.total::varchar as total,
        value.day::varchar as day, epoch_us(value.at)::varchar as at_us, value.at::varchar as at,
        epoch_ms(value.at_ms)::varchar as at_ms, hex(value.raw) as raw, value.ratio, value.score::varchar as score,
        value.extra, value is null as value_null
        from read_parquet(${file}) order by "offset"`,
    );
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    expect(rows[0]).toEqual({
      offset: '0',
      key: 'k0',
      value_type:
        'STRUCT(id BIGINT, "name" VARCHAR, customer STRUCT(id INTEGER, vip BOOLEAN), ' +
        'lines STRUCT(sku VARCHAR, qty INTEGER)[], tags VARCHAR[], attrs MAP(VARCHAR, BIGINT), ' +
        'price DECIMAL(10,2), total DECIMAL(30,4), "day" DATE, "at" TIMESTAMP WITH TIME ZONE, ' +
        'at_ms TIMESTAMP WITH TIME ZONE, raw BLOB, ratio FLOAT, score DOUBLE, extra VARCHAR)',
      price_type: 'DECIMAL(10,2)',
      total_type: 'DECIMAL(30,4)',
      id: '4611686018427387905',
      name: 'first',
      customer_id: 7,
      vip: true,
      lines: '[{"sku":"a","qty":2},{"sku":"b","qty":null}]',
      tags: '["x",null,"y"]',
      attrs: '[{"key":"one","value":1},{"key":"big","value":9223372036854775807}]',
      big: '9223372036854775807',
      price: '-12.30',
      total: '-12345678901234567890123456.7891',
      day: '2024-05-06',
      at_us: `${BigInt(at) * 1000n + 678901n}`,
      at: expect.stringMatching(/^2026-01-02 03:04:05\.678901(\+00)?/),
      at_ms: String(at + 678),
      raw: '0102FF',
      ratio: 1.5,
      score: 'nan',
      extra: '{"nested":[1,"two"]}',
      value_null: false,
    });
    expect(rows[1]).toMatchObject({
      offset: '1',
      id: '2',
      name: null,
      customer_id: null,
      vip: null,
      lines: '[]',
      tags: null,
      attrs: '[]',
      price: '0.05',
      total: '1.0000',
      day: null,
      at: null,
      raw: null,
      ratio: null,
      extra: null,
      value_null: false,
    });
    expect(rows[2]).toMatchObject({ offset: '2', id: null, value_null: true });
  });

  it('writes a part of no value column when the shape is null', async () => {
    const noValue: ParquetLayout = { ...layout, valueShape: null };
    const sink = new MemorySink();
    const writer = new ParquetObjectWriter(sink, 'part.parquet', 'snappy', noValue);
    const row = toParquetRow('orders', record(0, null), noValue, undefined, reader);
    if (row instanceof FormatMismatch) throw new Error(row.reason);
    writer.add(row);
    await writer.finish();
    const columns = await queryParquetBytes(
      sink.objects.get('part.parquet') as Buffer,
      (file) => `select column_name from (describe select * from read_parquet(${file}))`,
    );
    expect(columns.map((c) => c.column_name)).toEqual([
      'topic',
      'partition',
      'offset',
      'timestamp',
      'key',
      'key_encoding',
      'headers',
    ]);
  });
});
