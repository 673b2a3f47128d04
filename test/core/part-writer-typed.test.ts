import { describe, expect, it } from 'vitest';
import { RegistryDecoder } from '../../src/core/registry-decoder.js';
import { OutputFormat, ValueFormat } from '../../src/core/value-format.js';
import { NEW_PART, type PartStart, PartWriter } from '../../src/engine/part-writer.js';
import type { SourceRecord } from '../../src/ports.js';
import { confluentAvro, confluentFramed } from '../support/confluent-wire.js';
import { queryParquetBytes } from '../support/duckdb.js';
import { MemorySink } from '../support/memory-adapters.js';

const V1 = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};
const V2 = { ...V1, fields: [...V1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
/** Incompatible with both: `amount` is text, which no long is read as. */
const V3 = {
  ...V1,
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'string' },
  ],
};
const SCHEMAS = new Map<number, object>([
  [1, V1],
  [2, V2],
  [3, V3],
]);

/** `value` written with the version whose id is `id`, framed with it. */
const framed = (id: number, value: object): Buffer => confluentAvro(id, SCHEMAS.get(id) as object, value);

/** A decoder that has learnt the three versions, and an id the registry does not hold (9). */
function decoder(): RegistryDecoder {
  const registry = new RegistryDecoder({ keyFormat: ValueFormat.STRING, valueFormat: ValueFormat.CONFLUENT });
  for (const [id, schema] of SCHEMAS)
    registry.learn(id, { type: 'AVRO', text: JSON.stringify(schema), references: [] });
  registry.learn(9, undefined);
  return registry;
}

let nextOffset = 0;
const record = (value: Buffer | null): SourceRecord => {
  const offset = nextOffset++;
  return {
    partition: 0,
    offset: String(offset),
    timestampMs: 1_767_323_045_000,
    key: null,
    value,
    headers: [],
  };
};

const START: PartStart = {
  prefix: 'landing',
  topic: 'orders',
  window: { startMs: 1_767_322_800_000, endMs: 1_767_323_100_000 },
  partition: 0,
  sequence: 0,
  firstOffset: '0',
  compression: 'snappy',
  layout: {
    format: OutputFormat.PARQUET,
    keyFormat: ValueFormat.STRING,
    valueFormat: ValueFormat.CONFLUENT,
    columns: [],
    rowGroupBytes: 1024 * 1024,
    compressionLevel: null,
  },
};

function partWriter(registry = decoder()) {
  const sink = new MemorySink();
  return { sink, part: new PartWriter(sink, START, registry) };
}

/** Finishes the part and reads its rows back with DuckDB, with the `value` column's type. */
async function finishAndRead(sink: MemorySink, part: PartWriter, select: string) {
  const finished = await part.finish(String(nextOffset));
  const bytes = sink.objects.get(finished.key);
  if (bytes === undefined) throw new Error(`no object under ${finished.key}`);
  const rows = await queryParquetBytes(
    bytes,
    (file) => `select ${select} from read_parquet(${file}) order by "offset"`,
  );
  return { finished, rows };
}

describe('a Parquet part of registry-typed values', () => {
  it('decides its schema at its first row, and starts a new part at a newer version', async () => {
    const { sink, part } = partWriter();
    expect(part.addRecord(record(framed(1, { id: 'a', amount: 1 })), false)).toBeUndefined();
    expect(part.addRecord(record(framed(1, { id: 'b', amount: 2 })), false)).toBeUndefined();
    expect(part.addRecord(record(framed(2, { id: 'c', amount: 3, currency: 'USD' })), false)).toBe(NEW_PART);
    // A value of no schema (null) joins the part as a null value.
    expect(part.addRecord(record(null), false)).toBeUndefined();
    expect(part.records).toBe(3);

    const { finished, rows } = await finishAndRead(
      sink,
      part,
      'typeof(value) as type, value.id, value.amount::varchar as amount',
    );
    expect(finished.valueSchema).toBe(1);
    expect(rows).toEqual([
      { type: 'STRUCT(id VARCHAR, amount BIGINT)', id: 'a', amount: '1' },
      { type: 'STRUCT(id VARCHAR, amount BIGINT)', id: 'b', amount: '2' },
      { type: 'STRUCT(id VARCHAR, amount BIGINT)', id: null, amount: null },
    ]);
  });

  it('reads an older compatible version as the part schema, with its defaults', async () => {
    const { sink, part } = partWriter();
    expect(
      part.addRecord(record(framed(2, { id: 'new', amount: 5, currency: 'USD' })), false),
    ).toBeUndefined();
    expect(part.addRecord(record(framed(1, { id: 'old', amount: 7 })), false)).toBeUndefined();

    const { finished, rows } = await finishAndRead(
      sink,
      part,
      'typeof(value) as type, value.id, value.amount::varchar as amount, value.currency',
    );
    expect(finished.valueSchema).toBe(2);
    expect(rows).toEqual([
      {
        type: 'STRUCT(id VARCHAR, amount BIGINT, currency VARCHAR)',
        id: 'new',
        amount: '5',
        currency: 'USD',
      },
      {
        type: 'STRUCT(id VARCHAR, amount BIGINT, currency VARCHAR)',
        id: 'old',
        amount: '7',
        currency: 'EUR',
      },
    ]);
  });

  it('starts a new part at a version the part schema cannot read', () => {
    const after2 = partWriter().part;
    expect(
      after2.addRecord(record(framed(2, { id: 'a', amount: 1, currency: 'EUR' })), false),
    ).toBeUndefined();
    expect(after2.addRecord(record(framed(3, { id: 'b', amount: 'ten' })), false)).toBe(NEW_PART);

    // An older version, so only the part schema's failure to read it sends it on.
    const after3 = partWriter().part;
    expect(after3.addRecord(record(framed(3, { id: 'a', amount: 'ten' })), false)).toBeUndefined();
    expect(after3.addRecord(record(framed(1, { id: 'b', amount: 1 })), false)).toBe(NEW_PART);
    expect(after3.addRecord(record(framed(2, { id: 'c', amount: 1, currency: 'EUR' })), false)).toBe(
      NEW_PART,
    );
    expect(after3.records).toBe(1);
  });

  it('has no value column when its first row has a null value, and sends framed values on', async () => {
    const { sink, part } = partWriter();
    expect(part.addRecord(record(null), false)).toBeUndefined();
    expect(part.addRecord(record(framed(1, { id: 'a', amount: 1 })), false)).toBe(NEW_PART);
    expect(part.addRecord(record(null), false)).toBeUndefined();

    const { finished, rows } = await finishAndRead(sink, part, '*');
    expect(finished).not.toHaveProperty('valueSchema');
    expect(finished.records).toBe(2);
    expect(rows.map((row) => Object.keys(row))).toEqual([
      ['topic', 'partition', 'offset', 'timestamp', 'key', 'key_encoding', 'headers'],
      ['topic', 'partition', 'offset', 'timestamp', 'key', 'key_encoding', 'headers'],
    ]);
  });

  it('lets values that do not decode go to the errors object without deciding the schema', async () => {
    const { sink, part } = partWriter();
    // Not framed, and framed with an id the registry does not hold: both are errors, neither decides.
    expect(part.addRecord(record(Buffer.from('plain text')), false)).toMatch(
      /does not start with the schema registry's magic byte/,
    );
    expect(part.addRecord(record(framed9()), false)).toMatch(/schema id 9 is not in the schema registry/);
    expect(part.addRecord(record(framed(2, { id: 'a', amount: 1, currency: 'GBP' })), false)).toBeUndefined();
    expect(part.addRecord(record(framed(1, { id: 'b', amount: 2 })), false)).toBeUndefined();

    const { finished, rows } = await finishAndRead(sink, part, 'value.id, value.currency');
    expect(finished.valueSchema).toBe(2);
    expect(rows).toEqual([
      { id: 'a', currency: 'GBP' },
      { id: 'b', currency: 'EUR' },
    ]);
  });

  it('sends a framed value to the errors object when its payload does not decode, leaving the columns to the first row', async () => {
    const { sink, part } = partWriter();
    const truncated = framed(1, { id: 'abcdef', amount: 1 }).subarray(0, 8);
    expect(part.addRecord(record(truncated), false)).toBe(
      'the value cannot be read with Avro schema id 1: truncated buffer',
    );
    expect(part.addRecord(record(framed(2, { id: 'x', amount: 1, currency: 'USD' })), false)).toBeUndefined();
    expect(part.addRecord(record(framed(1, { id: 'y', amount: 3 })), false)).toBeUndefined();
    const { finished, rows } = await finishAndRead(sink, part, 'value.id, value.currency');
    expect(finished.valueSchema).toBe(2);
    expect(rows).toEqual([
      { id: 'x', currency: 'USD' },
      { id: 'y', currency: 'EUR' },
    ]);
  });
});

/** A value framed with schema id 9, which the registry does not hold. */
function framed9(): Buffer {
  return confluentFramed(9, Buffer.from([2, 0x61]));
}
