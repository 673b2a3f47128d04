// The columns of a Parquet part and how one record becomes one row of them. Pure: no I/O.
//
// Envelope columns, always: topic, partition, offset (int64), timestamp (UTC, milliseconds), key, value,
// headers (a list of {key, value, value_encoding}). A key or value read as `string` is text, with
// `<key|value>_encoding` saying whether it is `utf8` or (for bytes that are not UTF-8) `base64`; as
// `json` (or decoded from a schema registry's wire format, `confluent`) it is the JSON text; as `binary`
// it is the bytes themselves. Declared columns follow, each one field of a JSON value.
import { isUtf8 } from 'node:buffer';
import type { SourceRecord } from '../ports.js';
import {
  type DocumentReader,
  FormatMismatch,
  readDocument,
  ValueFormat,
  writtenAsJson,
} from './value-format.js';
import type { ValueShape } from './value-shape.js';

/** The type of a declared column, named as in Athena and Glue. */
export const ColumnType = {
  STRING: 'string',
  BIGINT: 'bigint',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  /** From an ISO-8601 string or epoch milliseconds; stored as a UTC millisecond timestamp. */
  TIMESTAMP: 'timestamp',
  /** Any JSON (object, array, scalar) kept as its JSON text. */
  JSON: 'json',
} as const;
/** The type of a declared column. */
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];

/** A typed column taken from each record's JSON value. */
export interface DeclaredColumn {
  /** Column name: lowercase letters, digits and `_`, starting with a letter. */
  readonly name: string;
  /** The column's type; a field that does not fit it sends its record to the errors object. */
  readonly type: ColumnType;
  /** Where in the value: field names joined by `.` (`customer.id`); a missing field or JSON null is null. */
  readonly path: string;
}

/** The names the envelope and the Hive-style partitions take; a declared column may not reuse one. */
export const RESERVED_COLUMN_NAMES: readonly string[] = [
  'topic',
  'partition',
  'offset',
  'timestamp',
  'key',
  'key_encoding',
  'value',
  'value_encoding',
  'headers',
  'date',
  'hour',
  'window',
];

/** One element of a Parquet schema (the shape Parquet's Thrift metadata and hyparquet-writer use). */
export interface ParquetSchemaElement {
  readonly name: string;
  readonly type?: 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY';
  readonly repetition_type?: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  readonly num_children?: number;
  readonly converted_type?: 'UTF8' | 'LIST' | 'TIMESTAMP_MILLIS';
  readonly logical_type?:
    | { readonly type: 'STRING' }
    | { readonly type: 'LIST' }
    | { readonly type: 'TIMESTAMP'; readonly isAdjustedToUTC: boolean; readonly unit: 'MILLIS' };
}

/** A Parquet part's settings: how keys and values are read, and the declared columns. */
export interface ParquetLayout {
  readonly keyFormat: ValueFormat;
  readonly valueFormat: ValueFormat;
  readonly columns: readonly DeclaredColumn[];
  /**
   * The `value` column's type when values are decoded with a registry schema (one part holds the values
   * of one schema; see value-shape.ts); absent, a registry-decoded value is its JSON text.
   */
  readonly valueShape?: ValueShape;
}

/** One column's value in a row: what hyparquet-writer takes for its schema element. */
export type ParquetCell = Buffer | string | number | bigint | boolean | null | readonly ParquetHeader[];

/** A header as stored: its value as text, or base64 for bytes that are not UTF-8. */
export interface ParquetHeader {
  readonly key: string;
  readonly value: Buffer | string | null;
  readonly value_encoding: string | null;
}

const text = (name: string, required = false): ParquetSchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  repetition_type: required ? 'REQUIRED' : 'OPTIONAL',
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
});

const timestamp = (name: string, required: boolean): ParquetSchemaElement => ({
  name,
  type: 'INT64',
  repetition_type: required ? 'REQUIRED' : 'OPTIONAL',
  converted_type: 'TIMESTAMP_MILLIS',
  logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
});

function fieldElements(name: 'key' | 'value', format: ValueFormat): ParquetSchemaElement[] {
  if (format === ValueFormat.BINARY) return [{ name, type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' }];
  if (writtenAsJson(format)) return [text(name)];
  return [text(name), text(`${name}_encoding`)];
}

function declaredElement(column: DeclaredColumn): ParquetSchemaElement {
  switch (column.type) {
    case ColumnType.BIGINT:
      return { name: column.name, type: 'INT64', repetition_type: 'OPTIONAL' };
    case ColumnType.DOUBLE:
      return { name: column.name, type: 'DOUBLE', repetition_type: 'OPTIONAL' };
    case ColumnType.BOOLEAN:
      return { name: column.name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' };
    case ColumnType.TIMESTAMP:
      return timestamp(column.name, false);
    default:
      return text(column.name);
  }
}

/** The top-level column names of a layout, in file order. */
export function parquetColumnNames(layout: ParquetLayout): string[] {
  const field = (name: string, format: ValueFormat) =>
    format === ValueFormat.STRING ? [name, `${name}_encoding`] : [name];
  return [
    'topic',
    'partition',
    'offset',
    'timestamp',
    ...field('key', layout.keyFormat),
    ...field('value', layout.valueFormat),
    'headers',
    ...layout.columns.map((column) => column.name),
  ];
}

/** The Parquet schema of a part (the root element first, then each column depth-first). */
export function parquetSchema(layout: ParquetLayout): ParquetSchemaElement[] {
  const columns: ParquetSchemaElement[][] = [
    [text('topic', true)],
    [{ name: 'partition', type: 'INT32', repetition_type: 'REQUIRED' }],
    [{ name: 'offset', type: 'INT64', repetition_type: 'REQUIRED' }],
    [timestamp('timestamp', true)],
    ...fieldElements('key', layout.keyFormat).map((e) => [e]),
    ...fieldElements('value', layout.valueFormat).map((e) => [e]),
    [
      // The three-level LIST of the Parquet spec, which Athena, Spark and DuckDB read as array<struct>.
      {
        name: 'headers',
        repetition_type: 'REQUIRED',
        num_children: 1,
        converted_type: 'LIST',
        logical_type: { type: 'LIST' },
      },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'REQUIRED', num_children: 3 },
      text('key', true),
      text('value'),
      text('value_encoding'),
    ],
    ...layout.columns.map((column) => [declaredElement(column)]),
  ];
  return [{ name: 'root', num_children: columns.length }, ...columns.flat()];
}

/** A row of a part, keyed by top-level column name, and its size as the part size counts it. */
export interface ParquetRow {
  readonly cells: Readonly<Record<string, ParquetCell>>;
  /** Bytes of keys, values and headers plus a fixed amount per row: what parts and row groups are cut by. */
  readonly bytes: number;
}

/** Fixed bytes counted per row for its envelope's numbers and names. */
const ROW_OVERHEAD_BYTES = 32;

/**
 * A copy of record bytes that a row keeps until its row group is written. The source's buffers are
 * slices of whole fetch responses: keeping a slice would keep every other partition's records of that
 * response alive too, for as long as any row group holding one of them is open.
 */
const own = (bytes: Buffer): Buffer => Buffer.copyBytesFrom(bytes);

function textOrBase64(bytes: Buffer | null): { value: Buffer | string | null; encoding: string | null } {
  if (bytes === null) return { value: null, encoding: null };
  return isUtf8(bytes)
    ? { value: own(bytes), encoding: 'utf8' }
    : { value: bytes.toString('base64'), encoding: 'base64' };
}

function readField(
  name: 'key' | 'value',
  bytes: Buffer | null,
  format: ValueFormat,
  cells: Record<string, ParquetCell>,
  registry: DocumentReader | undefined,
): unknown | FormatMismatch {
  if (format === ValueFormat.BINARY || bytes === null) {
    cells[name] = bytes === null ? null : own(bytes);
    if (format === ValueFormat.STRING) cells[`${name}_encoding`] = null;
    return undefined;
  }
  if (format === ValueFormat.STRING) {
    const { value, encoding } = textOrBase64(bytes);
    cells[name] = value;
    cells[`${name}_encoding`] = encoding;
    return undefined;
  }
  const json = readDocument(format, bytes, name, registry);
  if (json instanceof FormatMismatch) return json;
  cells[name] = json.text;
  return json.parsed;
}

function at(document: unknown, path: string): unknown {
  let here = document;
  for (const step of path.split('.')) {
    if (here === null || typeof here !== 'object' || Array.isArray(here)) return undefined;
    here = (here as Record<string, unknown>)[step];
  }
  return here;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A 64-bit integer written as a string of its digits, exact; undefined when it is not one. Proto3's JSON
 * writes int64 that way (every Protobuf `confluent` value's), and so do producers that keep big ids exact.
 */
function int64OfDigits(text: string): bigint | undefined {
  if (!/^-?\d{1,19}$/.test(text)) return undefined;
  const n = BigInt(text);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

const show = (value: unknown) => {
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
};

/** A declared column's cell from the value's field, or why the field does not fit the column's type. */
function declaredCell(column: DeclaredColumn, document: unknown): ParquetCell | FormatMismatch {
  const field = at(document, column.path);
  if (field === undefined || field === null) return null;
  const misfit = () =>
    new FormatMismatch(
      `value field '${column.path}' is ${show(field)}, which does not fit column '${column.name}' (${column.type})`,
    );
  switch (column.type) {
    case ColumnType.STRING:
      return typeof field === 'string' ? field : misfit();
    case ColumnType.BIGINT: {
      // JSON.parse has already rounded integers past 2^53; refuse them rather than store a wrong number.
      if (typeof field === 'number') return Number.isSafeInteger(field) ? BigInt(field) : misfit();
      return (typeof field === 'string' ? int64OfDigits(field) : undefined) ?? misfit();
    }
    case ColumnType.DOUBLE:
      return typeof field === 'number' ? field : misfit();
    case ColumnType.BOOLEAN:
      return typeof field === 'boolean' ? field : misfit();
    case ColumnType.TIMESTAMP: {
      const ms =
        typeof field === 'number' && Number.isSafeInteger(field)
          ? field
          : typeof field === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(field)
            ? Date.parse(field)
            : Number.NaN;
      return Number.isNaN(ms) ? misfit() : BigInt(ms);
    }
    default:
      return JSON.stringify(field);
  }
}

const lengthOf = (cell: Buffer | string | null) =>
  cell === null ? 0 : typeof cell === 'string' ? cell.length : cell.length;

/**
 * The Parquet row of a record, or why it cannot be one (a key or value that does not fit its format, or
 * a value field that does not fit its declared column). `registry` decodes `confluent` keys and values.
 */
export function toParquetRow(
  topic: string,
  record: SourceRecord,
  layout: ParquetLayout,
  registry?: DocumentReader,
): ParquetRow | FormatMismatch {
  const cells: Record<string, ParquetCell> = {
    topic,
    partition: record.partition,
    offset: BigInt(record.offset),
    timestamp: BigInt(record.timestampMs),
  };
  const key = readField('key', record.key, layout.keyFormat, cells, registry);
  if (key instanceof FormatMismatch) return key;
  const value = readField('value', record.value, layout.valueFormat, cells, registry);
  if (value instanceof FormatMismatch) return value;
  let bytes = ROW_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  const headers: ParquetHeader[] = [];
  for (const [headerKey, headerValue] of record.headers) {
    const { value: text, encoding } = textOrBase64(headerValue);
    headers.push({ key: headerKey, value: text, value_encoding: encoding });
    bytes += headerKey.length + lengthOf(text) + 8;
  }
  cells.headers = headers;
  for (const column of layout.columns) {
    const cell = declaredCell(column, value);
    if (cell instanceof FormatMismatch) return cell;
    cells[column.name] = cell;
    bytes += 8;
  }
  return { cells, bytes };
}
