// Compiled Avro schemas: the column type each gives its values, and payloads of another version of the
// schema read as its own values through Avro's schema resolution. Payloads are written with avsc, unframed.
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { compileAvro } from '../../src/core/avro-reader.js';
import type { CompiledSchema, PayloadReader } from '../../src/core/registry-json.js';
import { FormatMismatch } from '../../src/core/value-format.js';
import { shapeText } from '../../src/core/value-shape.js';
import type { RegisteredSchema } from '../../src/ports.js';

const avroSchema = (schema: object): RegisteredSchema => ({
  type: 'AVRO',
  text: JSON.stringify(schema),
  references: [],
});

function compiled(schema: object, id = 1): CompiledSchema {
  const result = compileAvro(avroSchema(schema), id);
  if (typeof result === 'string') throw new Error(result);
  return result;
}

function readerOf(reader: PayloadReader | string): PayloadReader {
  if (typeof reader === 'string') throw new Error(reader);
  return reader;
}

const parsed = (read: ReturnType<PayloadReader>): unknown => {
  if (read instanceof FormatMismatch) throw new Error(read.reason);
  return read.parsed;
};

/** One field's shape, as text. */
const fieldShape = (type: unknown): string => {
  const shape = compiled({ type: 'record', name: 'R', fields: [{ name: 'f', type }] }).shape;
  if (shape.kind !== 'struct') throw new Error(`a record gave ${shapeText(shape)}`);
  return shapeText(shape.fields[0]?.shape ?? { kind: 'json' });
};

describe('the column type of an Avro schema', () => {
  it.each([
    ['boolean', 'boolean'],
    ['int', 'int'],
    ['long', 'long'],
    ['float', 'float'],
    ['double', 'double'],
    ['bytes', 'binary'],
    [{ type: 'fixed', name: 'Hash', size: 4 }, 'binary'],
    ['string', 'string'],
    [{ type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] }, 'string'],
    [{ type: 'array', items: 'int' }, 'list<int>'],
    [{ type: 'map', values: 'double' }, 'map<string,double>'],
    [['null', 'string'], 'string'],
    [['long', 'null'], 'long'],
    [['null', 'string', 'long'], 'json'],
    [['string', 'long'], 'json'],
    ['null', 'json'],
    [{ type: 'long', logicalType: 'timestamp-millis' }, 'timestamp(millis)'],
    [{ type: 'long', logicalType: 'timestamp-micros' }, 'timestamp(micros)'],
    [{ type: 'int', logicalType: 'date' }, 'date'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 }, 'decimal(9,2)'],
    [
      { type: 'fixed', name: 'Money', size: 16, logicalType: 'decimal', precision: 38, scale: 0 },
      'decimal(38,0)',
    ],
    [{ type: 'bytes', logicalType: 'decimal', precision: 39, scale: 2 }, 'string'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 4, scale: 6 }, 'string'],
    [{ type: 'string', logicalType: 'uuid' }, 'string'],
    [['null', { type: 'long', logicalType: 'timestamp-millis' }], 'timestamp(millis)'],
    // A logical type the mapping does not name is its underlying type.
    [{ type: 'int', logicalType: 'time-millis' }, 'int'],
  ])('gives %j the column type %s', (type, expected) => {
    expect(fieldShape(type)).toBe(expected);
  });

  it('gives a record a struct of its fields in order, with their docs', () => {
    const { shape } = compiled({
      type: 'record',
      name: 'Order',
      fields: [
        { name: 'id', type: 'long', doc: 'The order number.' },
        {
          name: 'lines',
          type: {
            type: 'array',
            items: { type: 'record', name: 'Line', fields: [{ name: 'sku', type: 'string' }] },
          },
        },
        { name: 'first', type: ['null', 'Line'], default: null },
      ],
    });
    expect(shapeText(shape)).toBe('struct<id:long,lines:list<struct<sku:string>>,first:struct<sku:string>>');
    const fields = shape.kind === 'struct' ? shape.fields : [];
    expect(fields[0]).toEqual({ name: 'id', shape: { kind: 'long' }, doc: 'The order number.' });
    expect(fields[1]).not.toHaveProperty('doc');
  });

  it('gives a record inside itself the json type where it recurs', () => {
    const { shape } = compiled({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'value', type: 'int' },
        { name: 'next', type: ['null', 'Node'], default: null },
        { name: 'children', type: { type: 'array', items: 'Node' } },
      ],
    });
    expect(shapeText(shape)).toBe('struct<value:int,next:json,children:list<json>>');
  });

  it('still says why a schema cannot be compiled', () => {
    expect(compileAvro({ type: 'AVRO', text: '{"type":"record"', references: [] }, 4)).toMatch(
      /^Avro schema id 4 cannot be read: /,
    );
  });
});

describe('reading an Avro payload written with another version', () => {
  const v1 = {
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'int' },
      { name: 'note', type: 'string' },
      { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    ],
  };
  // v2 drops `note`, widens `id` to a long, and adds two fields with defaults.
  const v2 = {
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
      { name: 'currency', type: 'string', default: 'EUR' },
      { name: 'coupon', type: ['null', 'string'], default: null },
    ],
  };
  const old = avro.Type.forSchema(v1 as avro.Schema).toBuffer({
    id: 7,
    note: 'gift',
    price: Buffer.from([0xfb, 0x32]),
  });
  const current = avro.Type.forSchema(v2 as avro.Schema, { wrapUnions: true }).toBuffer({
    id: 8,
    price: Buffer.from([0x04, 0xd2]),
    currency: 'USD',
    coupon: { string: 'SAVE' },
  });

  it("reads an old payload as the new schema's value: added fields take their defaults, removed ones go", () => {
    const reader = readerOf(compiled(v2, 2).readAs(compiled(v1, 1)));
    expect(parsed(reader(old, 'value'))).toEqual({ id: 7, price: '-12.30', currency: 'EUR', coupon: null });
  });

  it("reads a new payload as the old schema's value, when the old one's fields all have values in it", () => {
    const noNote = { ...v1, fields: v1.fields.filter((field) => field.name !== 'note') };
    // v2's long id cannot be read as v1's int: resolution only widens.
    expect(compiled(noNote, 1).readAs(compiled(v2, 2))).toMatch(
      /^Avro schema id 1 cannot read values written with Avro schema id 2: /,
    );
    const longId = { ...noNote, fields: [{ name: 'id', type: 'long' }, ...noNote.fields.slice(1)] };
    const reader = readerOf(compiled(longId, 1).readAs(compiled(v2, 2)));
    expect(parsed(reader(current, 'value'))).toEqual({ id: 8, price: '12.34' });
  });

  it('reads a payload with the same schema as read does', () => {
    const schema = compiled(v2, 2);
    expect(readerOf(schema.readAs(schema))(current, 'value')).toEqual(schema.read(current, 'value'));
  });

  it('says why two versions cannot be read as one another, naming both', () => {
    const renamed = { ...v2, name: 'Invoice' };
    expect(compiled(renamed, 3).readAs(compiled(v1, 1))).toMatch(
      /^Avro schema id 3 cannot read values written with Avro schema id 1: /,
    );
    const noDefault = { ...v2, fields: [...v2.fields, { name: 'tax', type: 'double' }] };
    expect(compiled(noDefault, 4).readAs(compiled(v1, 1))).toMatch(
      /^Avro schema id 4 cannot read values written with Avro schema id 1: .*tax/,
    );
    const otherScale = {
      ...v1,
      fields: [
        ...v1.fields.slice(0, 2),
        { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 3 } },
      ],
    };
    expect(compiled(otherScale, 5).readAs(compiled(v1, 1))).toMatch(
      /^Avro schema id 5 cannot read .* id 1: /,
    );
  });

  it('reads a plain long as a timestamp, but not a timestamp of another unit', () => {
    const at = (type: unknown) => ({ type: 'record', name: 'Event', fields: [{ name: 'at', type }] });
    const millis = compiled(at({ type: 'long', logicalType: 'timestamp-millis' }), 2);
    const plain = avro.Type.forSchema(at('long') as avro.Schema).toBuffer({ at: 1714979289123 });
    const reader = readerOf(millis.readAs(compiled(at('long'), 1)));
    expect(parsed(reader(plain, 'value'))).toEqual({ at: '2024-05-06T07:08:09.123Z' });
    const micros = compiled(at({ type: 'long', logicalType: 'timestamp-micros' }), 3);
    expect(millis.readAs(micros)).toMatch(
      /^Avro schema id 2 cannot read values written with Avro schema id 3: /,
    );
  });

  it('reads optional logical types and recursive records across versions', () => {
    const node = (extra: object[]) => ({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'at', type: ['null', { type: 'long', logicalType: 'timestamp-micros' }], default: null },
        { name: 'next', type: ['null', 'Node'], default: null },
        ...extra,
      ],
    });
    const writer = avro.Type.forSchema(node([]) as avro.Schema, { wrapUnions: true });
    const bytes = writer.toBuffer({ at: { long: 1 }, next: { Node: { at: null, next: null } } });
    const reader = readerOf(
      compiled(node([{ name: 'depth', type: 'int', default: 0 }]), 2).readAs(compiled(node([]), 1)),
    );
    expect(parsed(reader(bytes, 'value'))).toEqual({
      at: '1970-01-01T00:00:00.000001Z',
      next: { at: null, next: null, depth: 0 },
      depth: 0,
    });
  });

  it('refuses a writer that is not an Avro schema', () => {
    const notAvro: CompiledSchema = {
      read: () => new FormatMismatch('never'),
      shape: { kind: 'json' },
      readAs: () => 'never',
    };
    expect(compiled(v1, 1).readAs(notAvro)).toMatch(
      /^Avro schema id 1 cannot read values written with .*not an Avro schema$/,
    );
  });

  it("sends a payload the writer's schema cannot read to the errors, naming both schemas", () => {
    const reader = readerOf(compiled(v2, 2).readAs(compiled(v1, 1)));
    const read = reader(old.subarray(0, old.length - 1), 'value');
    expect((read as FormatMismatch).reason).toMatch(
      /^the value cannot be read with Avro schema id 1 as Avro schema id 2: /,
    );
  });
});
