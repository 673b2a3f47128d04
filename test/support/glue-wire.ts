// Writes keys and values in the AWS Glue Schema Registry's wire format, as AWS's serializers do: the
// header version 3, the compression (0 none, 5 zlib), the 16-byte schema version id, then the payload,
// zlib-deflated when compressed. For Protobuf, the payload starts with the message's index.
import { deflateSync } from 'node:zlib';

/** How a framed value is compressed. */
export type GlueCompressionName = 'none' | 'zlib';

/** `payload` framed with schema version `versionId` (a UUID). */
export function glueFramed(
  versionId: string,
  payload: Buffer,
  compression: GlueCompressionName = 'none',
): Buffer {
  const id = Buffer.from(versionId.replace(/-/g, ''), 'hex');
  if (id.length !== 16) throw new Error(`${versionId} is not a UUID`);
  const zlib = compression === 'zlib';
  return Buffer.concat([Buffer.from([3, zlib ? 5 : 0]), id, zlib ? deflateSync(payload) : payload]);
}

/** An unsigned varint, as Glue's Protobuf message index is written. */
export function unsignedVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** The Avro schema the Glue tests write orders with: a string, a long and a timestamp-millis. */
export const ORDER_SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
