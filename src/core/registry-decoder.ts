// Decodes registry-encoded keys and values with the schemas their ids name. Pure: no I/O. Schemas are
// looked up before a batch's records are encoded (the engine asks `unknownIds`, fetches them through its
// SchemaSource and hands each to `learn`), so reading a record (`read`) never waits: the row encoders
// stay synchronous, and a record reads the same whenever its schema was fetched.
//
// Each registry frames values its own way (registry-wire-format.ts for Confluent's, glue-wire-format.ts
// for Glue's); past the frame, the same readers decode the payloads.
import type { RegisteredSchema, SchemaId, SourceRecord } from '../ports.js';
import { SchemaType } from '../ports.js';
import { compileAvro } from './avro-reader.js';
import { byGlueMessageIndex } from './glue-protobuf-messages.js';
import { readGlueFrame, readGlueHeader } from './glue-wire-format.js';
import { compileJsonSchema } from './json-schema-reader.js';
import type { TypedValueReader } from './parquet-schema.js';
import { byConfluentIndexes, compileProtobuf, type MessageNaming } from './protobuf-reader.js';
import type { RecordFormats } from './record-format.js';
import { type CompiledSchema, type PayloadReader, schemaIdText } from './registry-json.js';
import { readConfluentFrame } from './registry-wire-format.js';
import { cellWriter } from './value-cells.js';
import { decodedWithRegistry, FormatMismatch, type JsonDocument, ValueFormat } from './value-format.js';
import { type ValueShape, writableShape } from './value-shape.js';

/** How one registry's wire format frames keys and values. */
interface RegistryWire {
  /** The schema id framed bytes name, reading only the header; undefined when they are not framed. */
  idOf(bytes: Buffer): SchemaId | undefined;
  /** The schema id and the payload ready to decode, or why the bytes cannot give them. */
  frameOf(bytes: Buffer, what: 'key' | 'value'): { schemaId: SchemaId; payload: Buffer } | FormatMismatch;
  /** How a Protobuf payload names its message. */
  readonly protobufNaming: MessageNaming;
}

const confluentWire: RegistryWire = {
  idOf: (bytes) => {
    const frame = readConfluentFrame(bytes, 'value');
    return frame instanceof FormatMismatch ? undefined : frame.schemaId;
  },
  frameOf: readConfluentFrame,
  protobufNaming: byConfluentIndexes,
};

const glueWire: RegistryWire = {
  idOf: (bytes) => {
    const header = readGlueHeader(bytes, 'value');
    return header instanceof FormatMismatch ? undefined : header.versionId;
  },
  frameOf: (bytes, what) => {
    const frame = readGlueFrame(bytes, what);
    return frame instanceof FormatMismatch ? frame : { schemaId: frame.versionId, payload: frame.payload };
  },
  protobufNaming: byGlueMessageIndex,
};

/** The wire format of keys or values in `format`; undefined when they are not registry-encoded. */
function wireOf(format: ValueFormat): RegistryWire | undefined {
  if (format === ValueFormat.CONFLUENT) return confluentWire;
  return format === ValueFormat.GLUE ? glueWire : undefined;
}

function compile(schema: RegisteredSchema, schemaId: SchemaId, wire: RegistryWire): CompiledSchema | string {
  switch (schema.type) {
    case SchemaType.PROTOBUF:
      return compileProtobuf(schema, schemaId, wire.protobufNaming);
    case SchemaType.JSON:
      return compileJsonSchema(schema, schemaId);
    default:
      return compileAvro(schema, schemaId);
  }
}

/** A schema learnt: compiled, with where it stands among versions. */
interface LearntSchema {
  /** Reads any value of the schema as JSON (a Protobuf value of any message of its file). */
  readonly read: PayloadReader;
  /** Reads values into typed columns (a Protobuf value of the file's first message; see `forMessage`). */
  readonly compiled: CompiledSchema;
  readonly lineage: { readonly schema: string; readonly version: number };
}

/** Which schema a value's columns follow: its schema id and, in a Protobuf file, the message it holds. */
export interface ValueSchema {
  readonly id: SchemaId;
  /** The full name of the value's message, for a schema whose values may be of several (Protobuf). */
  readonly message?: string;
}

/** A value schema as one string, to keep one entry per schema (and Protobuf message) in a map. */
export const valueSchemaKey = (schema: ValueSchema): string =>
  schema.message === undefined ? String(schema.id) : `${schema.id}#${schema.message}`;

/** The typed values of a part whose columns follow one schema: their shape, and how records are read into it. */
export interface PartValues {
  readonly schema: ValueSchema;
  readonly shape: ValueShape;
  readonly reader: TypedValueReader;
}

/** Numbers ascending, or strings in code-unit order (one pipeline's ids are all of one kind). */
export const bySchemaId = (a: SchemaId, b: SchemaId): number => (a < b ? -1 : a > b ? 1 : 0);

/** The registry decoder of one shard: the schemas learnt so far, compiled once each. */
export class RegistryDecoder {
  /** Per schema id, its compiled schema, or why none reads with it (unknown to the registry, or not compilable). */
  private readonly readers = new Map<SchemaId, LearntSchema | FormatMismatch>();
  /** Per part schema and writer schema (`valueSchemaKey` each), the reader of the writer's values as the part's. */
  private readonly readersAs = new Map<string, PayloadReader | FormatMismatch>();
  /** Per value schema (`valueSchemaKey`), its compiled schema: the id's, or that of a message of its file. */
  private readonly variants = new Map<string, CompiledSchema | FormatMismatch>();
  private readonly partValues = new Map<string, PartValues>();
  private readonly keyWire: RegistryWire | undefined;
  private readonly valueWire: RegistryWire | undefined;

  constructor(formats: RecordFormats) {
    this.keyWire = wireOf(formats.keyFormat);
    this.valueWire = wireOf(formats.valueFormat);
  }

  /** Whether a pipeline reads keys or values in a registry format, and so needs a decoder. */
  static isNeeded(formats: RecordFormats): boolean {
    return decodedWithRegistry(formats.keyFormat) || decodedWithRegistry(formats.valueFormat);
  }

  /** The schema ids `records` name that are not learnt yet, in ascending order, each once. */
  unknownIds(records: Iterable<SourceRecord>): SchemaId[] {
    const ids = new Set<SchemaId>();
    const note = (bytes: Buffer | null, wire: RegistryWire | undefined) => {
      if (bytes === null || wire === undefined) return;
      const id = wire.idOf(bytes);
      if (id !== undefined && !this.readers.has(id)) ids.add(id);
    };
    for (const record of records) {
      note(record.key, this.keyWire);
      note(record.value, this.valueWire);
    }
    return [...ids].sort(bySchemaId);
  }

  /**
   * Learns the schema registered under `id`: undefined when the registry holds none, a FormatMismatch
   * when the schema source refused it (saying why).
   */
  learn(id: SchemaId, schema: RegisteredSchema | FormatMismatch | undefined): void {
    if (schema === undefined) {
      this.readers.set(id, new FormatMismatch(`schema ${schemaIdText(id)} is not in the schema registry`));
      return;
    }
    if (schema instanceof FormatMismatch) {
      this.readers.set(id, schema);
      return;
    }
    // Confluent's ids are numbers, Glue's version ids UUID text: the id says which wire framed it.
    const wire = typeof id === 'number' ? confluentWire : glueWire;
    const compiled = compile(schema, id, wire);
    if (typeof compiled === 'string') {
      this.readers.set(id, new FormatMismatch(compiled));
      return;
    }
    // A Confluent registry numbers every schema it holds in the order registered: one lineage.
    const lineage = schema.lineage ?? { schema: '', version: Number(id) };
    this.readers.set(id, { read: compiled.readAny ?? compiled.read, compiled, lineage });
  }

  /**
   * Which schema the columns of a framed value would follow, when its schema is learnt and readable:
   * what decides the columns of the part it goes to. Undefined for a null, unframed or unreadable value
   * (which decides nothing).
   */
  valueSchemaOf(bytes: Buffer | null): ValueSchema | undefined {
    const wire = this.valueWire;
    if (bytes === null || wire === undefined) return undefined;
    const id = wire.idOf(bytes);
    const learnt = id === undefined ? undefined : this.readers.get(id);
    if (id === undefined || learnt === undefined || learnt instanceof FormatMismatch) return undefined;
    if (learnt.compiled.messageOf === undefined) return { id };
    const frame = wire.frameOf(bytes, 'value');
    const message = frame instanceof FormatMismatch ? undefined : learnt.compiled.messageOf(frame.payload);
    return message === undefined ? undefined : { id, message };
  }

  /**
   * Whether a value of `schema` must start a new part rather than join one whose columns follow
   * `part`'s: when it is another message of the same file, a newer version of the same schema (the
   * part's columns lack what it added), or one the part's schema cannot read. Values of an older
   * compatible version join, read as the part's.
   */
  startsNewPart(part: ValueSchema, schema: ValueSchema): boolean {
    if (valueSchemaKey(schema) === valueSchemaKey(part)) return false;
    if (schema.id === part.id) return true;
    const partLineage = this.learnt(part.id).lineage;
    const lineage = this.learnt(schema.id).lineage;
    if (partLineage.schema !== lineage.schema) return true;
    if (lineage.version > partLineage.version) return true;
    return this.readerAs(part, schema) instanceof FormatMismatch;
  }

  /** The typed values of a part whose columns follow `schema` (one object per schema, made once). */
  valuesOf(schema: ValueSchema): PartValues {
    const key = valueSchemaKey(schema);
    let values = this.partValues.get(key);
    if (values === undefined) {
      const compiled = this.compiledFor(schema);
      if (compiled instanceof FormatMismatch) throw new Error(compiled.reason);
      const { valueWire } = this;
      if (valueWire === undefined) throw new Error('the value is not in a registry format');
      const shape = writableShape(compiled.shape);
      const cells = cellWriter(shape);
      const read = (bytes: Buffer): JsonDocument | FormatMismatch => {
        const frame = valueWire.frameOf(bytes, 'value');
        if (frame instanceof FormatMismatch) return frame;
        if (frame.schemaId === schema.id) return compiled.read(frame.payload, 'value');
        const writer = this.readers.get(frame.schemaId);
        if (writer === undefined || writer instanceof FormatMismatch) return this.read(bytes, 'value');
        const message = writer.compiled.messageOf?.(frame.payload);
        const reader = this.readerAs(schema, { id: frame.schemaId, ...(message ? { message } : {}) });
        return reader instanceof FormatMismatch ? reader : reader(frame.payload, 'value');
      };
      values = { schema, shape, reader: { read, cells } };
      this.partValues.set(key, values);
    }
    return values;
  }

  private learnt(id: SchemaId): LearntSchema {
    const learnt = this.readers.get(id);
    if (learnt === undefined || learnt instanceof FormatMismatch)
      throw new Error(`schema ${schemaIdText(id)} is not learnt and readable`);
    return learnt;
  }

  /** The compiled schema of `schema`'s values: its id's, or that of the message it names. */
  private compiledFor(schema: ValueSchema): CompiledSchema | FormatMismatch {
    const key = valueSchemaKey(schema);
    let compiled = this.variants.get(key);
    if (compiled === undefined) {
      const base = this.learnt(schema.id).compiled;
      const variant =
        schema.message === undefined
          ? base
          : (base.forMessage?.(schema.message) ?? `${schemaIdText(schema.id)} has no messages`);
      compiled = typeof variant === 'string' ? new FormatMismatch(variant) : variant;
      this.variants.set(key, compiled);
    }
    return compiled;
  }

  /** The reader of values of `writer` as values of `part`, or why there is none. */
  private readerAs(part: ValueSchema, writer: ValueSchema): PayloadReader | FormatMismatch {
    const key = `${valueSchemaKey(part)}|${valueSchemaKey(writer)}`;
    const known = this.readersAs.get(key);
    if (known !== undefined) return known;
    const reading = this.compiledFor(part);
    const written = this.compiledFor(writer);
    let reader: PayloadReader | FormatMismatch;
    if (reading instanceof FormatMismatch) reader = reading;
    else if (written instanceof FormatMismatch) reader = written;
    else {
      const as = reading.readAs(written);
      reader = typeof as === 'string' ? new FormatMismatch(as) : as;
    }
    this.readersAs.set(key, reader);
    return reader;
  }

  /** Decodes a framed key or value with its learnt schema, or says why it cannot be (a DocumentReader). */
  readonly read = (bytes: Buffer, what: 'key' | 'value'): JsonDocument | FormatMismatch => {
    const wire = what === 'key' ? this.keyWire : this.valueWire;
    if (wire === undefined) throw new Error(`the ${what} is not in a registry format`);
    const frame = wire.frameOf(bytes, what);
    if (frame instanceof FormatMismatch) return frame;
    const reader = this.readers.get(frame.schemaId);
    // A caller that skipped `unknownIds` has a bug; no record should pay for it silently.
    if (reader === undefined)
      throw new Error(`schema ${schemaIdText(frame.schemaId)} was not looked up before use`);
    return reader instanceof FormatMismatch ? reader : reader.read(frame.payload, what);
  };
}
