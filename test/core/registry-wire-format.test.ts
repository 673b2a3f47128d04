// Confluent's wire format read from raw bytes: the header, the Protobuf message indexes, and every way
// they can be malformed, each with the reason its record carries to the errors object.
import { describe, expect, it } from 'vitest';
import { readConfluentFrame, readMessageIndexes } from '../../src/core/registry-wire-format.js';
import { FormatMismatch } from '../../src/core/value-format.js';

const reasonOf = (answer: unknown) => (answer as FormatMismatch).reason;

describe('readConfluentFrame', () => {
  it('reads the schema id as a big-endian integer and the payload after it', () => {
    const frame = readConfluentFrame(Buffer.from([0, 0, 1, 0, 2, 9, 8]), 'value');
    expect(frame).toEqual({ schemaId: 65538, payload: Buffer.from([9, 8]) });
  });

  it('reads a header with an empty payload', () => {
    expect(readConfluentFrame(Buffer.from([0, 0, 0, 0, 7]), 'key')).toEqual({
      schemaId: 7,
      payload: Buffer.alloc(0),
    });
  });

  it.each([
    [[], 'the value is empty, so it holds no schema id'],
    [[0x7b, 0x7d], "the value does not start with the schema registry's magic byte 0 (it starts with 123)"],
    [[1, 0, 0, 0, 1], "the value does not start with the schema registry's magic byte 0 (it starts with 1)"],
    [[0, 0, 0, 1], 'the value is 4 bytes, shorter than the 5-byte schema registry header'],
    [[0], 'the value is 1 bytes, shorter than the 5-byte schema registry header'],
  ])('refuses %j: %s', (bytes, reason) => {
    const frame = readConfluentFrame(Buffer.from(bytes), 'value');
    expect(frame).toBeInstanceOf(FormatMismatch);
    expect(reasonOf(frame)).toBe(reason);
  });
});

describe('readMessageIndexes', () => {
  it('reads the single byte 0 as the first message', () => {
    expect(readMessageIndexes(Buffer.from([0, 0x0a, 0]), 1)).toEqual({
      indexes: [0],
      message: Buffer.from([0x0a, 0]),
    });
  });

  it('reads a zig-zag count and zig-zag indexes', () => {
    // count 2 (zig-zag 4), indexes 1 (2) and 70 (140: a two-byte varint).
    expect(readMessageIndexes(Buffer.from([4, 2, 0x8c, 0x01, 0x08]), 1)).toEqual({
      indexes: [1, 70],
      message: Buffer.from([0x08]),
    });
  });

  it.each([
    [[], 'the payload ends before their count'],
    [[0x80], 'the payload ends before their count'],
    [[3], 'their count is -2'],
    [[0xca, 0x01], 'their count is 101'],
    [[4, 2], 'the payload ends after 1 of 2 indexes'],
    [[2, 3], 'index 0 is -2'],
  ])('refuses %j: %s', (bytes, why) => {
    const answer = readMessageIndexes(Buffer.from(bytes), 5);
    expect(answer).toBeInstanceOf(FormatMismatch);
    expect(reasonOf(answer)).toBe(`the Protobuf message indexes after schema id 5 are malformed: ${why}`);
  });
});
