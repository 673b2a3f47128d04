// The AWS Glue Schema Registry's wire format, read from a key's or value's bytes. Pure: no I/O.
//
// A framed key or value is an 18-byte header, then the payload: byte 0 the header version (3), byte 1
// the compression (0 none, 5 zlib: the payload is zlib-deflated), bytes 2..17 the schema version id, a
// UUID in its usual big-endian byte order. A Protobuf payload starts with the index of its message: one
// unsigned varint (not Confluent's zig-zag list; see glue-protobuf-messages.ts for what it counts). (The
// AWS serializers' `AWSSchemaRegistryConstants`, `ProtobufWireFormatEncoder`.)
import { inflateSync } from 'node:zlib';
import { FormatMismatch } from './value-format.js';

/** Byte 0 of Glue's framing. */
export const GLUE_HEADER_VERSION = 3;
/** Byte 1 of Glue's framing, by compression. */
export const GlueCompression = { NONE: 0, ZLIB: 5 } as const;
/** The header version, the compression and the 16-byte schema version id. */
export const GLUE_HEADER_BYTES = 18;
/**
 * The most a zlib payload may inflate to: a broker holds values of a few MiB at most, so one that
 * inflates past this is damaged or hostile, and must not take the run's memory with it.
 */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** A framed key or value as its header says: the schema version id, and the payload still compressed. */
export interface GlueHeader {
  readonly versionId: string;
  readonly compression: number;
  readonly body: Buffer;
}

/** A framed key or value: the id of the schema version it was written with, and the payload, inflated. */
export interface GlueFrame {
  readonly versionId: string;
  readonly payload: Buffer;
}

/** The UUID text of 16 bytes. */
const uuidOf = (bytes: Buffer): string =>
  bytes.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/** Reads the header of a framed key or value without touching its payload, or says why it is not framed. */
export function readGlueHeader(bytes: Buffer, what: 'key' | 'value'): GlueHeader | FormatMismatch {
  if (bytes.length === 0) return new FormatMismatch(`the ${what} is empty, so it holds no schema version id`);
  if (bytes[0] !== GLUE_HEADER_VERSION) {
    return new FormatMismatch(
      `the ${what} does not start with the Glue Schema Registry's header version ${GLUE_HEADER_VERSION} (it starts with ${bytes[0]})`,
    );
  }
  if (bytes.length < GLUE_HEADER_BYTES) {
    return new FormatMismatch(
      `the ${what} is ${bytes.length} bytes, shorter than the ${GLUE_HEADER_BYTES}-byte Glue Schema Registry header`,
    );
  }
  const versionId = uuidOf(bytes.subarray(2, GLUE_HEADER_BYTES));
  const compression = bytes[1] as number;
  if (compression !== GlueCompression.NONE && compression !== GlueCompression.ZLIB) {
    return new FormatMismatch(
      `the ${what} written with schema version id ${versionId} names compression ${compression}, neither 0 (none) nor 5 (zlib)`,
    );
  }
  return { versionId, compression, body: bytes.subarray(GLUE_HEADER_BYTES) };
}

/** Reads a framed key or value, inflating a zlib payload, or says why it cannot be read. */
export function readGlueFrame(bytes: Buffer, what: 'key' | 'value'): GlueFrame | FormatMismatch {
  const header = readGlueHeader(bytes, what);
  if (header instanceof FormatMismatch) return header;
  const { versionId, body } = header;
  if (header.compression === GlueCompression.NONE) return { versionId, payload: body };
  try {
    return { versionId, payload: inflateSync(body, { maxOutputLength: MAX_INFLATED_BYTES }) };
  } catch (error) {
    return new FormatMismatch(
      `the ${what}'s zlib payload after schema version id ${versionId} cannot be inflated: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** A Protobuf payload's message index, and the message bytes after it. */
export interface GlueMessageIndex {
  readonly index: number;
  readonly message: Buffer;
}

/** Reads the message index (an unsigned varint of at most 32 bits) at the start of a Protobuf payload. */
export function readGlueMessageIndex(payload: Buffer, versionId: string): GlueMessageIndex | FormatMismatch {
  let index = 0;
  for (let i = 0, shift = 0; i < payload.length && i < 5; i += 1, shift += 7) {
    const byte = payload[i] as number;
    index += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) {
      return index > 0xffff_ffff
        ? new FormatMismatch(
            `the Protobuf message index after schema version id ${versionId} is malformed: it is ${index}, past 32 bits`,
          )
        : { index, message: payload.subarray(i + 1) };
    }
  }
  return new FormatMismatch(
    `the Protobuf message index after schema version id ${versionId} is malformed: ${payload.length < 5 ? 'the payload ends inside it' : 'it is longer than 5 bytes'}`,
  );
}
