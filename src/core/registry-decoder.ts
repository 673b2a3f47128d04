// Decodes registry-encoded keys and values with the schemas their ids name. Pure: no I/O. Schemas are
// looked up before a batch's records are encoded (the engine asks `unknownIds`, fetches them through its
// SchemaSource and hands each to `learn`), so reading a record (`read`) never waits: the row encoders
// stay synchronous, and a record reads the same whenever its schema was fetched.
//
// Each registry frames values its own way (registry-wire-format.ts for Confluent's, glue-wire-format.ts
// for Glue's); past the frame, the same readers decode the payloads.
import type { RegisteredSchema, SchemaId, SourceRecord } from '../ports.js';
import { SchemaType } from '../ports.js';
import { avroReader } from './avro-reader.js';
import { byGlueMessageIndex } from './glue-protobuf-messages.js';
import { readGlueFrame, readGlueHeader } from './glue-wire-format.js';
import { byConfluentIndexes, type MessageNaming, protobufReader } from './protobuf-reader.js';
import type { RecordFormats } from './record-format.js';
import { type PayloadReader, schemaIdText } from './registry-json.js';
import { readConfluentFrame } from './registry-wire-format.js';
import {
  decodedWithRegistry,
  FormatMismatch,
  type JsonDocument,
  readJson,
  ValueFormat,
} from './value-format.js';

/** A JSON Schema payload is the JSON text itself. */
function jsonSchemaReader(schemaId: SchemaId): PayloadReader {
  return (payload, what) => {
    const document = readJson(payload, what);
    return document instanceof FormatMismatch
      ? new FormatMismatch(`${document.reason} (JSON Schema ${schemaIdText(schemaId)})`)
      : document;
  };
}

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

function readerOf(schema: RegisteredSchema, schemaId: SchemaId, wire: RegistryWire): PayloadReader | string {
  switch (schema.type) {
    case SchemaType.PROTOBUF:
      return protobufReader(schema, schemaId, wire.protobufNaming);
    case SchemaType.JSON:
      return jsonSchemaReader(schemaId);
    default:
      return avroReader(schema, schemaId);
  }
}

/** Numbers ascending, or strings in code-unit order (one pipeline's ids are all of one kind). */
const byId = (a: SchemaId, b: SchemaId): number => (a < b ? -1 : a > b ? 1 : 0);

/** The registry decoder of one shard: the schemas learnt so far, compiled once each. */
export class RegistryDecoder {
  /** Per schema id, its reader, or why none reads with it (unknown to the registry, or not compilable). */
  private readonly readers = new Map<SchemaId, PayloadReader | FormatMismatch>();
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
    return [...ids].sort(byId);
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
    const reader = readerOf(schema, id, typeof id === 'number' ? confluentWire : glueWire);
    this.readers.set(id, typeof reader === 'string' ? new FormatMismatch(reader) : reader);
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
    return reader instanceof FormatMismatch ? reader : reader(frame.payload, what);
  };
}
