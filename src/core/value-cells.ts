// Turns a decoded value (the JSON registry-json.ts describes) into the cell of its typed `value`
// column: the nested objects, arrays and primitives hyparquet-writer encodes for a ValueShape. A writer
// is built once per shape, so a record's cells cost no lookups of the shape. Pure: no I/O.
import { type DecodedJson, decodedDocument } from './registry-json.js';
import { FormatMismatch } from './value-format.js';
import type { ValueShape } from './value-shape.js';

/** A typed cell: a primitive, or the objects and arrays its struct, list or map nests. */
export type TypedCell =
  | string
  | number
  | bigint
  | boolean
  | Buffer
  | null
  | readonly TypedCell[]
  | { readonly [field: string]: TypedCell }
  | readonly { readonly key: string; readonly value: TypedCell }[];

/** The cell of one value of a shape, or why the value does not fit it. */
export type CellWriter = (value: DecodedJson | undefined) => TypedCell | FormatMismatch;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DAY_MS = 86_400_000;

/** `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: the timestamps the decoders write (RFC 3339). */
const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const show = (value: unknown): string => {
  const text = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

function misfit(path: string, value: unknown, type: string): FormatMismatch {
  return new FormatMismatch(
    `value field '${path}' is ${show(value)}, which does not fit its column (${type})`,
  );
}

/** An integer within [min, max] from a number, a bigint or a string of digits; undefined otherwise. */
function integerOf(value: unknown, min: bigint, max: bigint): bigint | undefined {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,40}$/.test(value)) n = BigInt(value);
  return n !== undefined && n >= min && n <= max ? n : undefined;
}

/** A float's number: numbers, and the strings JSON writes NaN and the infinities as. */
function floatOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** Epoch ms of a calendar day `YYYY-MM-DD`, or undefined for a day its month does not have. */
function dayMs(day: string): number | undefined {
  const ms = Date.parse(`${day}T00:00:00Z`);
  // Date.parse rolls a day past the month's end into the next month (2026-02-30 is March 2nd).
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day ? undefined : ms;
}

/** The largest epoch ms a Date holds: a decoder writes a timestamp past it as its number. */
const MAX_DATE_MS = 8.64e15;

/** An RFC 3339 instant in ms or µs since the epoch, exact to its unit (finer digits are cut, not rounded). */
function instantOf(value: unknown, unit: 'millis' | 'micros'): bigint | undefined {
  // A timestamp past what a Date holds is written as its number, already in the column's unit; any
  // other number (epoch ms in a JSON Schema date-time field, say) is not a date-time.
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && Math.abs(value) > MAX_DATE_MS * (unit === 'millis' ? 1 : 1000)
      ? BigInt(value)
      : undefined;
  if (typeof value !== 'string') return undefined;
  const match = INSTANT.exec(value);
  if (!match) return undefined;
  const [, seconds = '', fraction = '', zone] = match;
  if (dayMs(seconds.slice(0, 10)) === undefined) return undefined;
  const wholeMs = Date.parse(`${seconds}${zone}`);
  if (Number.isNaN(wholeMs)) return undefined;
  const digits = fraction.padEnd(9, '0');
  return unit === 'millis'
    ? BigInt(wholeMs) + BigInt(digits.slice(0, 3))
    : BigInt(wholeMs) * 1000n + BigInt(digits.slice(0, 6));
}

/** The unscaled integer of exact decimal digits at `scale`, within `precision` digits. */
function unscaledOf(value: unknown, precision: number, scale: number): bigint | undefined {
  const text = typeof value === 'number' || typeof value === 'bigint' ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = ''] = match;
  if (fraction.length > scale) return undefined;
  const unscaled = BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
  if (unscaled.toString().length > precision) return undefined;
  return sign === '-' ? -unscaled : unscaled;
}

/** An object's own keys, counted without making their list (a struct's values are counted per record). */
function keyCount(record: object): number {
  let count = 0;
  for (const key in record) if (Object.hasOwn(record, key)) count += 1;
  return count;
}

/**
 * The writer of `shape`'s cells. `path` names the value's place in messages (`value.customer.id`).
 * Null (or a field the value lacks) is a null cell at every level.
 */
export function cellWriter(shape: ValueShape, path = 'value'): CellWriter {
  const primitive = (type: string, convert: (value: DecodedJson) => TypedCell | undefined): CellWriter => {
    return (value) => {
      if (value === null || value === undefined) return null;
      const cell = convert(value);
      return cell === undefined ? misfit(path, value, type) : cell;
    };
  };
  switch (shape.kind) {
    case 'string':
      return primitive('string', (v) => (typeof v === 'string' ? v : undefined));
    case 'json':
      return primitive('json', (v) => decodedDocument(v).text);
    case 'boolean':
      return primitive('boolean', (v) => (typeof v === 'boolean' ? v : undefined));
    case 'int':
      return primitive('int', (v) => {
        const n = integerOf(v, BigInt(INT32_MIN), BigInt(INT32_MAX));
        return n === undefined ? undefined : Number(n);
      });
    case 'long':
      return primitive('long', (v) => integerOf(v, INT64_MIN, INT64_MAX));
    case 'float':
    case 'double':
      return primitive(shape.kind, floatOf);
    case 'binary':
      return primitive('binary', (v) =>
        typeof v === 'string' && v.length % 4 === 0 && BASE64.test(v) ? Buffer.from(v, 'base64') : undefined,
      );
    case 'date':
      return primitive('date', (v) => {
        // Days since the epoch in a 32-bit column (what a decoder writes for a date past a Date's range).
        if (typeof v === 'number')
          return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : undefined;
        if (typeof v !== 'string' || !DATE.test(v)) return undefined;
        const ms = dayMs(v);
        return ms === undefined ? undefined : ms / DAY_MS;
      });
    case 'timestamp':
      return primitive(`timestamp(${shape.unit})`, (v) => instantOf(v, shape.unit));
    case 'decimal':
      return primitive(`decimal(${shape.precision},${shape.scale})`, (v) =>
        unscaledOf(v, shape.precision, shape.scale),
      );
    case 'list': {
      const element = cellWriter(shape.element, `${path}[]`);
      return (value) => {
        if (value === null || value === undefined) return null;
        if (!Array.isArray(value)) return misfit(path, value, 'list');
        const cells: TypedCell[] = [];
        for (const item of value as readonly DecodedJson[]) {
          const cell = element(item);
          if (cell instanceof FormatMismatch) return cell;
          cells.push(cell);
        }
        return cells;
      };
    }
    case 'map': {
      const entry = cellWriter(shape.value, `${path}{}`);
      return (value) => {
        if (value === null || value === undefined) return null;
        if (typeof value !== 'object' || Array.isArray(value)) return misfit(path, value, 'map');
        const entries: { key: string; value: TypedCell }[] = [];
        for (const [key, item] of Object.entries(value as Record<string, DecodedJson>)) {
          const cell = entry(item);
          if (cell instanceof FormatMismatch) return cell;
          entries.push({ key, value: cell });
        }
        return entries;
      };
    }
    case 'struct': {
      const fields = shape.fields.map((f) => [f.name, cellWriter(f.shape, `${path}.${f.name}`)] as const);
      const names = new Set(shape.fields.map((f) => f.name));
      return (value) => {
        if (value === null || value === undefined) return null;
        if (typeof value !== 'object' || Array.isArray(value)) return misfit(path, value, 'struct');
        const record = value as Record<string, DecodedJson>;
        const cells: Record<string, TypedCell> = {};
        let found = 0;
        for (const [name, write] of fields) {
          const present = Object.hasOwn(record, name);
          if (present) found += 1;
          const cell = write(present ? record[name] : undefined);
          if (cell instanceof FormatMismatch) return cell;
          // A field named `__proto__` stays a field.
          if (name === '__proto__')
            Object.defineProperty(cells, name, { value: cell, enumerable: true, writable: true });
          else cells[name] = cell;
        }
        // A field the columns have no place for would be lost: only a JSON Schema value can have one.
        if (keyCount(record) > found) {
          const extra = Object.keys(record).find((name) => !names.has(name));
          return new FormatMismatch(
            `value field '${path}' has a field '${extra}' that its schema does not declare, so its columns cannot hold it`,
          );
        }
        return cells;
      };
    }
  }
}
