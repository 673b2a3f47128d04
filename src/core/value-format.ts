// How a record's key and value bytes are read, and what a batch is written as. Pure: no I/O.
import { isUtf8 } from 'node:buffer';

/** How the bytes of a key or value are read. */
export const ValueFormat = {
  /** UTF-8 text written as a string; bytes that are not UTF-8 are written as base64, and say so. */
  STRING: 'string',
  /** A JSON document written as nested JSON (NDJSON) or JSON text (Parquet); one that does not parse is an error row. */
  JSON: 'json',
  /** Opaque bytes: base64 in NDJSON, the bytes themselves in Parquet. */
  BINARY: 'binary',
  /**
   * Confluent's schema registry wire format (Avro, Protobuf or JSON Schema), decoded with the schema its
   * id names and written as `json` values are (see registry-json.ts for the mapping); one that cannot
   * be decoded is an error row.
   */
  CONFLUENT: 'confluent',
  /**
   * The AWS Glue Schema Registry's wire format (Avro, Protobuf or JSON Schema), decoded with the schema
   * version its id names and written as `confluent` values are; one that cannot be decoded is an error row.
   */
  GLUE: 'glue',
} as const;
/** How the bytes of a key or value are read. */
export type ValueFormat = (typeof ValueFormat)[keyof typeof ValueFormat];

/** Whether keys or values read in `format` are written as JSON: nested in NDJSON, JSON text in Parquet. */
export function writtenAsJson(format: ValueFormat): boolean {
  return format === ValueFormat.JSON || decodedWithRegistry(format);
}

/** Whether keys or values read in `format` are decoded with a schema registry's schemas. */
export function decodedWithRegistry(format: ValueFormat): boolean {
  return format === ValueFormat.CONFLUENT || format === ValueFormat.GLUE;
}

/** What a batch's data objects are. */
export const OutputFormat = {
  /** One JSON object per line (the default). */
  NDJSON: 'ndjson',
  /** Apache Parquet, one file per part, compressed by Parquet's own codec. */
  PARQUET: 'parquet',
} as const;
/** What a batch's data objects are. */
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

/** A JSON key or value that was read: its text (one line) and the parsed document. */
export interface JsonDocument {
  /** The document's own text with line breaks between tokens turned to spaces, so numbers keep every digit. */
  readonly text: string;
  readonly parsed: unknown;
}

/** Reads a key's or value's bytes as one JSON document, or says why not (`readJson`, or a registry decoder). */
export type DocumentReader = (bytes: Buffer, what: 'key' | 'value') => JsonDocument | FormatMismatch;

/** Why a key or value could not be read in its format; the record goes to the errors object with it. */
export class FormatMismatch {
  constructor(readonly reason: string) {}
}

/**
 * Reads bytes as one JSON document, or says why not. The text is the producer's own (not re-serialized),
 * so large integers and number spellings survive; a valid JSON text holds line breaks only between
 * tokens, so turning them into spaces keeps it one NDJSON line without changing its meaning.
 */
export function readJson(bytes: Buffer, what: 'key' | 'value'): JsonDocument | FormatMismatch {
  if (!isUtf8(bytes)) return new FormatMismatch(`the ${what} is not UTF-8 text, so it cannot be JSON`);
  const text = bytes.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    return { text: /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text, parsed };
  } catch (error) {
    return new FormatMismatch(
      `the ${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Reads a key or value in a format written as JSON: `json` with `readJson`, `confluent` and `glue` with
 * `registry` (the decoder that holds the batch's schemas, resolved before its records are encoded).
 */
export function readDocument(
  format: ValueFormat,
  bytes: Buffer,
  what: 'key' | 'value',
  registry: DocumentReader | undefined,
): JsonDocument | FormatMismatch {
  if (!decodedWithRegistry(format)) return readJson(bytes, what);
  if (registry === undefined)
    throw new Error(`a ${what} in the ${format} format needs the registry's decoder`);
  return registry(bytes, what);
}
