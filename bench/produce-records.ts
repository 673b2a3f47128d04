// Fills a topic fast with records whose timestamps are set by hand, so the windows they fall in are
// known in advance and already closed (in the past) when the puller runs. Values are random base64
// text (the codecs' worst case) or JSON order events of the same size (about as compressible as real
// events).
import { randomBytes } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';

/** What to produce. */
export interface ProduceSpec {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly records: number;
  readonly recordBytes: number;
  readonly partitions: number;
  /** Timestamps run evenly, in record order, from `firstTimestampMs` up to (not including) `endTimestampMs`. */
  readonly firstTimestampMs: number;
  readonly endTimestampMs: number;
  /** What the values are: slices of random base64 text (the default), or JSON order events. */
  readonly values?: BenchValues;
  /** Turns each value into the bytes produced (the Avro topic's Confluent framing); unset: as made. */
  readonly encodeValue?: (value: Buffer) => Buffer;
}

/** The kinds of values the bench produces. */
export type BenchValues = 'base64' | 'json';

/** How the produce went. */
export interface ProduceResult {
  readonly records: number;
  readonly elapsedMs: number;
  /** The produced values' bytes, summed over the records. */
  readonly valueBytes: number;
}

// Records per produce request of one partition (about 1 MiB of 1 KiB records): large batches amortise
// kafkajs's per-request cost.
const RECORDS_PER_SEND = 1_000;
// Values are slices of one pool of random base64 text: valid UTF-8 (written as is, like most real
// payloads), no two alike at the same position, and the codecs' worst case (gzip keeps 77 %); JSON
// order events (`--values json`) compress as real events do.
const POOL_BYTES = 4 * 1024 * 1024;

/** The window start, aligned like the puller's, `windowsBack` whole windows before the current one. */
export function pastWindowStart(nowMs: number, batchIntervalMs: number, windowsBack: number): number {
  return (Math.floor(nowMs / batchIntervalMs) - windowsBack) * batchIntervalMs;
}

/**
 * Produces `records` records of `recordBytes` each, partition `i % partitions` for record i, with
 * timestamps rising with i so every partition's timestamps rise too, as in real topics. Each partition
 * has its own chain of sends, one in flight at a time: kafkajs does not keep concurrent sends in order,
 * and a partition whose records land out of order would make the puller see late records.
 */
export async function produceRecords(spec: ProduceSpec): Promise<ProduceResult> {
  const pool = Buffer.from(randomBytes((POOL_BYTES * 3) / 4).toString('base64'));
  const kafka = new Kafka({
    clientId: 'kbp-bench-producer',
    brokers: [...spec.brokers],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  const started = performance.now();
  const span = spec.endTimestampMs - spec.firstTimestampMs;
  let valueBytes = 0;
  const messageOf = (i: number): Message => {
    const at = (i * 7_919) % (pool.length - spec.recordBytes);
    const timestampMs = spec.firstTimestampMs + Math.floor((i * span) / spec.records);
    const made =
      spec.values === 'json'
        ? jsonOrderValue(i, timestampMs, spec.recordBytes)
        : pool.subarray(at, at + spec.recordBytes);
    const value = spec.encodeValue ? spec.encodeValue(made) : made;
    valueBytes += value.length;
    return { partition: i % spec.partitions, timestamp: String(timestampMs), key: null, value };
  };
  const producePartition = async (partition: number) => {
    const stride = spec.partitions;
    for (let first = partition; first < spec.records; first += stride * RECORDS_PER_SEND) {
      const messages: Message[] = [];
      for (let i = first; i < spec.records && messages.length < RECORDS_PER_SEND; i += stride) {
        messages.push(messageOf(i));
      }
      await producer.send({
        topic: spec.topic,
        messages,
        // acks=1: the single test broker is the leader and the only replica, so -1 adds nothing here.
        acks: 1,
        compression: CompressionTypes.None,
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: spec.partitions }, (_, partition) => producePartition(partition)));
  } finally {
    await producer.disconnect();
  }
  return { records: spec.records, elapsedMs: performance.now() - started, valueBytes };
}

// JSON order events: ids, amounts, enums, nested objects, arrays and a free-text field, shaped like
// what most topics carry.
const SKUS = ['SKU-004211', 'SKU-118730', 'SKU-220045', 'SKU-309912', 'SKU-441876', 'SKU-500013'];
const NAMES = [
  'Merino wool socks',
  'Ceramic pour-over dripper',
  'Trail running shoes',
  'Linen bed sheet set',
  'Stainless steel bottle',
  'Noise-cancelling headphones',
];
/** The order events' statuses (an enum in their Avro schema). */
export const STATUSES = ['created', 'paid', 'packed', 'shipped'] as const;
/** The order events' sales channels (an enum in their Avro schema). */
export const CHANNELS = ['web', 'ios', 'android', 'store'] as const;
const CITIES = [
  ['DE', 'Berlin', '10115'],
  ['FR', 'Lyon', '69002'],
  ['NL', 'Utrecht', '3511'],
  ['ES', 'Valencia', '46001'],
  ['IT', 'Torino', '10121'],
] as const;
const WORDS =
  'please leave the parcel with the neighbour at number twelve if nobody answers the door ring twice gift wrap requested no invoice in the box deliver after six'.split(
    ' ',
  );

const hex6 = (r: number) =>
  Math.floor(r * 2 ** 24)
    .toString(16)
    .padStart(6, '0');

/** A small, fast PRNG (mulberry32): the same seed gives the same values on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Record `index`'s value: a JSON order event of exactly `bytes` bytes (ASCII), stamped `timestampMs`.
 * Below about 300 bytes the event is longer than asked: the size is then the event's own.
 */
function jsonOrderValue(index: number, timestampMs: number, bytes: number): Buffer {
  const next = random(index + 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const [country, city, postcode] = pick(CITIES);
  const event = {
    type: 'order.updated',
    orderId: `ord-${hex6(next())}${hex6(next())}`,
    customerId: `cus-${String(Math.floor(next() * 1_000_000)).padStart(6, '0')}`,
    updatedAt: new Date(timestampMs).toISOString(),
    status: pick(STATUSES),
    channel: pick(CHANNELS),
    currency: 'EUR',
    total: Math.round(next() * 50_000) / 100,
    shipping: { country, city, postcode, method: next() < 0.8 ? 'standard' : 'express' },
    items: [] as Array<{ sku: string; name: string; qty: number; price: number }>,
    comment: '',
  };
  let length = JSON.stringify(event).length;
  for (;;) {
    const item = {
      sku: pick(SKUS),
      name: pick(NAMES),
      qty: 1 + Math.floor(next() * 4),
      price: Math.round(next() * 20_000) / 100,
    };
    const added = JSON.stringify(item).length + (event.items.length > 0 ? 1 : 0);
    if (length + added > bytes - 40) break;
    event.items.push(item);
    length += added;
  }
  let comment = '';
  while (length + comment.length < bytes) comment += `${pick(WORDS)} `;
  event.comment = comment.slice(0, Math.max(0, bytes - length));
  return Buffer.from(JSON.stringify(event), 'latin1');
}
