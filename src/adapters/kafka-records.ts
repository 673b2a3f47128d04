// kafkajs's decoded messages as the engine's SourceRecords.
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { SourceRecord } from '../ports.js';

const NO_HEADERS: SourceRecord['headers'] = Object.freeze([]);

/** kafkajs groups a repeated header key into an array; every value is kept, in order. */
function headersOf(headers: IHeaders | undefined): SourceRecord['headers'] {
  let list: Array<readonly [string, Buffer | null]> | undefined;
  for (const key in headers) {
    list ??= [];
    const value = headers[key];
    if (Array.isArray(value)) for (const v of value) list.push([key, headerValue(v)]);
    else list.push([key, headerValue(value)]);
  }
  return list ?? NO_HEADERS;
}

function headerValue(value: Buffer | string | undefined | null): Buffer | null {
  if (value === undefined || value === null) return null;
  // Decoded headers are already Buffers (views of the fetch response, as keys and values are).
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** One decoded message of `partition` as the engine sees it. */
export function toSourceRecord(partition: number, message: KafkaMessage): SourceRecord {
  return {
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: headersOf(message.headers),
  };
}

/** About what the messages hold in memory: keys, values and a little per message. */
export function approximateBytes(messages: readonly KafkaMessage[]): number {
  let bytes = 0;
  for (const m of messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;
  return bytes;
}
