// Compiled Protobuf schemas: the column type of the values (the file's first top-level message), and
// payloads of another version of the file read by field numbers. Payloads are written with protobufjs,
// after Confluent's message indexes, without the registry's 5-byte frame.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { describe, expect, it } from 'vitest';
import { compileProtobuf } from '../../src/core/protobuf-reader.js';
import type { CompiledSchema, PayloadReader } from '../../src/core/registry-json.js';
import { FormatMismatch } from '../../src/core/value-format.js';
import { shapeText } from '../../src/core/value-shape.js';
import type { RegisteredSchema } from '../../src/ports.js';

const protoSchema = (text: string): RegisteredSchema => ({ type: 'PROTOBUF', text, references: [] });

function compiled(text: string, id = 1): CompiledSchema {
  const result = compileProtobuf(protoSchema(text), id);
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

/** `value` as message `name` of `text`, after Confluent's message indexes (`[0]` is the single byte 0). */
function payload(text: string, name: string, value: object, indexes: readonly number[] = [0]): Buffer {
  const parsedFile = protobuf.parse(text, new protobuf.Root(), { keepCase: true });
  for (const imported of parsedFile.imports ?? [])
    parsedFile.root.addJSON(protobuf.common.get(imported)?.nested ?? {});
  const type = parsedFile.root.lookupType(name);
  // The count, then each index, as zig-zag varints (a small non-negative number's is the number doubled).
  const header =
    indexes.length === 1 && indexes[0] === 0 ? [0] : [indexes.length, ...indexes].map((n) => n * 2);
  return Buffer.concat([Buffer.from(header), type.encode(type.fromObject(value)).finish()]);
}

const EVERY_TYPE = `syntax = "proto3";
package shop;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// The first message is the values' message.
message Order {
  enum Status { UNKNOWN = 0; PAID = 1; }
  message Line { string sku = 1; }
  // The order number.
  int32 i32 = 1;
  sint32 s32 = 2;
  sfixed32 sf32 = 3;
  uint32 u32 = 4;
  fixed32 f32 = 5;
  int64 i64 = 6;
  sint64 s64 = 7;
  sfixed64 sf64 = 8;
  uint64 u64 = 9;
  fixed64 f64 = 10;
  float fl = 11;
  double db = 12;
  bool flag = 13;
  string text = 14;
  bytes raw = 15;
  Status status = 16;
  Line line = 17;
  repeated Line lines = 18;
  map<string, int64> counts = 19;
  oneof choice { string code = 20; Line other = 21; }
  optional string maybe = 22;
  google.protobuf.Timestamp at = 23;
  google.protobuf.Duration took = 24;
  google.protobuf.DoubleValue w_double = 25;
  google.protobuf.FloatValue w_float = 26;
  google.protobuf.Int64Value w_int64 = 27;
  google.protobuf.UInt64Value w_uint64 = 28;
  google.protobuf.Int32Value w_int32 = 29;
  google.protobuf.UInt32Value w_uint32 = 30;
  google.protobuf.BoolValue w_bool = 31;
  google.protobuf.StringValue w_string = 32;
  google.protobuf.BytesValue w_bytes = 33;
  google.protobuf.Struct st = 34;
  google.protobuf.Value val = 35;
  google.protobuf.ListValue lst = 36;
  google.protobuf.Any any = 37;
  google.protobuf.Empty empty = 38;
  google.protobuf.FieldMask mask = 39;
  repeated google.protobuf.Timestamp times = 40;
}

message Ping { string text = 1; }
`;

describe('the column type of a Protobuf schema', () => {
  it("gives the first message's fields their mapped types, in declaration order", () => {
    const { shape } = compiled(EVERY_TYPE);
    expect(shape.kind).toBe('struct');
    const fields = shape.kind === 'struct' ? shape.fields : [];
    const expected = {
      i32: 'int',
      s32: 'int',
      sf32: 'int',
      u32: 'long',
      f32: 'long',
      i64: 'long',
      s64: 'long',
      sf64: 'long',
      u64: 'decimal(20,0)',
      f64: 'decimal(20,0)',
      fl: 'float',
      db: 'double',
      flag: 'boolean',
      text: 'string',
      raw: 'binary',
      status: 'string',
      line: 'struct<sku:string>',
      lines: 'list<struct<sku:string>>',
      counts: 'map<string,long>',
      code: 'string',
      other: 'struct<sku:string>',
      maybe: 'string',
      at: 'timestamp(micros)',
      took: 'string',
      w_double: 'double',
      w_float: 'float',
      w_int64: 'long',
      w_uint64: 'decimal(20,0)',
      w_int32: 'int',
      w_uint32: 'long',
      w_bool: 'boolean',
      w_string: 'string',
      w_bytes: 'binary',
      st: 'json',
      val: 'json',
      lst: 'json',
      any: 'json',
      empty: 'json',
      mask: 'string',
      times: 'list<timestamp(micros)>',
    };
    expect(fields.map((field) => [field.name, shapeText(field.shape)])).toEqual(Object.entries(expected));
  });

  it('orders the fields as the message declares them, not by number', () => {
    const { shape } = compiled('syntax = "proto3"; message M { string b = 2; int32 a = 1; }');
    expect(shapeText(shape)).toBe('struct<b:string,a:int>');
  });

  it("keeps the .proto's comments as the fields' docs", () => {
    const { shape } = compiled(EVERY_TYPE);
    const fields = shape.kind === 'struct' ? shape.fields : [];
    expect(fields[0]).toEqual({ name: 'i32', shape: { kind: 'int' }, doc: 'The order number.' });
    expect(fields[1]).not.toHaveProperty('doc');
  });

  it('gives a message inside itself the json type where it recurs', () => {
    const { shape } = compiled(`syntax = "proto3";
message Node {
  int32 value = 1;
  Node next = 2;
  repeated Node children = 3;
  map<string, Node> named = 4;
  Leaf leaf = 5;
}
message Leaf { Node parent = 1; }`);
    expect(shapeText(shape)).toBe(
      'struct<value:int,next:json,children:list<json>,named:map<string,json>,leaf:struct<parent:json>>',
    );
  });

  it('gives the same type to a schema registered as a base64 FileDescriptorProto', () => {
    const text = `syntax = "proto3"; package p;
message A { int64 id = 1; map<string, B> kids = 2; repeated string tags = 3; uint64 big = 4; }
message B { bool ok = 1; }`;
    const root = protobuf.parse(text, new protobuf.Root(), { keepCase: true }).root;
    root.resolveAll();
    const file = (root.toDescriptor('proto3') as unknown as { file: object[] }).file[0] as object;
    const base64 = Buffer.from(descriptor.FileDescriptorProto.encode(file).finish()).toString('base64');
    expect(shapeText(compiled(base64).shape)).toBe(shapeText(compiled(text).shape));
    expect(shapeText(compiled(base64).shape)).toBe(
      'struct<id:long,kids:map<string,struct<ok:boolean>>,tags:list<string>,big:decimal(20,0)>',
    );
  });

  it('says why a file with no message has no values', () => {
    expect(compileProtobuf(protoSchema('syntax = "proto3"; enum E { A = 0; }'), 5)).toBe(
      'Protobuf schema id 5 declares no message',
    );
  });
});

describe('reading Protobuf payloads', () => {
  it('reads payloads of the first message, and refuses those of another, naming both', () => {
    const schema = compiled(EVERY_TYPE, 3);
    const order = payload(EVERY_TYPE, 'shop.Order', { i32: 5, u64: '18446744073709551615' });
    expect(parsed(schema.read(order, 'value'))).toMatchObject({ i32: 5, u64: '18446744073709551615' });
    const ping = payload(EVERY_TYPE, 'shop.Ping', { text: 'hi' }, [1]);
    expect((schema.read(ping, 'value') as FormatMismatch).reason).toBe(
      'the value is a shop.Ping, but the columns of Protobuf schema id 3 are those of shop.Order',
    );
  });
});

describe('reading a Protobuf payload written with another version', () => {
  const v1 = `syntax = "proto3";
package shop;
message Order { int64 id = 1; string note = 2; }
message Ping { string text = 1; }`;
  // v2 adds a field and a message before Ping (which moves Ping's index, not Order's).
  const v2 = `syntax = "proto3";
package shop;
message Order { int64 id = 1; string note = 2; repeated string tags = 3; Ping ping = 4; }
message Pong { string text = 1; }
message Ping { string text = 1; }`;

  it('reads an old payload as the new message: the added fields are unset, so their defaults or null', () => {
    const reader = readerOf(compiled(v2, 2).readAs(compiled(v1, 1)));
    const old = payload(v1, 'shop.Order', { id: 7, note: 'gift' });
    expect(parsed(reader(old, 'value'))).toEqual({ id: '7', note: 'gift', tags: [], ping: null });
  });

  it('reads a new payload as the old message, skipping the fields it does not know', () => {
    const reader = readerOf(compiled(v1, 1).readAs(compiled(v2, 2)));
    const current = payload(v2, 'shop.Order', { id: 8, note: 'n', tags: ['a'], ping: { text: 'x' } });
    expect(parsed(reader(current, 'value'))).toEqual({ id: '8', note: 'n' });
  });

  it("names a payload's message with the writer's own file", () => {
    const reader = readerOf(compiled(v1, 1).readAs(compiled(v2, 2)));
    // In v2, index [2] is Ping: not the values' message, whatever v1 numbers 2.
    const ping = payload(v2, 'shop.Ping', { text: 'hi' }, [2]);
    expect((reader(ping, 'value') as FormatMismatch).reason).toBe(
      'the value is a shop.Ping, but the columns of Protobuf schema id 2 are those of shop.Order',
    );
  });

  it('says why a payload cannot be read, naming both schemas', () => {
    const reader = readerOf(compiled(v2, 2).readAs(compiled(v1, 1)));
    const broken = Buffer.from([0, 0x12, 0x05, 0x68]);
    expect((reader(broken, 'value') as FormatMismatch).reason).toMatch(
      /^the value, written with Protobuf schema id 1, cannot be read as shop\.Order of Protobuf schema id 2: /,
    );
  });

  it('refuses a version whose values are another message, or a schema that is not Protobuf', () => {
    const renamed = v2.replace('message Order', 'message Invoice');
    expect(compiled(renamed, 3).readAs(compiled(v1, 1))).toBe(
      'Protobuf schema id 3 cannot read values written with Protobuf schema id 1: its values are shop.Order, not shop.Invoice',
    );
    const notProtobuf: CompiledSchema = {
      read: () => new FormatMismatch('never'),
      shape: { kind: 'json' },
      readAs: () => 'never',
    };
    expect(compiled(v1, 1).readAs(notProtobuf)).toMatch(/: it is not a Protobuf schema$/);
  });
});
