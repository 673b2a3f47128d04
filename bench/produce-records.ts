// Fills a topic fast with records whose timestamps are set by hand, so the windows they fall in are
// known in advance and already closed (in the past) when the puller runs.
import { randomBytes } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { jsonOrderValue } from './json-values.js';

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
}

/** The kinds of values the bench produces. */
export type BenchValues = 'base64' | 'json';

/** How the produce went. */
export interface ProduceResult {
  readonly records: number;
  readonly elapsedMs: number;
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
  const messageOf = (i: number): Message => {
    const at = (i * 7_919) % (pool.length - spec.recordBytes);
    const timestampMs = spec.firstTimestampMs + Math.floor((i * span) / spec.records);
    return {
      partition: i % spec.partitions,
      timestamp: String(timestampMs),
      key: null,
      value:
        spec.values === 'json'
          ? jsonOrderValue(i, timestampMs, spec.recordBytes)
          : pool.subarray(at, at + spec.recordBytes),
    };
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
  return { records: spec.records, elapsedMs: performance.now() - started };
}
