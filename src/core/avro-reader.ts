// Reads Avro payloads with their registry schema, as the JSON registry-json.ts describes, and gives the
// column type of the values (value-shape.ts). Pure: no I/O. avsc decodes (it is already the Iceberg
// manifests' Avro library); a converter and a shape built once per schema turn what it gives into that
// JSON and say its type, so no per-record work depends on anything but the schema. A payload written
// with another version of the schema is read through Avro's schema resolution (avsc's resolver).
import avro from 'avsc';
import type { RegisteredSchema, SchemaId } from '../ports.js';
import {
  type CompiledSchema,
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
import { MAX_DECIMAL_PRECISION, type ValueShape } from './value-shape.js';

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

/** What avsc's resolvers hold: the function that reads a writer's value (internal to avsc). */
interface ResolverInternals {
  _read?: (tap: unknown) => unknown;
}

/**
 * A logical type that avsc decodes as its underlying value, keeping its name, precision and scale for
 * the converter and the shape (without it, avsc reads the underlying type and forgets the annotation).
 * One on a type the spec does not allow is refused here, and avsc then reads the underlying type, as the
 * spec says.
 */
class KeptLogicalType extends avro.types.LogicalType {
  readonly logicalName: string;
  /** A decimal's digits in all, as the schema declares it (undefined when it does not). */
  readonly precision: number | undefined;
  readonly scale: number;

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const { logicalType, precision, scale } = schema as {
      logicalType: string;
      precision?: number;
      scale?: number;
    };
    this.logicalName = logicalType;
    this.precision = precision;
    this.scale = scale ?? 0;
    if (!LOGICAL_UNDERLYING[logicalType]?.includes(this.underlyingType.typeName))
      throw new Error(`${logicalType} cannot annotate ${this.underlyingType.typeName}`);
  }

  /**
   * avsc's hook that makes a resolver read `writer`'s values as this type's. Through the underlying
   * types' resolution, as Java's Avro and the registry's compatibility checks resolve (a writer's plain
   * long reads as a reader's timestamp), but not from another logical type or a decimal of another
   * scale: their numbers mean other units, or put the point elsewhere. Leaving `_read` unset is how avsc
   * hears "cannot read".
   */
  _update(resolver: ResolverInternals, writer: avro.Type, opts: unknown): void {
    if (
      writer instanceof KeptLogicalType &&
      (writer.logicalName !== this.logicalName || writer.scale !== this.scale)
    )
      return;
    const underlying = this.underlyingType.createResolver(writer, opts as never) as ResolverInternals;
    const read = underlying._read as (tap: unknown) => unknown;
    resolver._read = (tap) => read(tap);
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

/** avsc's resolver of a writer's type (its class is not exported). */
type Resolver = ReturnType<avro.Type['createResolver']>;

const JSON_SHAPE: ValueShape = { kind: 'json' };

function logicalShape(type: KeptLogicalType): ValueShape {
  switch (type.logicalName) {
    case 'timestamp-millis':
      return { kind: 'timestamp', unit: 'millis' };
    case 'timestamp-micros':
      return { kind: 'timestamp', unit: 'micros' };
    case 'date':
      return { kind: 'date' };
    case 'decimal': {
      // Past 38 digits no decimal column holds it, and a declaration the spec refuses has no column type
      // to trust: both are the digits' text, which the JSON already is.
      const { precision, scale } = type;
      const fits =
        Number.isInteger(precision) &&
        (precision as number) >= 1 &&
        (precision as number) <= MAX_DECIMAL_PRECISION &&
        Number.isInteger(scale) &&
        scale >= 0 &&
        scale <= (precision as number);
      return fits ? { kind: 'decimal', precision: precision as number, scale } : { kind: 'string' };
    }
    default:
      return { kind: 'string' };
  }
}

/** The column type of `type`'s values; `open` holds the records being shaped (one met again recurses). */
function shapeOf(type: avro.Type, open: Set<avro.Type>): ValueShape {
  if (type instanceof KeptLogicalType) return logicalShape(type);
  const t = type as avro.Type & {
    fields?: { name: string; type: avro.Type; doc?: string }[];
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    types?: avro.Type[];
  };
  switch (type.typeName) {
    case 'record':
    case 'error': {
      // A record inside itself has no finite column type: from there on it is JSON.
      if (open.has(type)) return JSON_SHAPE;
      open.add(type);
      const fields = (t.fields ?? []).map((field) => ({
        name: field.name,
        shape: shapeOf(field.type, open),
        ...(field.doc === undefined ? {} : { doc: field.doc }),
      }));
      open.delete(type);
      return { kind: 'struct', fields };
    }
    case 'array':
      return { kind: 'list', element: shapeOf(t.itemsType as avro.Type, open) };
    case 'map':
      return { kind: 'map', value: shapeOf(t.valuesType as avro.Type, open) };
    case 'union:wrapped': {
      // Every column may be null, so null and one type is that type; several types are JSON.
      const branches = (t.types ?? []).filter((branch) => branch.typeName !== 'null');
      return branches.length === 1 ? shapeOf(branches[0] as avro.Type, open) : JSON_SHAPE;
    }
    case 'boolean':
    case 'int':
    case 'float':
    case 'double':
      return { kind: type.typeName };
    case 'long':
    case 'abstract:long':
      return { kind: 'long' };
    case 'bytes':
    case 'fixed':
      return { kind: 'binary' };
    case 'string':
    case 'enum':
      return { kind: 'string' };
    default:
      // null alone.
      return JSON_SHAPE;
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A compiled Avro schema; its own class so that `readAs` knows a writer of its kind. */
class CompiledAvro implements CompiledSchema {
  readonly shape: ValueShape;
  private readonly convert: Convert;

  constructor(
    private readonly type: avro.Type,
    private readonly schemaId: SchemaId,
  ) {
    this.convert = converterOf(type, new Map());
    this.shape = shapeOf(type, new Set());
  }

  readonly read: PayloadReader = (payload, what) =>
    this.decode(payload, undefined, `the ${what} cannot be read with ${this}`);

  readAs(writer: CompiledSchema): PayloadReader | string {
    if (!(writer instanceof CompiledAvro))
      return `${this} cannot read values written with ${writer}: it is not an Avro schema`;
    let resolver: Resolver;
    try {
      resolver = this.type.createResolver(writer.type);
    } catch (error) {
      return `${this} cannot read values written with ${writer}: ${errorText(error)}`;
    }
    return (payload, what) =>
      this.decode(payload, resolver, `the ${what} cannot be read with ${writer} as ${this}`);
  }

  /** How messages name it: `Avro schema id 7`. */
  toString(): string {
    return `Avro schema ${schemaIdText(this.schemaId)}`;
  }

  private decode(payload: Buffer, resolver: Resolver | undefined, failure: string) {
    let decoded: unknown;
    try {
      decoded = this.type.fromBuffer(payload, resolver);
    } catch (error) {
      return new FormatMismatch(`${failure}: ${errorText(error)}`);
    }
    return decodedDocument(this.convert(decoded as never));
  }
}

/**
 * Compiles an Avro schema registered as `schemaId`, or says why it cannot be. Referenced schemas are
 * compiled first into the same registry of names, so the schema finds the types they define.
 */
export function compileAvro(schema: RegisteredSchema, schemaId: SchemaId): CompiledSchema | string {
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
    return `Avro schema ${schemaIdText(schemaId)} cannot be read: ${errorText(error)}`;
  }
  return new CompiledAvro(type, schemaId);
}

/** The reader of an Avro schema registered as `schemaId`, or why it cannot be compiled. */
export function avroReader(schema: RegisteredSchema, schemaId: SchemaId): PayloadReader | string {
  const compiled = compileAvro(schema, schemaId);
  return typeof compiled === 'string' ? compiled : compiled.read;
}
