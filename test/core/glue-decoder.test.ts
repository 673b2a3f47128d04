// Values in the AWS Glue Schema Registry's wire format decoded by the registry decoder: Avro payloads
// written by avsc, JSON text, and Protobuf payloads written by protobufjs behind Glue's message index,
// each framed uncompressed and zlib-compressed as AWS's serializers frame them, then read back with the
// schema version GetSchemaVersion would give, and compared with the JSON mapping of registry-json.ts.
import avro from 'avsc';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { RegistryDecoder } from '../../src/core/registry-decoder.js';
import { FormatMismatch, type JsonDocument, ValueFormat } from '../../src/core/value-format.js';
import type { RegisteredSchema, SourceRecord } from '../../src/ports.js';
import { glueFramed, ORDER_SCHEMA, unsignedVarint } from '../support/glue-wire.js';

const VALUES = { keyFormat: ValueFormat.STRING, valueFormat: ValueFormat.GLUE } as const;
const V1 = '6f1c2b4e-0d2a-4c59-9a57-3f2b1e0c9d01';
const V2 = '0a9e8d7c-6b5a-4938-8271-605f4e3d2c1b';

const record = (value: Buffer | null, key: Buffer | null = null): SourceRecord => ({
  partition: 0,
  offset: '0',
  timestampMs: 0,
  key,
  value,
  headers: [],
});

/** Decodes `bytes` as the pipeline does: looks its version up in `versions`, learns it, reads. */
function decode(
  bytes: Buffer,
  versions: Readonly<Record<string, RegisteredSchema>>,
  formats = VALUES,
): JsonDocument | FormatMismatch {
  const decoder = new RegistryDecoder(formats);
  for (const id of decoder.unknownIds([record(bytes)])) decoder.learn(id, versions[id]);
  return decoder.read(bytes, 'value');
}

const textOf = (document: JsonDocument | FormatMismatch) => {
  if (document instanceof FormatMismatch) throw new Error(document.reason);
  return document.text;
};

describe.each(['none', 'zlib'] as const)('Glue values, compression %s', (compression) => {
  it('decodes an Avro payload written by avsc, with a union and a logical type', () => {
    const schema = {
      ...ORDER_SCHEMA,
      fields: [...ORDER_SCHEMA.fields, { name: 'note', type: ['null', 'string'], default: null }],
    };
    const payload = avro.Type.forSchema(schema as avro.Schema).toBuffer({
      id: 'o-1',
      amount: 1250,
      note: 'gift',
      at: Date.UTC(2026, 11, 7, 8, 0, 0, 123),
    });
    const versions = { [V1]: { type: 'AVRO', text: JSON.stringify(schema), references: [] } as const };

    const document = decode(glueFramed(V1, payload, compression), versions);

    expect(textOf(document)).toBe('{"id":"o-1","amount":1250,"at":"2026-12-07T08:00:00.123Z","note":"gift"}');
  });

  it('writes a JSON payload as the JSON text it is', () => {
    const versions = {
      [V1]: { type: 'JSON', text: '{"type":"object"}', references: [] } as const,
    };
    const text = '{"id":7,"big":12345678901234567890,"name":"x"}';

    expect(decode(glueFramed(V1, Buffer.from(text), compression), versions)).toEqual({
      text,
      parsed: JSON.parse(text),
    });
  });

  it("decodes a Protobuf payload whose message Glue's index names, nested and after a map's entry", () => {
    const proto = `syntax = "proto3"; package shop;
      message Order { string id = 1; map<string, int64> line_items = 2; message Line { int32 qty = 1; } }
      message Ack { string id = 1; }`;
    // Glue's order: shop.Ack 0, shop.Order 1, shop.Order.Line 2, shop.Order.LineItemsEntry 3.
    const root = protobuf.parse(proto, { keepCase: true }).root;
    const encode = (type: string, value: object) =>
      Buffer.from(root.lookupType(type).encode(root.lookupType(type).fromObject(value)).finish());
    const versions = { [V1]: { type: 'PROTOBUF', text: proto, references: [] } as const };
    const framed = (index: number, message: Buffer) =>
      glueFramed(V1, Buffer.concat([unsignedVarint(index), message]), compression);

    const order = decode(framed(1, encode('shop.Order', { id: 'o-2', line_items: { a: 3 } })), versions);
    const line = decode(framed(2, encode('shop.Order.Line', { qty: 4 })), versions);
    const ack = decode(framed(0, encode('shop.Ack', { id: 'o-2' })), versions);
    const entry = decode(framed(3, Buffer.alloc(0)), versions);
    const beyond = decode(framed(4, Buffer.alloc(0)), versions);

    expect(textOf(order)).toBe('{"id":"o-2","line_items":{"a":"3"}}');
    expect(textOf(line)).toBe('{"qty":4}');
    expect(textOf(ack)).toBe('{"id":"o-2"}');
    expect((entry as FormatMismatch).reason).toBe(
      `the value's message index 3 names shop.Order.LineItemsEntry, a map field's entry, not a message of Protobuf schema version id ${V1}`,
    );
    expect((beyond as FormatMismatch).reason).toBe(
      `the value's message index 4 names no message of Protobuf schema version id ${V1} (it numbers 4)`,
    );
  });
});

describe('Glue values that cannot be decoded', () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] };
  const versions = { [V1]: { type: 'AVRO', text: JSON.stringify(schema), references: [] } as const };

  it('sends a payload its version cannot read to the errors, naming the version id', () => {
    const truncated = glueFramed(V1, Buffer.from([0x0a, 0x61]));
    expect((decode(truncated, versions) as FormatMismatch).reason).toMatch(
      new RegExp(`^the value cannot be read with Avro schema version id ${V1}: `),
    );
  });

  it('sends a value whose version the registry does not hold to the errors, naming the version id', () => {
    const decoder = new RegistryDecoder(VALUES);
    const bytes = glueFramed(V2, Buffer.from([2, 0x61]));
    expect(decoder.unknownIds([record(bytes), record(bytes), record(null)])).toEqual([V2]);
    decoder.learn(V2, undefined);
    expect(decoder.unknownIds([record(bytes)])).toEqual([]);
    expect((decoder.read(bytes, 'value') as FormatMismatch).reason).toBe(
      `schema version id ${V2} is not in the schema registry`,
    );
  });

  it('sends a value whose version the schema source refused to the errors, with its reason', () => {
    const decoder = new RegistryDecoder(VALUES);
    const bytes = glueFramed(V2, Buffer.from([2, 0x61]));
    decoder.learn(
      V2,
      new FormatMismatch(`schema version id ${V2} belongs to registry 'other', not to 'orders'`),
    );
    expect((decoder.read(bytes, 'value') as FormatMismatch).reason).toBe(
      `schema version id ${V2} belongs to registry 'other', not to 'orders'`,
    );
  });

  it('looks up nothing for bytes that are not framed, and sends them to the errors', () => {
    const decoder = new RegistryDecoder(VALUES);
    const plain = Buffer.from('{"plain":"json"}');
    expect(decoder.unknownIds([record(plain)])).toEqual([]);
    expect((decoder.read(plain, 'value') as FormatMismatch).reason).toBe(
      "the value does not start with the Glue Schema Registry's header version 3 (it starts with 123)",
    );
  });

  it('reads Glue keys beside string values, and Confluent-framed values are not Glue frames', () => {
    const decoder = new RegistryDecoder({ keyFormat: ValueFormat.GLUE, valueFormat: ValueFormat.STRING });
    const key = glueFramed(V1, avro.Type.forSchema(schema as avro.Schema).toBuffer({ a: 'k' }));
    const confluent = Buffer.from([0, 0, 0, 0, 1, 2, 0x61]);
    expect(decoder.unknownIds([record(confluent, key)])).toEqual([V1]);
    decoder.learn(V1, versions[V1]);
    expect(textOf(decoder.read(key, 'key'))).toBe('{"a":"k"}');
  });
});
