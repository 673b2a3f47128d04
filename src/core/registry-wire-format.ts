// Confluent's schema registry wire format, read from a key's or value's bytes. Pure: no I/O.
//
// A framed key or value is a magic byte 0, the schema's id as a 4-byte big-endian integer, then the
// payload. A Protobuf payload starts with the message indexes that name which message of the schema it
// is: a count, then that many indexes, each a zig-zag varint; the single byte 0 stands for [0], the
// first message of the file. (Confluent's documentation, "Wire format"; its serializers'
// `writeMessageIndexes`.) The AWS Glue Schema Registry's framing is another format: glue-wire-format.ts.
import type { SchemaId } from '../ports.js';
import { schemaIdText } from './registry-json.js';
import { FormatMismatch } from './value-format.js';

/** The first byte of Confluent's framing. (Magic byte 1, a 16-byte schema GUID, is not read yet.) */
export const CONFLUENT_MAGIC_BYTE = 0;
/** The magic byte and the 4-byte schema id. */
const HEADER_BYTES = 5;
/** More indexes than any message's nesting could need: a count past it is not an index list. */
const MAX_MESSAGE_INDEXES = 100;

/** A framed key or value: the id of the schema it was written with, and the payload after the header. */
export interface ConfluentFrame {
  readonly schemaId: number;
  readonly payload: Buffer;
}

/** Reads the header of a framed key or value, or says why the bytes are not framed. */
export function readConfluentFrame(bytes: Buffer, what: 'key' | 'value'): ConfluentFrame | FormatMismatch {
  if (bytes.length === 0) return new FormatMismatch(`the ${what} is empty, so it holds no schema id`);
  if (bytes[0] !== CONFLUENT_MAGIC_BYTE) {
    return new FormatMismatch(
      `the ${what} does not start with the schema registry's magic byte 0 (it starts with ${bytes[0]})`,
    );
  }
  if (bytes.length < HEADER_BYTES) {
    return new FormatMismatch(
      `the ${what} is ${bytes.length} bytes, shorter than the 5-byte schema registry header`,
    );
  }
  return { schemaId: bytes.readInt32BE(1), payload: bytes.subarray(HEADER_BYTES) };
}

/** A Protobuf payload's message indexes, and the message bytes after them. */
export interface MessageIndexes {
  /** The path to the message: its index among the file's messages, then among each one's nested messages. */
  readonly indexes: readonly number[];
  readonly message: Buffer;
}

/** Reads one zig-zag varint (at most 32 bits) at `at`, or undefined when the bytes end inside it. */
function readZigZag(bytes: Buffer, at: number): { value: number; next: number } | undefined {
  let raw = 0;
  for (let shift = 0, i = at; i < bytes.length && shift < 35; shift += 7, i += 1) {
    const byte = bytes[i] as number;
    raw += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) {
      const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      return { value, next: i + 1 };
    }
  }
  return undefined;
}

/** Reads the message indexes at the start of a Protobuf payload, or says why they are malformed. */
export function readMessageIndexes(payload: Buffer, schemaId: SchemaId): MessageIndexes | FormatMismatch {
  const malformed = (why: string) =>
    new FormatMismatch(
      `the Protobuf message indexes after schema ${schemaIdText(schemaId)} are malformed: ${why}`,
    );
  const count = readZigZag(payload, 0);
  if (count === undefined) return malformed('the payload ends before their count');
  if (count.value === 0) return { indexes: [0], message: payload.subarray(count.next) };
  if (count.value < 0 || count.value > MAX_MESSAGE_INDEXES) return malformed(`their count is ${count.value}`);
  const indexes: number[] = [];
  let at = count.next;
  for (let i = 0; i < count.value; i += 1) {
    const index = readZigZag(payload, at);
    if (index === undefined) return malformed(`the payload ends after ${i} of ${count.value} indexes`);
    if (index.value < 0) return malformed(`index ${i} is ${index.value}`);
    indexes.push(index.value);
    at = index.next;
  }
  return { indexes, message: payload.subarray(at) };
}
