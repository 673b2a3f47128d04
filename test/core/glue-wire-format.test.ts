// The AWS Glue Schema Registry's wire format read from raw bytes: the header, the zlib payload, the
// Protobuf message index and which message it names, and every way they can be malformed, each with the
// reason its record carries to the errors object.
import { deflateSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { glueMessageOrder, mapEntryName } from '../../src/core/glue-protobuf-messages.js';
import {
  MAX_INFLATED_BYTES,
  readGlueFrame,
  readGlueHeader,
  readGlueMessageIndex,
} from '../../src/core/glue-wire-format.js';
import { FormatMismatch } from '../../src/core/value-format.js';
import { glueFramed, unsignedVarint } from '../support/glue-wire.js';

const VERSION = 'b7b4a7f0-9c96-4e4a-a687-fb5de9ef0c63';
const ID_BYTES = [...Buffer.from(VERSION.replace(/-/g, ''), 'hex')];
const reasonOf = (answer: unknown) => (answer as FormatMismatch).reason;

describe('readGlueFrame', () => {
  it('reads the schema version id as a UUID and the payload after the 18-byte header', () => {
    expect(readGlueFrame(Buffer.from([3, 0, ...ID_BYTES, 9, 8]), 'value')).toEqual({
      versionId: VERSION,
      payload: Buffer.from([9, 8]),
    });
  });

  it('inflates a zlib payload, as the header says', () => {
    const payload = Buffer.from('{"id":1}'.repeat(50));
    const framed = glueFramed(VERSION, payload, 'zlib');
    expect(framed[1]).toBe(5);
    expect(framed.length).toBeLessThan(payload.length);
    expect(readGlueFrame(framed, 'value')).toEqual({ versionId: VERSION, payload });
  });

  it('reads a header with an empty payload', () => {
    expect(readGlueFrame(Buffer.from([3, 0, ...ID_BYTES]), 'key')).toEqual({
      versionId: VERSION,
      payload: Buffer.alloc(0),
    });
  });

  it.each([
    [[], 'the value is empty, so it holds no schema version id'],
    [
      [0x7b, 0x7d],
      "the value does not start with the Glue Schema Registry's header version 3 (it starts with 123)",
    ],
    [
      [0, 0, 0, 0, 1],
      "the value does not start with the Glue Schema Registry's header version 3 (it starts with 0)",
    ],
    [
      [3, 0, ...ID_BYTES.slice(0, 15)],
      'the value is 17 bytes, shorter than the 18-byte Glue Schema Registry header',
    ],
    [[3], 'the value is 1 bytes, shorter than the 18-byte Glue Schema Registry header'],
    [
      [3, 1, ...ID_BYTES, 1],
      `the value written with schema version id ${VERSION} names compression 1, neither 0 (none) nor 5 (zlib)`,
    ],
  ])('refuses %j: %s', (bytes, reason) => {
    const frame = readGlueFrame(Buffer.from(bytes), 'value');
    expect(frame).toBeInstanceOf(FormatMismatch);
    expect(reasonOf(frame)).toBe(reason);
  });

  it('refuses a zlib payload that does not inflate, naming the version id', () => {
    const truncated = deflateSync(Buffer.from('a longer payload than its first bytes')).subarray(0, 6);
    const notZlib = Buffer.from('plain text');
    for (const body of [truncated, notZlib]) {
      const frame = readGlueFrame(Buffer.from([3, 5, ...ID_BYTES, ...body]), 'key');
      expect(reasonOf(frame)).toMatch(
        new RegExp(`^the key's zlib payload after schema version id ${VERSION} cannot be inflated: `),
      );
    }
  });

  it('refuses a zlib payload that inflates past the bound, rather than holding it', () => {
    const bomb = deflateSync(Buffer.alloc(MAX_INFLATED_BYTES + 1));
    expect(reasonOf(readGlueFrame(Buffer.from([3, 5, ...ID_BYTES, ...bomb]), 'value'))).toMatch(
      /cannot be inflated: .*(larger|exceed|Cannot create a Buffer)/i,
    );
  });

  it('reads the header alone without inflating, for the lookup of unknown versions', () => {
    const header = readGlueHeader(Buffer.from([3, 5, ...ID_BYTES, 1, 2, 3]), 'value');
    expect(header).toEqual({ versionId: VERSION, compression: 5, body: Buffer.from([1, 2, 3]) });
  });
});

describe('readGlueMessageIndex', () => {
  it.each([
    [0, [0]],
    [3, [3]],
    [300, [0xac, 0x02]],
    [0xffff_ffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('reads index %d as an unsigned varint, and the message after it', (index, bytes) => {
    expect([...unsignedVarint(index)]).toEqual(bytes);
    expect(readGlueMessageIndex(Buffer.from([...bytes, 0x0a, 0]), VERSION)).toEqual({
      index,
      message: Buffer.from([0x0a, 0]),
    });
  });

  it.each([
    [[], 'the payload ends inside it'],
    [[0x80, 0x80], 'the payload ends inside it'],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 'it is longer than 5 bytes'],
    [[0xff, 0xff, 0xff, 0xff, 0x7f], 'it is 34359738367, past 32 bits'],
  ])('refuses %j: %s', (bytes, why) => {
    expect(reasonOf(readGlueMessageIndex(Buffer.from(bytes), VERSION))).toBe(
      `the Protobuf message index after schema version id ${VERSION} is malformed: ${why}`,
    );
  });
});

describe("Glue's numbering of a file's messages", () => {
  const fileTypes = (text: string) => {
    const root = protobuf.parse(text, { keepCase: true }).root;
    root.resolveAll();
    const home = (root.lookup('shop') ?? root) as protobuf.Namespace;
    return home.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
  };
  const names = (order: ReturnType<typeof glueMessageOrder>) =>
    order.map((m) => (typeof m === 'string' ? m : m.fullName.slice(1)));

  it("numbers nested messages with the top-level ones, sorted by full name (AWS's own example)", () => {
    const types = fileTypes(`syntax = "proto3"; package shop;
      message B { message C {} message A { message D {} } }`);
    expect(names(glueMessageOrder(types))).toEqual(['shop.B', 'shop.B.A', 'shop.B.A.D', 'shop.B.C']);
  });

  it('counts the entry message protoc makes for each map field, so the positions after it hold', () => {
    const types = fileTypes(`syntax = "proto3"; package shop;
      message Order { map<string, int64> line_items = 1; message Line {} }
      message Ack {}`);
    expect(names(glueMessageOrder(types))).toEqual([
      'shop.Ack',
      'shop.Order',
      'shop.Order.Line',
      'shop.Order.LineItemsEntry',
    ]);
  });

  it.each([
    ['line_items', 'LineItemsEntry'],
    ['tags', 'TagsEntry'],
    ['a__b_', 'ABEntry'],
    ['x_1y', 'X1yEntry'],
    ['camelCase', 'CamelCaseEntry'],
  ])('names the entry of map field %s as protoc does: %s', (field, entry) => {
    expect(mapEntryName(field)).toBe(entry);
  });
});
