// Reads Avro payloads with their registry schema, as the JSON registry-json.ts describes. Pure: no I/O.
// avsc decodes (it is already the Iceberg manifests' Avro library); a converter built once per schema
// turns what it gives into that JSON, so no per-record work depends on anything but the schema.
import avro from 'avsc';
import type { RegisteredSchema, SchemaId } from '../ports.js';
import {
  type DecodedJson,
  decodedDocument,
  jsonBytes,
  jsonFloat,
  type PayloadReader,
  referencesInOrder,
  schemaIdText,
  setField,
} from './registry-json.js';
import { FormatMismatch } from './value-format.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** avsc's long, exact: a number while it is a safe integer, a bigint beyond (avsc's own long refuses those). */
const EXACT_LONG = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE();
    return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n;
  },
  toBuffer: (n: number | bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: number) => n,
  toJSON: (n: number | bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint' || Number.isSafeInteger(n),
  compare: (a: number | bigint, b: number | bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** The logical types mapped, with the underlying types each may annotate (others read as their underlying type). */
const LOGICAL_UNDERLYING: Readonly<Record<string, readonly string[]>> = {
  'timestamp-millis': ['long'],
  'timestamp-micros': ['long'],
  date: ['int'],
  decimal: ['bytes', 'fixed'],
  uuid: ['string', 'fixed'],
};

/**
 * A logical type that avsc decodes as its underlying value, keeping its name and scale for the converter
 * (without it, avsc reads the underlying type and forgets the annotation). One on a type the spec does
 * not allow is refused here, and avsc then reads the underlying type, as the spec says.
 */
class KeptLogicalType extends avro.types.LogicalType {
  readonly logicalName: string;
  readonly scale: number;

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const { logicalType, scale } = schema as { logicalType: string; scale?: number };
    this.logicalName = logicalType;
    this.scale = scale ?? 0;
    if (!LOGICAL_UNDERLYING[logicalType]?.includes(this.underlyingType.typeName))
      throw new Error(`${logicalType} cannot annotate ${this.underlyingType.typeName}`);
  }

  protected override _fromValue(value: unknown): unknown {
    return value;
  }

  protected override _toValue(value: unknown): unknown {
    return value;
  }
}

const LOGICAL_TYPES = Object.fromEntries(
  Object.keys(LOGICAL_UNDERLYING).map((name) => [name, KeptLogicalType]),
);

type Convert = (value: never) => DecodedJson;

/** `YYYY-MM-DDTHH:MM:SS.sssZ` of epoch ms, or the number itself past what a Date holds. */
function isoOfMillis(ms: number | bigint): DecodedJson {
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? ms : date.toISOString();
}

/** ISO-8601 of epoch µs, with six fraction digits. */
function isoOfMicros(micros: number | bigint): DecodedJson {
  const us = BigInt(micros);
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const iso = isoOfMillis(ms);
  if (typeof iso !== 'string') return micros;
  return `${iso.slice(0, -1)}${String(us - ms * 1000n).padStart(3, '0')}Z`;
}

/** A decimal's two's-complement big-endian unscaled bytes as exact digits with the scale's point. */
function decimalText(bytes: Buffer, scale: number): string {
  let unscaled = bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
  if (bytes.length > 0 && ((bytes[0] as number) & 0x80) !== 0) unscaled -= 1n << BigInt(bytes.length * 8);
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const sign = unscaled < 0n ? '-' : '';
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

const uuidText = (bytes: Buffer): string =>
  bytes.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

function logicalConverter(type: KeptLogicalType): Convert {
  switch (type.logicalName) {
    case 'timestamp-millis':
      return isoOfMillis as Convert;
    case 'timestamp-micros':
      return isoOfMicros as Convert;
    case 'date':
      return ((days: number) => {
        const iso = isoOfMillis(days * 86_400_000);
        return typeof iso === 'string' ? iso.slice(0, iso.indexOf('T')) : days;
      }) as Convert;
    case 'decimal':
      return ((bytes: Buffer) => decimalText(bytes, type.scale)) as Convert;
    default:
      return ((uuid: string | Buffer) => (typeof uuid === 'string' ? uuid : uuidText(uuid))) as Convert;
  }
}

/** The converter of `type`'s values; `built` holds those made so far (a recursive record refers to itself). */
function converterOf(type: avro.Type, built: Map<avro.Type, Convert>): Convert {
  const known = built.get(type);
  if (known) return known;
  let convert: Convert = () => null;
  built.set(type, ((value: never) => convert(value)) as Convert);
  convert = buildConverter(type, built);
  built.set(type, convert);
  return convert;
}

function buildConverter(type: avro.Type, built: Map<avro.Type, Convert>): Convert {
  if (type instanceof KeptLogicalType) return logicalConverter(type);
  const t = type as avro.Type & {
    fields?: { name: string; type: avro.Type }[];
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    types?: (avro.Type & { branchName: string })[];
  };
  switch (type.typeName) {
    case 'record':
    case 'error': {
      const fields = (t.fields ?? []).map((f) => [f.name, converterOf(f.type, built)] as const);
      return ((record: Record<string, never>) => {
        const out: Record<string, DecodedJson> = {};
        for (const [name, convert] of fields) setField(out, name, convert(record[name] as never));
        return out;
      }) as Convert;
    }
    case 'array': {
      const item = converterOf(t.itemsType as avro.Type, built);
      return ((items: never[]) => items.map(item)) as Convert;
    }
    case 'map': {
      const entry = converterOf(t.valuesType as avro.Type, built);
      return ((map: Record<string, never>) => {
        const out: Record<string, DecodedJson> = {};
        for (const key of Object.keys(map)) setField(out, key, entry(map[key] as never));
        return out;
      }) as Convert;
    }
    case 'union:wrapped': {
      // Unions are decoded wrapped ({branch: value}), which is what tells their branch; written unwrapped.
      const branches = new Map((t.types ?? []).map((b) => [b.branchName, converterOf(b, built)] as const));
      return ((wrapped: Record<string, never> | null) => {
        if (wrapped === null) return null;
        const [branch = ''] = Object.keys(wrapped);
        return (branches.get(branch) as Convert)(wrapped[branch] as never);
      }) as Convert;
    }
    case 'bytes':
    case 'fixed':
      return jsonBytes as Convert;
    case 'float':
    case 'double':
      return jsonFloat as Convert;
    default:
      // null, boolean, int, long (a bigint past 2^53), string, enum (its symbol): as they are.
      return ((value: DecodedJson) => value) as Convert;
  }
}

/**
 * The reader of an Avro schema registered as `schemaId`, or why it cannot be compiled. Referenced
 * schemas are compiled first into the same registry of names, so the schema finds the types they define.
 */
export function avroReader(schema: RegisteredSchema, schemaId: SchemaId): PayloadReader | string {
  let type: avro.Type;
  try {
    const options = {
      registry: { long: EXACT_LONG } as Record<string, avro.Type>,
      logicalTypes: LOGICAL_TYPES,
      wrapUnions: true,
    };
    for (const reference of referencesInOrder(schema))
      avro.Type.forSchema(JSON.parse(reference.schema.text) as avro.Schema, options);
    type = avro.Type.forSchema(JSON.parse(schema.text) as avro.Schema, options);
  } catch (error) {
    return `Avro schema ${schemaIdText(schemaId)} cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  const convert = converterOf(type, new Map());
  return (payload, what) => {
    let decoded: unknown;
    try {
      decoded = type.fromBuffer(payload);
    } catch (error) {
      return new FormatMismatch(
        `the ${what} cannot be read with Avro schema ${schemaIdText(schemaId)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return decodedDocument(convert(decoded as never));
  };
}
