// The bench's JSON order events as a registry-encoded Avro topic carries them: an Avro schema with the
// events' fields (enums for the closed lists, timestamp-millis for the time), and each value re-encoded
// in Confluent's wire format, so the two topics hold the same events in two encodings.
import avro from 'avsc';
import { CHANNELS, STATUSES } from './produce-records.js';

/** The Avro schema of the JSON order events (bench/produce-records.ts), fields in the events' order. */
export const ORDER_AVRO_SCHEMA = {
  type: 'record',
  name: 'OrderUpdated',
  namespace: 'bench',
  fields: [
    { name: 'type', type: 'string' },
    { name: 'orderId', type: 'string' },
    { name: 'customerId', type: 'string' },
    { name: 'updatedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: [...STATUSES] } },
    { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: [...CHANNELS] } },
    { name: 'currency', type: 'string' },
    { name: 'total', type: 'double' },
    {
      name: 'shipping',
      type: {
        type: 'record',
        name: 'Shipping',
        fields: ['country', 'city', 'postcode', 'method'].map((name) => ({ name, type: 'string' })),
      },
    },
    {
      name: 'items',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Item',
          fields: [
            { name: 'sku', type: 'string' },
            { name: 'name', type: 'string' },
            { name: 'qty', type: 'int' },
            { name: 'price', type: 'double' },
          ],
        },
      },
    },
    { name: 'comment', type: 'string' },
  ],
};

/**
 * Re-encodes a JSON order event as Confluent frames it: the magic byte 0, `schemaId` as a big-endian
 * 4-byte integer, then the Avro payload. The puller decodes it back to the same JSON (its timestamp-millis
 * as ISO-8601 with milliseconds, as the JSON events write it).
 */
export function confluentAvroOrder(schemaId: number): (json: Buffer) => Buffer {
  const type = avro.Type.forSchema(ORDER_AVRO_SCHEMA as avro.Schema);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return (json) => {
    const event = JSON.parse(json.toString('latin1')) as { updatedAt: string };
    // Without avsc's logical types the field is its underlying long: epoch milliseconds.
    const payload = type.toBuffer({ ...event, updatedAt: Date.parse(event.updatedAt) });
    return Buffer.concat([header, payload]);
  };
}
