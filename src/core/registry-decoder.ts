// Decodes registry-encoded keys and values with the schemas their ids name. Pure: no I/O. Schemas are
// looked up before a batch's records are encoded (the engine asks `unknownIds`, fetches them through its
// SchemaSource and hands each to `learn`), so reading a record (`read`) never waits: the row encoders
// stay synchronous, and a record reads the same whenever its schema was fetched.
import type { RegisteredSchema, SourceRecord } from '../ports.js';
import { SchemaType } from '../ports.js';
import { avroReader } from './avro-reader.js';
import { protobufReader } from './protobuf-reader.js';
import type { RecordFormats } from './record-format.js';
import type { PayloadReader } from './registry-json.js';
import { readConfluentFrame } from './registry-wire-format.js';
import { FormatMismatch, type JsonDocument, readJson, ValueFormat } from './value-format.js';

/** A JSON Schema payload is the JSON text itself. */
function jsonSchemaReader(schemaId: number): PayloadReader {
  return (payload, what) => {
    const document = readJson(payload, what);
    return document instanceof FormatMismatch
      ? new FormatMismatch(`${document.reason} (JSON Schema id ${schemaId})`)
      : document;
  };
}

function readerOf(schema: RegisteredSchema, schemaId: number): PayloadReader | string {
  switch (schema.type) {
    case SchemaType.PROTOBUF:
      return protobufReader(schema, schemaId);
    case SchemaType.JSON:
      return jsonSchemaReader(schemaId);
    default:
      return avroReader(schema, schemaId);
  }
}

/** The registry decoder of one shard: the schemas learnt so far, compiled once each. */
export class RegistryDecoder {
  /** Per schema id, its reader, or why none reads with it (unknown to the registry, or not compilable). */
  private readonly readers = new Map<number, PayloadReader | FormatMismatch>();

  constructor(private readonly formats: RecordFormats) {}

  /** Whether a pipeline reads keys or values in a registry format, and so needs a decoder. */
  static isNeeded(formats: RecordFormats): boolean {
    return formats.keyFormat === ValueFormat.CONFLUENT || formats.valueFormat === ValueFormat.CONFLUENT;
  }

  /** The schema ids `records` name that are not learnt yet, ascending, each once. */
  unknownIds(records: Iterable<SourceRecord>): number[] {
    const ids = new Set<number>();
    const note = (bytes: Buffer | null, format: ValueFormat) => {
      if (bytes === null || format !== ValueFormat.CONFLUENT) return;
      const frame = readConfluentFrame(bytes, 'value');
      if (!(frame instanceof FormatMismatch) && !this.readers.has(frame.schemaId)) ids.add(frame.schemaId);
    };
    for (const record of records) {
      note(record.key, this.formats.keyFormat);
      note(record.value, this.formats.valueFormat);
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** Learns the schema registered under `id`; undefined when the registry holds none. */
  learn(id: number, schema: RegisteredSchema | undefined): void {
    if (schema === undefined) {
      this.readers.set(id, new FormatMismatch(`schema id ${id} is not in the schema registry`));
      return;
    }
    const reader = readerOf(schema, id);
    this.readers.set(id, typeof reader === 'string' ? new FormatMismatch(reader) : reader);
  }

  /** Decodes a framed key or value with its learnt schema, or says why it cannot be (a DocumentReader). */
  readonly read = (bytes: Buffer, what: 'key' | 'value'): JsonDocument | FormatMismatch => {
    const frame = readConfluentFrame(bytes, what);
    if (frame instanceof FormatMismatch) return frame;
    const reader = this.readers.get(frame.schemaId);
    // A caller that skipped `unknownIds` has a bug; no record should pay for it silently.
    if (reader === undefined) throw new Error(`schema id ${frame.schemaId} was not looked up before use`);
    return reader instanceof FormatMismatch ? reader : reader(frame.payload, what);
  };
}
