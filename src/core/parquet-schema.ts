// The columns of a Parquet part and how one record becomes one row of them. Pure: no I/O.
//
// Envelope columns, always: topic, partition, offset (int64), timestamp (UTC, milliseconds), key, value,
// headers (a list of {key, value, value_encoding}). A key or value read as `string` is text, with
// `<key|value>_encoding` saying whether it is `utf8` or (for bytes that are not UTF-8) `base64`; as
// `json` it is the JSON text; as `binary` it is the bytes themselves. A value decoded with a schema
// registry (`confluent`, `glue`) is a typed column of its schema's shape (a struct for a record) when the
// part has one (see value-shape.ts); a key so decoded is its JSON text. Declared columns follow, each
// one field of a JSON value.
import { isUtf8 } from 'node:buffer';
import type { SourceRecord } from '../ports.js';
import { type DecodedDocument, type DecodedJson, decodedDocument } from './registry-json.js';
import type { CellWriter, TypedCell } from './value-cells.js';
import {
  type DocumentReader,
  decodedWithRegistry,
  FormatMismatch,
  type JsonDocument,
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
  readonly type?: 'BOOLEAN' | 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE' | 'BYTE_ARRAY' | 'FIXED_LEN_BYTE_ARRAY';
  /** Bytes of a FIXED_LEN_BYTE_ARRAY. */
  readonly type_length?: number;
  readonly repetition_type?: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  readonly num_children?: number;
  readonly converted_type?:
    | 'UTF8'
    | 'LIST'
    | 'MAP'
    | 'DATE'
    | 'DECIMAL'
    | 'TIMESTAMP_MILLIS'
    | 'TIMESTAMP_MICROS';
  /** A DECIMAL's digits after the point and in all (the converted type's; the logical type repeats them). */
  readonly scale?: number;
  readonly precision?: number;
  readonly logical_type?:
    | { readonly type: 'STRING' | 'LIST' | 'MAP' | 'DATE' }
    | { readonly type: 'DECIMAL'; readonly scale: number; readonly precision: number }
    | { readonly type: 'TIMESTAMP'; readonly isAdjustedToUTC: boolean; readonly unit: 'MILLIS' | 'MICROS' };
}

/** A Parquet part's settings: how keys and values are read, and the declared columns. */
export interface ParquetLayout {
  readonly keyFormat: ValueFormat;
  readonly valueFormat: ValueFormat;
  readonly columns: readonly DeclaredColumn[];
  /**
   * The `value` column's type when values are decoded with a registry schema (one part holds the values
   * of one schema; see value-shape.ts); null when none of the part's values has one (it has no `value`
   * column); absent, a registry-decoded value is its JSON text.
   */
  readonly valueShape?: ValueShape | null;
}

/** One column's value in a row: what hyparquet-writer takes for its schema element. */
export type ParquetCell =
  | Buffer
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly ParquetHeader[]
  | TypedCell;

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

const timestamp = (
  name: string,
  required: boolean,
  unit: 'millis' | 'micros' = 'millis',
): ParquetSchemaElement => ({
  name,
  type: 'INT64',
  repetition_type: required ? 'REQUIRED' : 'OPTIONAL',
  converted_type: unit === 'micros' ? 'TIMESTAMP_MICROS' : 'TIMESTAMP_MILLIS',
  logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: unit === 'micros' ? 'MICROS' : 'MILLIS' },
});

/** Bytes a decimal of `precision` digits takes as a two's-complement FIXED_LEN_BYTE_ARRAY. */
const decimalBytes = (precision: number): number => Math.ceil((precision * Math.log2(10) + 1) / 8);

/**
 * The elements of a column of `shape`, depth-first: structs as groups, lists as the spec's three-level
 * LIST and maps as its MAP (which Athena, Spark, DuckDB and Iceberg read as array, map and struct types).
 */
export function shapeElements(name: string, shape: ValueShape): ParquetSchemaElement[] {
  const optional = 'OPTIONAL';
  switch (shape.kind) {
    case 'string':
    case 'json':
      return [text(name)];
    case 'boolean':
      return [{ name, type: 'BOOLEAN', repetition_type: optional }];
    case 'int':
      return [{ name, type: 'INT32', repetition_type: optional }];
    case 'long':
      return [{ name, type: 'INT64', repetition_type: optional }];
    case 'float':
      return [{ name, type: 'FLOAT', repetition_type: optional }];
    case 'double':
      return [{ name, type: 'DOUBLE', repetition_type: optional }];
    case 'binary':
      return [{ name, type: 'BYTE_ARRAY', repetition_type: optional }];
    case 'date':
      return [
        {
          name,
          type: 'INT32',
          repetition_type: optional,
          converted_type: 'DATE',
          logical_type: { type: 'DATE' },
        },
      ];
    case 'timestamp':
      return [timestamp(name, false, shape.unit)];
    case 'decimal': {
      const { precision, scale } = shape;
      // The smallest physical type that holds the precision, as the Parquet spec (and Iceberg) advise.
      const physical =
        precision <= 9
          ? ({ type: 'INT32' } as const)
          : precision <= 18
            ? ({ type: 'INT64' } as const)
            : ({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: decimalBytes(precision) } as const);
      return [
        {
          name,
          ...physical,
          repetition_type: optional,
          converted_type: 'DECIMAL',
          scale,
          precision,
          logical_type: { type: 'DECIMAL', scale, precision },
        },
      ];
    }
    case 'list':
      return [
        {
          name,
          repetition_type: optional,
          num_children: 1,
          converted_type: 'LIST',
          logical_type: { type: 'LIST' },
        },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...shapeElements('element', shape.element),
      ];
    case 'map':
      return [
        {
          name,
          repetition_type: optional,
          num_children: 1,
          converted_type: 'MAP',
          logical_type: { type: 'MAP' },
        },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        text('key', true),
        ...shapeElements('value', shape.value),
      ];
    case 'struct':
      return [
        { name, repetition_type: optional, num_children: shape.fields.length },
        ...shape.fields.flatMap((field) => shapeElements(field.name, field.shape)),
      ];
  }
}

/** Whether a layout writes its values as a typed column of their registry schema's shape. */
export const typedValues = (
  layout: ParquetLayout,
): layout is ParquetLayout & { valueShape: ValueShape | null } =>
  layout.valueShape !== undefined && decodedWithRegistry(layout.valueFormat);

/** The top-level columns of a key or value, each as its elements. */
function fieldColumns(name: 'key' | 'value', format: ValueFormat): ParquetSchemaElement[][] {
  return fieldElements(name, format).map((element) => [element]);
}

function fieldElements(name: 'key' | 'value', format: ValueFormat): ParquetSchemaElement[] {
  if (format === ValueFormat.BINARY) return [{ name, type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' }];
  if (writtenAsJson(format)) return [text(name)];
  return [text(name), text(`${name}_encoding`)];
}

/** The column type of a declared column, as a value shape: Parquet and the Iceberg table map it as one. */
export function declaredShape(type: ColumnType): ValueShape {
  switch (type) {
    case ColumnType.BIGINT:
      return { kind: 'long' };
    case ColumnType.DOUBLE:
      return { kind: 'double' };
    case ColumnType.BOOLEAN:
      return { kind: 'boolean' };
    case ColumnType.TIMESTAMP:
      return { kind: 'timestamp', unit: 'millis' };
    case ColumnType.JSON:
      return { kind: 'json' };
    default:
      return { kind: 'string' };
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
    ...(typedValues(layout) && layout.valueShape === null ? [] : field('value', layout.valueFormat)),
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
    ...fieldColumns('key', layout.keyFormat),
    ...(!typedValues(layout)
      ? fieldColumns('value', layout.valueFormat)
      : layout.valueShape === null
        ? []
        : [shapeElements('value', layout.valueShape)]),
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
    ...layout.columns.map((column) => shapeElements(column.name, declaredShape(column.type))),
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
      // A value decoded with its schema keeps them exact, as bigints.
      if (typeof field === 'bigint') return field >= INT64_MIN && field <= INT64_MAX ? field : misfit();
      if (typeof field === 'number') return Number.isSafeInteger(field) ? BigInt(field) : misfit();
      return (typeof field === 'string' ? int64OfDigits(field) : undefined) ?? misfit();
    }
    case ColumnType.DOUBLE:
      return typeof field === 'number' ? field : typeof field === 'bigint' ? Number(field) : misfit();
    case ColumnType.BOOLEAN:
      return typeof field === 'boolean' ? field : misfit();
    case ColumnType.TIMESTAMP: {
      const ms =
        typeof field === 'number' && Number.isSafeInteger(field)
          ? field
          : typeof field === 'bigint'
            ? Number(field)
            : typeof field === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(field)
              ? Date.parse(field)
              : Number.NaN;
      return Number.isNaN(ms) ? misfit() : BigInt(ms);
    }
    default:
      return decodedDocument(field as DecodedJson).text;
  }
}

const lengthOf = (cell: Buffer | string | null) =>
  cell === null ? 0 : typeof cell === 'string' ? cell.length : cell.length;

/** How a part reads its registry-encoded values into their typed column. */
export interface TypedValueReader {
  /** Decodes a value as the part's schema (whatever version wrote it), or says why it cannot be. */
  read(bytes: Buffer): DecodedDocument | JsonDocument | FormatMismatch;
  /** The cell of a decoded value in the part's `value` column. */
  readonly cells: CellWriter;
}

/** The typed `value` cell of a record and its document (for declared columns), or why it has none. */
function typedValue(
  bytes: Buffer | null,
  typed: TypedValueReader,
): { cell: ParquetCell; document: unknown } | FormatMismatch {
  if (bytes === null) return { cell: null, document: undefined };
  const document = typed.read(bytes);
  if (document instanceof FormatMismatch) return document;
  // The decoded value itself (its longs exact), not the parsed JSON text: nothing is stringified.
  const decoded =
    'decoded' in document ? (document as DecodedDocument).decoded : (document.parsed as DecodedJson);
  const cell = typed.cells(decoded);
  return cell instanceof FormatMismatch ? cell : { cell, document: decoded };
}

/**
 * The Parquet row of a record, or why it cannot be one (a key or value that does not fit its format, or
 * a value field that does not fit its declared column or its typed column). `registry` decodes
 * registry-encoded keys and values; `typed` reads values into the `value` column of a layout with a
 * `valueShape`.
 */
export function toParquetRow(
  topic: string,
  record: SourceRecord,
  layout: ParquetLayout,
  registry?: DocumentReader,
  typed?: TypedValueReader,
): ParquetRow | FormatMismatch {
  const cells: Record<string, ParquetCell> = {
    topic,
    partition: record.partition,
    offset: BigInt(record.offset),
    timestamp: BigInt(record.timestampMs),
  };
  const key = readField('key', record.key, layout.keyFormat, cells, registry);
  if (key instanceof FormatMismatch) return key;
  let value: unknown;
  if (typedValues(layout)) {
    if (typed === undefined) throw new Error('a layout with typed values needs their reader');
    const read = typedValue(record.value, typed);
    if (read instanceof FormatMismatch) return read;
    cells.value = read.cell;
    // Only declared columns read the document: most typed layouts have none, and never parse it.
    if (layout.columns.length > 0) value = read.document;
  } else {
    value = readField('value', record.value, layout.valueFormat, cells, registry);
    if (value instanceof FormatMismatch) return value;
  }
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
