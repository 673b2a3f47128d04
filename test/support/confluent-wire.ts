// Writes values in Confluent's schema registry wire format, as its serializers do: the magic byte 0, the
// schema id as 4 bytes big-endian, then the payload. For tests that need a value framed with an id of
// their choosing (one the registry does not hold, or a schema registered under another subject).
import avro from 'avsc';

/** `payload` framed with schema id `schemaId`. */
export function confluentFramed(schemaId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

/** `value` written with the Avro schema `schema`, framed with schema id `schemaId`. */
export function confluentAvro(schemaId: number, schema: object, value: unknown): Buffer {
  return confluentFramed(schemaId, avro.Type.forSchema(schema as avro.Schema).toBuffer(value));
}
