// RecordSource over kafkajs. kafkajs has no pull API, so its push loop (eachBatch) feeds a bounded
// queue that poll() drains; eachBatch waits while the queue is full, which stops further fetches.
import type { Admin, Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { FetchSettings } from '../config.js';
import { ConnectionError, PullerError, TopicNotFoundError } from '../errors.js';
import type { PartitionBounds, RecordSource, SourceBatch, SourceRecord } from '../ports.js';

interface Waiter {
  resolve(): void;
}

function toSourceRecord(partition: number, message: KafkaMessage): SourceRecord {
  const headers: Array<readonly [string, Buffer | null]> = [];
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    // kafkajs groups a repeated header key into an array; keep every value.
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) headers.push([key, v === undefined || v === null ? null : Buffer.from(v)]);
  }
  return {
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
  };
}

function approximateBytes(batch: Batch): number {
  let bytes = 0;
  for (const m of batch.messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;
  return bytes;
}

/** Reads one topic as one consumer group's only member. */
export class KafkaSource implements RecordSource {
  private readonly admin: Admin;
  private consumer: Consumer | undefined;
  private queue: Array<{ batch: SourceBatch; bytes: number }> = [];
  private queuedBytes = 0;
  private readonly expected = new Map<number, string>();
  private readonly paused = new Set<number>();
  private readonly waiters = new Set<Waiter>();
  /** eachBatch calls waiting for the queue to drain. */
  private readonly roomWaiters = new Set<() => void>();
  private crash: Error | undefined;
  private adminConnected = false;
  private closed = false;
  private readonly maxQueuedBytes: number;
  private readonly maxBytesPerPartition: number;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
    fetch: FetchSettings,
  ) {
    this.admin = kafka.admin();
    this.maxQueuedBytes = fetch.maxQueuedBytes;
    this.maxBytesPerPartition = fetch.maxBytesPerPartition;
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.adminConnected) {
      try {
        await this.admin.connect();
      } catch (error) {
        throw new ConnectionError(
          `cannot reach the Kafka brokers${atBroker(error)}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      this.adminConnected = true;
    }
    return this.admin;
  }

  async partitionBounds(): Promise<PartitionBounds[]> {
    const admin = await this.connectedAdmin();
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return offsets
        .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
        .sort((a, b) => a.partition - b.partition);
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (
        type === 'UNKNOWN_TOPIC_OR_PARTITION' ||
        /does not host this topic-partition|unknown topic/i.test(String(error))
      ) {
        throw new TopicNotFoundError(this.topic, { cause: error });
      }
      throw new ConnectionError(
        `cannot read the offsets of topic '${this.topic}'${atBroker(error)}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async offsetsForTime(timestampMs: number): Promise<Map<number, string>> {
    const admin = await this.connectedAdmin();
    const [found, bounds] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(this.topic, timestampMs),
      this.partitionBounds(),
    ]);
    const result = new Map<number, string>();
    for (const { partition, high } of bounds) {
      const offset = found.find((f) => f.partition === partition)?.offset;
      // -1: no record at or after that time; start at the end.
      result.set(partition, offset === undefined || offset === '-1' ? high : offset);
    }
    return result;
  }

  async start(positions: ReadonlyMap<number, string>): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      // A short broker-side wait keeps pause/seek and deadlines responsive; poll() does the long waiting.
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: this.maxBytesPerPartition,
      retry: { retries: 3, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    // A fetch that returned only transaction markers never reaches eachBatch; kafkajs still steps over
    // them and reports it here. Passing the step on lets a partition whose log ends in a marker be
    // recognised as read to its high watermark.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== this.topic || payload.batchSize !== 0 || payload.firstOffset === null) return;
      this.onMarkersOnly(payload.partition, payload.firstOffset, payload.lastOffset);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.crash = event.payload.error;
      this.wake();
    });
    for (const [partition, offset] of positions) this.expected.set(partition, offset);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic] });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale }) =>
          this.onBatch(batch, resolveOffset, heartbeat, () => isRunning() && !isStale()),
      });
    } catch (error) {
      throw new ConnectionError(
        `cannot join consumer group '${this.groupId}'${atBroker(error)}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    // The saved state, not the group's committed offsets, says where to read: seek applies at the first fetch.
    for (const [partition, offset] of positions) consumer.seek({ topic: this.topic, partition, offset });
  }

  private async onBatch(
    batch: Batch,
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
    stillCurrent: () => boolean,
  ): Promise<void> {
    const partition = batch.partition;
    // A batch fetched before a pause or seek is stale: its offsets are not the ones asked for next.
    // (Batch.fetchedOffset is set by kafkajs but missing from its type declarations.)
    const fetchedOffset = (batch as Batch & { fetchedOffset: string }).fetchedOffset;
    if (this.paused.has(partition) || fetchedOffset !== this.expected.get(partition)) return;
    const last = batch.messages[batch.messages.length - 1];
    if (last === undefined) return;
    const nextOffset = (BigInt(batch.lastOffset()) + 1n).toString();
    const bytes = approximateBytes(batch);
    while (
      this.queuedBytes > 0 &&
      this.queuedBytes + bytes > this.maxQueuedBytes &&
      stillCurrent() &&
      !this.closed
    ) {
      // Wait for poll() to make room, heartbeating meanwhile so the group keeps this member.
      await heartbeat();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 1000);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.roomWaiters.add(done);
      });
    }
    if (!stillCurrent() || this.paused.has(partition) || this.closed) return;
    this.queue.push({
      batch: { partition, records: batch.messages.map((m) => toSourceRecord(partition, m)), nextOffset },
      bytes,
    });
    this.queuedBytes += bytes;
    this.expected.set(partition, nextOffset);
    // Resolving the last record lets kafkajs also step over trailing control records.
    resolveOffset(last.offset);
    this.wake();
  }

  private onMarkersOnly(partition: number, firstOffset: string, lastOffset: string): void {
    if (this.paused.has(partition) || this.closed || firstOffset !== this.expected.get(partition)) return;
    const nextOffset = (BigInt(lastOffset) + 1n).toString();
    this.queue.push({ batch: { partition, records: [], nextOffset }, bytes: 0 });
    this.expected.set(partition, nextOffset);
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
  }

  private throwIfCrashed(): void {
    const crash = this.crash;
    if (crash) {
      throw new ConnectionError(`the Kafka consumer stopped${atBroker(crash)}: ${crash.message}`, {
        cause: crash,
      });
    }
  }

  async poll(maxWaitMs: number): Promise<SourceBatch[]> {
    this.throwIfCrashed();
    if (this.queue.length === 0 && maxWaitMs > 0) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter = { resolve };
        const timer = setTimeout(() => {
          this.waiters.delete(waiter);
          resolve();
        }, maxWaitMs);
        waiter.resolve = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.add(waiter);
      });
      this.throwIfCrashed();
    }
    const taken = this.queue.map((entry) => entry.batch);
    this.queue = [];
    this.queuedBytes = 0;
    this.makeRoom();
    return taken;
  }

  pause(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    for (const partition of partitions) this.paused.add(partition);
    this.consumer?.pause([{ topic: this.topic, partitions: [...partitions] }]);
    this.queue = this.queue.filter((entry) => !this.paused.has(entry.batch.partition));
    this.queuedBytes = this.queue.reduce((sum, entry) => sum + entry.bytes, 0);
    this.makeRoom();
  }

  private makeRoom(): void {
    for (const waiter of this.roomWaiters) waiter();
    this.roomWaiters.clear();
  }

  resume(positions: ReadonlyMap<number, string>): void {
    const consumer = this.requireConsumer();
    for (const [partition, offset] of positions) {
      this.paused.delete(partition);
      this.expected.set(partition, offset);
      consumer.seek({ topic: this.topic, partition, offset });
    }
    consumer.resume([{ topic: this.topic, partitions: [...positions.keys()] }]);
  }

  async commit(positions: ReadonlyMap<number, string>): Promise<void> {
    const offsets = [...positions].map(([partition, offset]) => ({ topic: this.topic, partition, offset }));
    if (offsets.length === 0) return;
    if (this.consumer) {
      await this.consumer.commitOffsets(offsets);
      return;
    }
    // No member is running (nothing was polled): set the group's offsets directly.
    const admin = await this.connectedAdmin();
    await admin.setOffsets({
      groupId: this.groupId,
      topic: this.topic,
      partitions: offsets.map(({ partition, offset }) => ({ partition, offset })),
    });
  }

  async committedOffsets(): Promise<Map<number, string>> {
    const admin = await this.connectedAdmin();
    const [topic] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
    // -1: the group has no offset for that partition.
    return new Map(
      (topic?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, p.offset]),
    );
  }

  private requireConsumer(): Consumer {
    if (!this.consumer) throw new PullerError('the Kafka source was not started');
    return this.consumer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.makeRoom();
    // Leaving the group now spares the next run a wait for this member's session to time out.
    await this.consumer?.disconnect().catch(() => {});
    if (this.adminConnected) await this.admin.disconnect().catch(() => {});
  }
}

/** ` (broker host:port)` when kafkajs says which broker failed (on the error or one of its causes). */
function atBroker(error: unknown): string {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { broker, cause, originalError } = e as {
      broker?: unknown;
      cause?: unknown;
      originalError?: unknown;
    };
    if (typeof broker === 'string' && broker !== '') return ` (broker ${broker})`;
    e = originalError ?? cause;
  }
  return '';
}
