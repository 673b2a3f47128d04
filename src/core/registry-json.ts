// How a value decoded with its registry schema is written as JSON: the one place that says so (the
// decoders in avro-reader.ts and protobuf-reader.ts follow it, docs/reading-output.md repeats it), and
// what those decoders share. Pure: no I/O.
//
// Each format keeps its own canonical JSON mapping where it has one, so a reader who knows the format
// finds what they expect, with three choices made for a data lake:
// - Avro: records are objects (fields in schema order), arrays arrays, maps objects, enums their symbol,
//   strings strings, int/float/double numbers, boolean booleans. A union is its branch's value, never
//   `{"type": value}`. A long is a JSON number with every digit, even past 2^53, as a producer's JSON
//   would hold it (a reader that parses numbers into doubles rounds it, as it would a JSON value's).
//   bytes and fixed are base64. Logical types: timestamp-millis and timestamp-micros are ISO-8601 UTC
//   (`...T12:00:00.000Z`, micros with 6 fraction digits), date is `YYYY-MM-DD`, decimal is a string of
//   its digits with the scale's decimal point (`"-12.30"`, exact whatever the precision), uuid a string;
//   other logical types are their underlying type.
// - Protobuf: proto3's JSON mapping (64-bit integers as strings of digits, enums by name, bytes as
//   base64, google.protobuf.Timestamp as an RFC 3339 string, Duration as `"1.5s"`, wrappers as their
//   value, Struct/Value/ListValue as the JSON they hold), except that field names are the .proto's own
//   (`order_id`, not `orderId`) and every field is written: a scalar left unset is its default (0, "",
//   false, the first enum value), a message field, a proto3 `optional` field or a oneof member left unset
//   is null. So every value of one schema has the same fields, which the columns taken from the schema
//   (the next step) rely on.
// - JSON Schema: the payload is JSON text, written as it was produced (see `readJson`).
// - Everywhere: NaN and the infinities, which JSON has no numbers for, are the strings "NaN", "Infinity"
//   and "-Infinity" (as proto3's mapping has them).
//
// A schema compiled once (`CompiledSchema`) also gives the column type of the values it reads
// (value-shape.ts), and reads another version's payloads as its own values, so one table holds them all.
import type { RegisteredSchema, SchemaId, SchemaReference } from '../ports.js';
import type { FormatMismatch, JsonDocument } from './value-format.js';
import type { ValueShape } from './value-shape.js';

/** A decoded value ready to be written as JSON; bigint stands for an integer beyond 2^53, kept exact. */
export type DecodedJson =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly DecodedJson[]
  | { readonly [field: string]: DecodedJson };

/** A float or double as JSON: finite numbers as they are, NaN and the infinities as strings. */
export const jsonFloat = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

/** Bytes as JSON: base64 (protobufjs's default for unset bytes is an empty array). */
export const jsonBytes = (bytes: Uint8Array | readonly number[]): string =>
  (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).toString('base64');

/** Sets a field of a decoded object; a field named `__proto__` (a valid Avro name) stays a field. */
export function setField(target: Record<string, DecodedJson>, name: string, value: DecodedJson): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true });
  else target[name] = value;
}

/** JSON text of a value holding bigints, each written as its digits (JSON.stringify refuses them). */
function exactText(value: DecodedJson): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(exactText).join(',')}]`;
  const fields = Object.entries(value as { [field: string]: DecodedJson });
  return `{${fields.map(([name, field]) => `${JSON.stringify(name)}:${exactText(field)}`).join(',')}}`;
}

/** A JSON document decoded with a registry schema, with the value itself, exact (its longs as bigints). */
export interface DecodedDocument extends JsonDocument {
  readonly decoded: DecodedJson;
}

/**
 * A decoded value as a JSON document: its one-line text, and the parsed document declared columns read
 * (what JSON.parse of the text gives: a bigint becomes the nearest double, as in a `json` value). Both are
 * made when first read: a typed Parquet column takes `decoded` and never needs the text.
 */
export function decodedDocument(value: DecodedJson): DecodedDocument {
  let text: string | undefined;
  let parsed: unknown;
  const write = (): string => {
    if (text !== undefined) return text;
    try {
      text = JSON.stringify(value);
      parsed = value;
    } catch {
      // JSON.stringify refuses bigints: the rare value with a long past 2^53 takes the exact writer.
      text = exactText(value);
      parsed = JSON.parse(text);
    }
    return text;
  };
  return {
    decoded: value,
    get text() {
      return write();
    },
    get parsed() {
      write();
      return parsed;
    },
  };
}

/** How a reason names a schema: `id 7` (Confluent's schema id), `version id 4f6e...` (Glue's). */
export const schemaIdText = (id: SchemaId): string =>
  typeof id === 'number' ? `id ${id}` : `version id ${id}`;

/** Reads one payload as JSON, or says why it cannot be read with its schema (naming the schema id). */
export type PayloadReader = (payload: Buffer, what: 'key' | 'value') => JsonDocument | FormatMismatch;

/** A registry schema compiled once: how it reads payloads, and the column type of what it reads. */
export interface CompiledSchema {
  /** Reads a payload written with this schema. */
  readonly read: PayloadReader;
  /** The column type of every value `read` (and `readAs`) gives. */
  readonly shape: ValueShape;
  /**
   * A reader of payloads written with `writer` (another version of this schema) that gives them as this
   * schema's values (Avro's schema resolution; Protobuf's field numbers), or why there is none: the two
   * cannot be read as one another (the reason names both).
   */
  readAs(writer: CompiledSchema): PayloadReader | string;
  /**
   * The name of the type a payload holds, when the schema's values may be of several (a Protobuf file's
   * messages); absent when they are all of one. Undefined for a payload that names none.
   */
  messageOf?(payload: Buffer): string | undefined;
  /** This schema compiled for the values of another of its types (a name `messageOf` gave), or why not. */
  forMessage?(name: string): CompiledSchema | string;
  /**
   * Reads a payload of any of the schema's types, each as its own JSON (what NDJSON and keys are
   * written as), when `read` takes only one; absent when `read` reads them all.
   */
  readonly readAny?: PayloadReader;
}

/** The schemas `schema` references, each before those that use it, each once. */
export function referencesInOrder(schema: RegisteredSchema, seen = new Set<string>()): SchemaReference[] {
  const ordered: SchemaReference[] = [];
  for (const reference of schema.references) {
    const key = `${reference.subject}/${reference.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ordered.push(...referencesInOrder(reference.schema, seen), reference);
  }
  return ordered;
}
