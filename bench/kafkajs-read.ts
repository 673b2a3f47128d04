// Measurement (b): a bare kafkajs consumer reading the whole topic: the ceiling of the client library
// the puller is built on, with its default fetch sizes.
import { Kafka, logLevel } from 'kafkajs';

/** What the bare consumer read. */
export interface KafkajsReadResult {
  readonly records: number;
  readonly bytes: number;
  /** From before the first connection to the last record read. */
  readonly elapsedMs: number;
  readonly firstRecordMs: number | undefined;
}

/**
 * Joins a fresh group, reads every partition from the beginning (eachBatch, no commits) and stops when
 * each partition has reached the high watermark it had at the start.
 */
export async function kafkajsReadTopic(
  brokers: readonly string[],
  topic: string,
  groupId: string,
): Promise<KafkajsReadResult> {
  const started = performance.now();
  const kafka = new Kafka({
    clientId: 'kbp-bench-reader',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  for (const p of await admin.fetchTopicOffsets(topic)) {
    if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
  }
  await admin.disconnect();

  let records = 0;
  let bytes = 0;
  let firstRecordMs: number | undefined;
  let lastRecordMs = 0;
  if (ends.size > 0) {
    const consumer = kafka.consumer({ groupId, retry: { retries: 0 } });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    try {
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              firstRecordMs ??= performance.now() - started;
              records += batch.messages.length;
              for (const message of batch.messages) bytes += message.value?.length ?? 0;
              const end = ends.get(batch.partition);
              if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) ends.delete(batch.partition);
              if (ends.size === 0) {
                lastRecordMs = performance.now() - started;
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      // Outside eachBatch: disconnecting from inside it deadlocks.
      await consumer.disconnect();
    }
  }
  return { records, bytes, elapsedMs: lastRecordMs, firstRecordMs };
}
