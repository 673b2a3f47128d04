// Registry-encoded values decoded against Confluent's own writer: each payload is produced by
// @confluentinc/schemaregistry's serializers (with its in-memory registry), then read back by the
// decoder with the schema the registry holds, and compared with the JSON mapping of registry-json.ts.
import { create } from '@bufbuild/protobuf';
import {
  AvroSerializer,
  JsonSerializer,
  MockClient,
  ProtobufSerializer,
  SerdeType,
} from '@confluentinc/schemaregistry';
import { describe, expect, it } from 'vitest';
import { RegistryDecoder } from '../../src/core/registry-decoder.js';
import { FormatMismatch, type JsonDocument, ValueFormat } from '../../src/core/value-format.js';
import type { RegisteredSchema, SchemaType, SourceRecord } from '../../src/ports.js';
import { confluentAvro } from '../support/confluent-wire.js';
import { messageDesc, protoRegistry } from '../support/proto-descriptor.js';

const TOPIC = 'orders';
const VALUES = { keyFormat: ValueFormat.STRING, valueFormat: ValueFormat.CONFLUENT } as const;

/** The schema registered under `id`, references resolved, as the registry's REST API gives it. */
async function registered(
  client: MockClient,
  id: number,
  subject = `${TOPIC}-value`,
): Promise<RegisteredSchema> {
  const info = await client.getBySubjectAndId(subject, id);
  const references = await Promise.all(
    (info.references ?? []).map(async (ref) => {
      const metadata = await client.getSchemaMetadata(ref.subject, ref.version);
      return {
        name: ref.name,
        subject: ref.subject,
        version: ref.version,
        schema: await registered(client, metadata.id as number, ref.subject),
      };
    }),
  );
  return { type: (info.schemaType ?? 'AVRO') as SchemaType, text: info.schema, references };
}

const record = (value: Buffer): SourceRecord => ({
  partition: 0,
  offset: '0',
  timestampMs: 0,
  key: null,
  value,
  headers: [],
});

/** Decodes `bytes` as the pipeline does: looks its schema up, learns it, reads. */
async function decode(
  client: MockClient,
  bytes: Buffer,
  schemaOf = (id: number) => registered(client, id),
): Promise<JsonDocument | FormatMismatch> {
  const decoder = new RegistryDecoder(VALUES);
  // Confluent's schema ids are numbers.
  for (const id of decoder.unknownIds([record(bytes)])) decoder.learn(id, await schemaOf(id as number));
  return decoder.read(bytes, 'value');
}

const parsedOf = (document: JsonDocument | FormatMismatch) => {
  if (document instanceof FormatMismatch) throw new Error(document.reason);
  return JSON.parse(document.text) as unknown;
};

describe('Avro values', () => {
  const schema = {
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'big', type: 'long' },
      { name: 'note', type: ['null', 'string'], default: null },
      { name: 'amount', type: ['null', 'double'] },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
      { name: 'raw', type: 'bytes' },
      { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 2 } },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'attrs', type: { type: 'map', values: 'int' } },
      { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'atMicros', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'day', type: { type: 'int', logicalType: 'date' } },
      { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
      { name: 'ref', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'ratio', type: 'float' },
    ],
  };

  async function serialized(client: MockClient, value: Record<string, unknown>): Promise<Buffer> {
    await client.register(`${TOPIC}-value`, { schemaType: 'AVRO', schema: JSON.stringify(schema) });
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    return serializer.serialize(TOPIC, value);
  }

  it('writes every Avro type as the documented JSON', async () => {
    const client = new MockClient();
    // Confluent's writer takes avsc's shapes for logical types (it registers none): numbers and bytes.
    const bytes = await serialized(client, {
      id: 42,
      big: -4503599627370496,
      note: 'hi',
      amount: 2.5,
      status: 'PAID',
      raw: Buffer.from([1, 2, 255]),
      hash: Buffer.from([0xab, 0xcd]),
      tags: ['a', 'b'],
      attrs: { x: 1 },
      at: 1714979289123,
      atMicros: 1714979289123456,
      day: 19849,
      price: Buffer.from([0xfb, 0x32]),
      ref: '4b7e3d1c-0d4e-4e0b-9c1a-2f6f1b7a9e11',
      ratio: Number.NaN,
    });
    expect(parsedOf(await decode(client, bytes))).toEqual({
      id: 42,
      big: -4503599627370496,
      note: 'hi',
      amount: 2.5,
      status: 'PAID',
      raw: 'AQL/',
      hash: 'q80=',
      tags: ['a', 'b'],
      attrs: { x: 1 },
      at: '2024-05-06T07:08:09.123Z',
      atMicros: '2024-05-06T07:08:09.123456Z',
      day: '2024-05-06',
      price: '-12.30',
      ref: '4b7e3d1c-0d4e-4e0b-9c1a-2f6f1b7a9e11',
      ratio: 'NaN',
    });
  });

  it('writes a long past 2^53 with every digit, and parses it as a JSON value would be', async () => {
    const client = new MockClient();
    const text = JSON.stringify({ type: 'record', name: 'Big', fields: [{ name: 'n', type: 'long' }] });
    const id = await client.register(`${TOPIC}-value`, { schemaType: 'AVRO', schema: text });
    // Confluent's writer refuses such longs (avsc's long), so the payload is written by hand: a zig-zag varint.
    const payload = zigZagLong(2n ** 62n + 1n);
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, id]), payload]);
    const document = await decode(client, bytes);
    if (document instanceof FormatMismatch) throw new Error(document.reason);
    expect(document.text).toBe('{"n":4611686018427387905}');
    expect(document.parsed).toEqual({ n: Number(2n ** 62n) });
  });

  it('unwraps a union of several types to the branch value', async () => {
    const client = new MockClient();
    const text = JSON.stringify({
      type: 'record',
      name: 'U',
      fields: [{ name: 'u', type: ['null', 'string', 'double', { type: 'array', items: 'int' }] }],
    });
    await client.register(`${TOPIC}-value`, { schemaType: 'AVRO', schema: text });
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const values = [null, 'x', 1.5, [1, 2]];
    const decoded = await Promise.all(
      values.map(async (u) => parsedOf(await decode(client, await serializer.serialize(TOPIC, { u })))),
    );
    expect(decoded).toEqual(values.map((u) => ({ u })));
  });

  it("finds a record type another subject defines, through the schema's references", async () => {
    const client = new MockClient();
    const customer = {
      type: 'record',
      name: 'Customer',
      namespace: 'shop',
      fields: [{ name: 'name', type: 'string' }],
    };
    await client.register('customer', { schemaType: 'AVRO', schema: JSON.stringify(customer) });
    const order = {
      type: 'record',
      name: 'Order',
      namespace: 'shop',
      fields: [{ name: 'customer', type: 'shop.Customer' }],
    };
    await client.register(`${TOPIC}-value`, {
      schemaType: 'AVRO',
      schema: JSON.stringify(order),
      references: [{ name: 'shop.Customer', subject: 'customer', version: 1 }],
    });
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const bytes = await serializer.serialize(TOPIC, { customer: { name: 'Ada' } });
    expect(parsedOf(await decode(client, bytes))).toEqual({ customer: { name: 'Ada' } });
  });

  it('sends a payload the schema cannot read to the errors, naming the schema id', async () => {
    const client = new MockClient();
    const bytes = await serialized(client, {
      id: 1,
      big: 1,
      note: null,
      amount: null,
      status: 'NEW',
      raw: Buffer.alloc(0),
      hash: Buffer.alloc(2),
      tags: [],
      attrs: {},
      at: 0,
      atMicros: 0,
      day: 0,
      price: Buffer.alloc(0),
      ref: 'r',
      ratio: 0,
    });
    const truncated = await decode(client, bytes.subarray(0, bytes.length - 3));
    expect(truncated).toBeInstanceOf(FormatMismatch);
    expect((truncated as FormatMismatch).reason).toMatch(/^the value cannot be read with Avro schema id 1: /);
    const trailing = await decode(client, Buffer.concat([bytes, Buffer.from([1])]));
    expect((trailing as FormatMismatch).reason).toMatch(/Avro schema id 1/);
  });
});

/** A long as Avro writes it: zig-zag, then base-128 varint. */
function zigZagLong(n: bigint): Buffer {
  let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const bytes: number[] = [];
  while (z >= 0x80n) {
    bytes.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  bytes.push(Number(z));
  return Buffer.from(bytes);
}

describe('Protobuf values', () => {
  const proto = `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

message Ping { string text = 1; }

message Order {
  enum Status { UNKNOWN = 0; PAID = 1; SHIPPED = 2; }
  message Line { string sku = 1; int64 qty = 2; }
  int64 order_id = 1;
  Status status = 2;
  repeated Line lines = 3;
  google.protobuf.Timestamp placed_at = 4;
  bytes raw = 5;
  uint64 big = 6;
  google.protobuf.StringValue note = 7;
  Line first_line = 8;
  double ratio = 9;
}`;

  async function serializer(client: MockClient) {
    const registry = protoRegistry(proto, 'shop.proto');
    // The registry returns the schema as .proto text; Confluent's writer registers a descriptor.
    return {
      registry,
      serializer: new ProtobufSerializer(client, SerdeType.VALUE, {
        autoRegisterSchemas: true,
        registry: registry as never,
      }),
    };
  }
  const asProtoText = async (): Promise<RegisteredSchema> => ({
    type: 'PROTOBUF',
    text: proto,
    references: [],
  });

  it('reads a message that is not the first of its file, nested messages, enums, int64 and a Timestamp', async () => {
    const client = new MockClient();
    const { registry, serializer: writer } = await serializer(client);
    const order = create(messageDesc(registry, 'shop.Order'), {
      // Field names as @bufbuild/protobuf gives them (camelCase); wrappers unboxed.
      orderId: 9007199254740993n,
      status: 1,
      lines: [{ sku: 'a', qty: 2n }],
      placedAt: { seconds: 1714979289n, nanos: 5_000_000 },
      raw: new Uint8Array([1, 2, 255]),
      big: 18446744073709551615n,
      note: 'gift',
      ratio: Number.POSITIVE_INFINITY,
    } as never);
    const bytes = await writer.serialize(TOPIC, order);
    expect(parsedOf(await decode(client, bytes, asProtoText))).toEqual({
      order_id: '9007199254740993',
      status: 'PAID',
      lines: [{ sku: 'a', qty: '2' }],
      placed_at: '2024-05-06T07:08:09.005Z',
      raw: 'AQL/',
      big: '18446744073709551615',
      note: 'gift',
      first_line: null,
      ratio: 'Infinity',
    });
  });

  it("reads a schema registered as a base64 FileDescriptorProto, as Confluent's serializers register it", async () => {
    const client = new MockClient();
    const { registry, serializer: writer } = await serializer(client);
    const order = create(messageDesc(registry, 'shop.Order'), {
      orderId: 9007199254740993n,
      status: 2,
      lines: [{ sku: 'a', qty: 2n }],
      placedAt: { seconds: 1714979289n, nanos: 5_000_000 },
      note: 'gift',
      firstLine: { sku: 'b', qty: 1n },
    } as never);
    const bytes = await writer.serialize(TOPIC, order);
    const line = await writer.serialize(
      TOPIC,
      create(messageDesc(registry, 'shop.Order.Line'), { sku: 'c', qty: -3n } as never),
    );
    const ping = await writer.serialize(TOPIC, create(messageDesc(registry, 'shop.Ping'), { text: 'hi' }));

    const stored = await registered(client, bytes.readInt32BE(1));
    expect(stored.text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    // The same JSON as from the .proto text.
    for (const value of [bytes, line, ping]) {
      expect(parsedOf(await decode(client, value))).toEqual(
        parsedOf(await decode(client, value, asProtoText)),
      );
    }
    expect(parsedOf(await decode(client, bytes))).toMatchObject({
      order_id: '9007199254740993',
      status: 'SHIPPED',
      placed_at: '2024-05-06T07:08:09.005Z',
      note: 'gift',
      first_line: { sku: 'b', qty: '1' },
    });
  });

  it('says why a schema that is neither .proto text nor a FileDescriptorProto cannot be read', async () => {
    const client = new MockClient();
    const { registry, serializer: writer } = await serializer(client);
    const bytes = await writer.serialize(TOPIC, create(messageDesc(registry, 'shop.Ping'), { text: 'hi' }));
    const garbage = async (): Promise<RegisteredSchema> => ({
      type: 'PROTOBUF',
      text: '////',
      references: [],
    });
    const read = await decode(client, bytes, garbage);
    expect(read).toBeInstanceOf(FormatMismatch);
    expect((read as FormatMismatch).reason).toMatch(/^Protobuf schema id \d+ cannot be read: /);
  });

  it('writes every field, unset ones as their default or null', async () => {
    const client = new MockClient();
    const { registry, serializer: writer } = await serializer(client);
    const bytes = await writer.serialize(TOPIC, create(messageDesc(registry, 'shop.Order'), {}));
    expect(parsedOf(await decode(client, bytes, asProtoText))).toEqual({
      order_id: '0',
      status: 'UNKNOWN',
      lines: [],
      placed_at: null,
      raw: '',
      big: '0',
      note: null,
      first_line: null,
      ratio: 0,
    });
  });

  it('reads the first message, whose indexes are the single byte 0, and a nested one', async () => {
    const client = new MockClient();
    const { registry, serializer: writer } = await serializer(client);
    const ping = await writer.serialize(TOPIC, create(messageDesc(registry, 'shop.Ping'), { text: 'hi' }));
    expect(ping[5]).toBe(0);
    expect(parsedOf(await decode(client, ping, asProtoText))).toEqual({ text: 'hi' });
    const line = await writer.serialize(
      TOPIC,
      create(messageDesc(registry, 'shop.Order.Line'), { sku: 'b', qty: -3n } as never),
    );
    expect(parsedOf(await decode(client, line, asProtoText))).toEqual({ sku: 'b', qty: '-3' });
  });

  it('sends indexes naming no message, and bytes the message cannot read, to the errors', async () => {
    const client = new MockClient();
    const { registry, serializer: writer } = await serializer(client);
    const bytes = await writer.serialize(TOPIC, create(messageDesc(registry, 'shop.Ping'), { text: 'hi' }));
    const noSuchMessage = Buffer.concat([bytes.subarray(0, 5), Buffer.from([2, 14]), bytes.subarray(6)]);
    expect(((await decode(client, noSuchMessage, asProtoText)) as FormatMismatch).reason).toBe(
      "the value's message indexes [7] name no message of Protobuf schema id 1",
    );
    const truncated = Buffer.concat([bytes.subarray(0, 6), Buffer.from([0x0a, 0x05, 0x68])]);
    expect(((await decode(client, truncated, asProtoText)) as FormatMismatch).reason).toMatch(
      /^the value cannot be read as shop\.Ping of Protobuf schema id 1: /,
    );
  });
});

describe('typed part values', () => {
  const V1 = {
    type: 'record',
    name: 'Order',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'amount', type: 'long' },
    ],
  };
  const V2 = { ...V1, fields: [...V1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
  /** Amount as text: not a version version 2 can read. */
  const OTHER = { ...V1, fields: [V1.fields[0], { name: 'amount', type: 'string' }] };
  const avro = (schema: object): RegisteredSchema => ({
    type: 'AVRO',
    text: JSON.stringify(schema),
    references: [],
  });
  const decoder = () => {
    const d = new RegistryDecoder(VALUES);
    d.learn(1, avro(V1));
    d.learn(2, avro(V2));
    d.learn(3, avro(OTHER));
    d.learn(4, undefined);
    return d;
  };

  it('starts a part for a newer version or one the part cannot read, and reads an older one as the part', () => {
    const d = decoder();
    const v1 = confluentAvro(1, V1, { id: 'a', amount: 1 });
    const v2 = confluentAvro(2, V2, { id: 'b', amount: 2, currency: 'USD' });
    expect(d.valueSchemaOf(v1)).toEqual({ id: 1 });
    expect(d.valueSchemaOf(confluentAvro(4, V1, { id: 'c', amount: 3 }))).toBeUndefined();
    expect(d.valueSchemaOf(null)).toBeUndefined();
    expect(d.startsNewPart({ id: 1 }, { id: 1 })).toBe(false);
    expect(d.startsNewPart({ id: 1 }, { id: 2 })).toBe(true);
    expect(d.startsNewPart({ id: 2 }, { id: 1 })).toBe(false);
    expect(d.startsNewPart({ id: 2 }, { id: 3 })).toBe(true);
    const values = d.valuesOf({ id: 2 });
    expect(values.shape).toEqual({
      kind: 'struct',
      fields: [
        { name: 'id', shape: { kind: 'string' } },
        { name: 'amount', shape: { kind: 'long' } },
        { name: 'currency', shape: { kind: 'string' } },
      ],
    });
    const cells = (bytes: Buffer) => {
      const document = values.reader.read(bytes);
      if (document instanceof FormatMismatch) throw new Error(document.reason);
      return values.reader.cells((document as unknown as { decoded: never }).decoded);
    };
    expect(cells(v1)).toEqual({ id: 'a', amount: 1n, currency: 'EUR' });
    expect(cells(v2)).toEqual({ id: 'b', amount: 2n, currency: 'USD' });
    expect(d.valuesOf({ id: 2 })).toBe(values);
  });

  it('tells a newer Glue version by its version number within its schema, and another schema by its ARN', () => {
    const d = new RegistryDecoder({ keyFormat: ValueFormat.STRING, valueFormat: ValueFormat.GLUE });
    const [a1, a2, b1] = [
      '00000000-0000-0000-0000-00000000000a',
      '00000000-0000-0000-0000-00000000000b',
      '00000000-0000-0000-0000-00000000000c',
    ];
    const lineage = (schema: string, version: number) => ({ lineage: { schema, version } });
    // Version ids are random: the later version's id may sort first.
    d.learn(a2, { ...avro(V1), ...lineage('arn:orders', 1) });
    d.learn(a1, { ...avro(V2), ...lineage('arn:orders', 2) });
    d.learn(b1, { ...avro(V1), ...lineage('arn:refunds', 1) });
    expect(d.startsNewPart({ id: a2 }, { id: a1 })).toBe(true);
    expect(d.startsNewPart({ id: a1 }, { id: a2 })).toBe(false);
    expect(d.startsNewPart({ id: a2 }, { id: b1 })).toBe(true);
  });

  it('gives a Protobuf value the columns of the message it holds, and starts a part for another message of its file', async () => {
    const proto = `syntax = "proto3";
package shop;
message Ping { string text = 1; }
message Order { int64 order_id = 1; message Line { string sku = 1; } repeated Line lines = 2; }`;
    const client = new MockClient();
    const registry = protoRegistry(proto, 'shop.proto');
    const writer = new ProtobufSerializer(client, SerdeType.VALUE, {
      autoRegisterSchemas: true,
      registry: registry as never,
    });
    const order = await writer.serialize(
      TOPIC,
      create(messageDesc(registry, 'shop.Order'), { orderId: 7n, lines: [{ sku: 'x' }] } as never),
    );
    const ping = await writer.serialize(TOPIC, create(messageDesc(registry, 'shop.Ping'), { text: 'hi' }));
    const d = new RegistryDecoder(VALUES);
    d.learn(order.readInt32BE(1), { type: 'PROTOBUF', text: proto, references: [] });
    const orderSchema = d.valueSchemaOf(order);
    const pingSchema = d.valueSchemaOf(ping);
    expect(orderSchema).toEqual({ id: order.readInt32BE(1), message: 'shop.Order' });
    expect(pingSchema).toEqual({ id: order.readInt32BE(1), message: 'shop.Ping' });
    expect(d.startsNewPart(orderSchema as never, pingSchema as never)).toBe(true);
    const values = d.valuesOf(orderSchema as never);
    expect(values.shape).toEqual({
      kind: 'struct',
      fields: [
        { name: 'order_id', shape: { kind: 'long' } },
        {
          name: 'lines',
          shape: {
            kind: 'list',
            element: { kind: 'struct', fields: [{ name: 'sku', shape: { kind: 'string' } }] },
          },
        },
      ],
    });
    const document = values.reader.read(order);
    if (document instanceof FormatMismatch) throw new Error(document.reason);
    expect(values.reader.cells((document as unknown as { decoded: never }).decoded)).toEqual({
      order_id: 7n,
      lines: [{ sku: 'x' }],
    });
    // A Ping read into Order's columns is refused, naming both (it starts a part of its own instead).
    expect(values.reader.read(ping)).toMatchObject({
      reason: expect.stringMatching(/shop\.Ping.*shop\.Order/),
    });
  });
});

describe('JSON Schema values', () => {
  it('writes the payload as the JSON text it is', async () => {
    const client = new MockClient();
    const schema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } };
    await client.register(`${TOPIC}-value`, { schemaType: 'JSON', schema: JSON.stringify(schema) });
    const writer = new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const bytes = await writer.serialize(TOPIC, { id: 7, name: 'x' });
    const document = await decode(client, bytes);
    expect(document).toEqual({ text: '{"id":7,"name":"x"}', parsed: { id: 7, name: 'x' } });
    const broken = Buffer.concat([bytes.subarray(0, 5), Buffer.from('{"id":')]);
    expect(((await decode(client, broken)) as FormatMismatch).reason).toMatch(
      /^the value is not valid JSON: .* \(JSON Schema id 1\)$/,
    );
  });
});

describe('schemas the registry does not hold', () => {
  it('sends a value whose schema id the registry does not know to the errors, naming the id', async () => {
    const decoder = new RegistryDecoder(VALUES);
    const bytes = Buffer.from([0, 0, 0, 1, 0, 1, 2]);
    expect(decoder.unknownIds([record(bytes), record(bytes)])).toEqual([256]);
    decoder.learn(256, undefined);
    expect(decoder.unknownIds([record(bytes)])).toEqual([]);
    expect((decoder.read(bytes, 'value') as FormatMismatch).reason).toBe(
      'schema id 256 is not in the schema registry',
    );
  });

  it('sends a value whose schema cannot be compiled to the errors, saying why', () => {
    const decoder = new RegistryDecoder(VALUES);
    decoder.learn(3, {
      type: 'AVRO',
      text: '{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}',
      references: [],
    });
    expect((decoder.read(Buffer.from([0, 0, 0, 0, 3]), 'value') as FormatMismatch).reason).toMatch(
      /^Avro schema id 3 cannot be read: /,
    );
  });
});
