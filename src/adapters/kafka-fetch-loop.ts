// Fetching a topic's partitions straight from their leaders, as a member of no consumer group: one fetch
// loop per leader keeps one fetch in flight for the partitions being fetched, and feeds the fetch queue
// that poll() drains; no fetch starts while the queue is full. A leader that moves is found again from
// refreshed metadata, with backoff, for a bounded time.
import { ConnectionError, OffsetOutOfRangeError, PullerError } from '../errors.js';
import type { SourceBatch } from '../ports.js';
import { FetchQueue, wake } from './fetch-queue.js';
import {
  atBroker,
  isStaleMetadata,
  kafkaConnectionError,
  messageOf,
  outOfRangePartition,
} from './kafka-errors.js';
import { approximateBytes, toSourceRecord } from './kafka-records.js';
import {
  brokerAddress,
  decodeBatch,
  type FetchResponse,
  findBroker,
  type InternalCluster,
  IsolationLevel,
} from './kafkajs-internals.js';

/** How the loops fetch. */
const FETCH = {
  /**
   * After a fetch that found nothing new, the loop waits this long before the next one; a resume or a close
   * cuts the wait short. The broker itself is asked not to wait: it answers a connection's requests in
   * order, so a fetch waiting on the broker would hold back the fetch of a partition just resumed.
   */
  IDLE_WAIT_MS: 100,
  /** How long a partition may have no reachable leader (an election, a reassignment) before poll() fails. */
  LEADERLESS_LIMIT_MS: 30_000,
  BACKOFF_INITIAL_MS: 200,
  BACKOFF_MAX_MS: 2000,
} as const;

/** Exponential backoff with jitter, as kafkajs's retrier. */
function backoffMs(attempt: number): number {
  const base = Math.min(FETCH.BACKOFF_INITIAL_MS * 2 ** attempt, FETCH.BACKOFF_MAX_MS);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** A partition asked for in one fetch. */
interface Requested {
  readonly partition: number;
  readonly fetchOffset: string;
}

/** What the fetch loops need to know of their topic and limits. */
export interface FetchLoopsOptions {
  readonly topic: string;
  /** The cluster to fetch through, connected, with the topic's metadata. */
  readonly cluster: () => Promise<InternalCluster>;
  /** The queue's limit: fetching waits for a poll once it holds this many bytes. */
  readonly maxQueuedBytes: number;
  /** The most one fetch asks of one partition. */
  readonly maxBytesPerPartition: number;
}

/** The fetch loops of one topic's given partitions, one per leader, and the queue they feed. */
export class FetchLoops {
  private started = false;
  private closed = false;
  /** The next offset to fetch, per partition being fetched (a paused partition has none). */
  private readonly next = new Map<number, string>();
  /** Leaders (node ids) that have a fetch loop running. */
  private readonly leaders = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  private readonly queue: FetchQueue;
  /** Fetch loops (or the metadata refresh) waiting out a backoff after an error. */
  private readonly backoffWaiters = new Set<() => void>();
  /** Fetch loops waiting after a fetch that found nothing new. */
  private readonly idleWaiters = new Set<() => void>();
  private failure: PullerError | undefined;
  private leaderlessSince: number | undefined;
  private refreshingLeaders = false;
  private readonly topic: string;

  constructor(private readonly options: FetchLoopsOptions) {
    this.topic = options.topic;
    this.queue = new FetchQueue(options.maxQueuedBytes);
  }

  /** Fetches these partitions from these next offsets. */
  async start(positions: ReadonlyMap<number, string>): Promise<void> {
    await this.options.cluster();
    this.started = true;
    for (const [partition, offset] of positions) this.next.set(partition, offset);
    await this.startLoops();
  }

  /** Waits at most `maxWaitMs` for fetched batches; takes every one queued. Throws what stopped fetching. */
  async poll(maxWaitMs: number): Promise<SourceBatch[]> {
    if (this.failure) throw this.failure;
    if (this.queue.isEmpty && maxWaitMs > 0) {
      await this.queue.waitForBatches(maxWaitMs);
      if (this.failure) throw this.failure;
    }
    return this.queue.takeAll();
  }

  /** Stops fetching these partitions; returns their queued batches, in order. */
  pause(partitions: readonly number[]): SourceBatch[] {
    if (partitions.length === 0) return [];
    for (const partition of partitions) this.next.delete(partition);
    return this.queue.takeUnless((partition) => this.next.has(partition));
  }

  /** Fetches these partitions again, from these next offsets. */
  resume(positions: ReadonlyMap<number, string>): void {
    if (!this.started) throw new PullerError('the Kafka source was not started');
    if (positions.size === 0) return;
    for (const [partition, offset] of positions) this.next.set(partition, offset);
    // A loop idle after finding nothing new fetches the resumed partitions at once.
    wake(this.idleWaiters);
    void this.startLoops().catch((error: unknown) => this.fail(error));
  }

  /** Stops fetching, drops what was fetched, and lets every waiting loop and poll go on. */
  close(): void {
    this.closed = true;
    this.next.clear();
    this.queue.clear();
    this.wakeAll();
  }

  /** Resolves when every loop has ended (after close(), and the cluster's disconnect, fail the fetch in flight). */
  async ended(): Promise<void> {
    await Promise.allSettled([...this.loops]);
  }

  /** Starts a fetch loop for every leader of a partition being fetched that has none. */
  private async startLoops(): Promise<void> {
    if (this.closed || this.failure || this.next.size === 0) return;
    const cluster = await this.options.cluster();
    if (this.closed || this.failure) return;
    const wanted = [...this.next.keys()];
    let byLeader: Record<string, number[]>;
    try {
      byLeader = cluster.findLeaderForPartitions(this.topic, wanted);
    } catch (error) {
      // A partition whose leader is being elected has none in the metadata yet.
      void this.awaitLeaders(cluster, error);
      return;
    }
    for (const nodeId of Object.keys(byLeader)) {
      if (this.leaders.has(nodeId)) continue;
      this.leaders.add(nodeId);
      const loop: Promise<void> = this.fetchLoop(cluster, nodeId)
        // The node leads nothing being fetched any more: what it led may have moved to a node with no loop.
        .then(() => this.startLoops())
        .catch((error: unknown) => this.fail(error))
        .finally(() => this.loops.delete(loop));
      this.loops.add(loop);
    }
    const led = new Set(Object.values(byLeader).flat());
    const leaderless = wanted.filter((p) => !led.has(p));
    if (leaderless.length > 0) {
      void this.awaitLeaders(cluster, new Error(`no leader known for partitions ${leaderless.join(', ')}`));
    } else this.leaderlessSince = undefined;
  }

  /** Refreshes the metadata with backoff until every partition being fetched has a leader, or fails. */
  private async awaitLeaders(cluster: InternalCluster, cause: unknown): Promise<void> {
    if (this.refreshingLeaders) return;
    this.refreshingLeaders = true;
    try {
      this.leaderlessSince ??= Date.now();
      if (Date.now() - this.leaderlessSince > FETCH.LEADERLESS_LIMIT_MS) {
        this.fail(
          new ConnectionError(
            `topic '${this.topic}' has had partitions without a leader for ${FETCH.LEADERLESS_LIMIT_MS / 1000} s: ${messageOf(cause)}`,
            { cause },
          ),
        );
        return;
      }
      await this.sleep(FETCH.BACKOFF_MAX_MS, this.backoffWaiters);
      if (!this.closed) await cluster.refreshMetadata().catch(() => {});
    } finally {
      this.refreshingLeaders = false;
    }
    await this.startLoops().catch((error: unknown) => this.fail(error));
  }

  /** The partitions `nodeId` leads that are being fetched, from their next offsets. */
  private ledBy(cluster: InternalCluster, nodeId: string): Requested[] {
    if (this.closed || this.next.size === 0) return [];
    let byLeader: Record<string, number[]>;
    try {
      byLeader = cluster.findLeaderForPartitions(this.topic, [...this.next.keys()]);
    } catch {
      return [];
    }
    return (byLeader[nodeId] ?? []).map((partition) => ({
      partition,
      fetchOffset: this.next.get(partition) as string,
    }));
  }

  /**
   * One fetch of what `nodeId` leads, from the current offsets, with kafkajs's retrier (the client's retry
   * settings) for a lost connection or a timeout. `round.requested` says what the answer is for.
   */
  private async fetchOnce(
    cluster: InternalCluster,
    nodeId: string,
    round: { requested: Requested[] },
  ): Promise<{ response?: FetchResponse; error?: unknown }> {
    const { maxQueuedBytes, maxBytesPerPartition } = this.options;
    try {
      const response = await cluster.retrier(async (bail) => {
        // Each attempt asks for what this node leads now, from the current offsets.
        round.requested = this.ledBy(cluster, nodeId);
        if (round.requested.length === 0) return undefined;
        try {
          const broker = await findBroker(cluster, nodeId);
          return await broker.fetch({
            isolationLevel: IsolationLevel.READ_COMMITTED,
            maxWaitTime: 0,
            minBytes: 1,
            maxBytes: Math.max(maxQueuedBytes, maxBytesPerPartition),
            topics: [
              {
                topic: this.topic,
                partitions: round.requested.map(({ partition, fetchOffset }) => ({
                  partition,
                  fetchOffset,
                  maxBytes: maxBytesPerPartition,
                })),
              },
            ],
          });
        } catch (error) {
          // The loop handles these itself: a fetch retried as it is would meet them again.
          if (this.closed || isStaleMetadata(error) || outOfRangePartition(error) !== undefined) {
            bail(error as Error);
            return undefined;
          }
          // A lost connection is retried: the next attempt reconnects, and a broker that refuses the
          // connection makes kafkajs refresh the metadata (and retry connecting) before it gives up.
          throw error;
        }
      });
      return { response };
    } catch (error) {
      return { error };
    }
  }

  /** Fetches what `nodeId` leads, one fetch in flight, until it leads nothing being fetched. */
  private async fetchLoop(cluster: InternalCluster, nodeId: string): Promise<void> {
    let troubleSince: number | undefined;
    let attempt = 0;
    try {
      for (;;) {
        while (!this.closed && !this.failure && this.queue.isFull) await this.queue.waitForRoom();
        if (this.closed || this.failure) return;
        const round = { requested: this.ledBy(cluster, nodeId) };
        // Synchronous from this check to the return (the finally block included): a partition resumed
        // after it finds a loop for its leader running, or none, never one about to stop.
        if (round.requested.length === 0) return;
        const { response, error } = await this.fetchOnce(cluster, nodeId, round);
        if (this.closed) return;
        if (error === undefined) {
          troubleSince = undefined;
          attempt = 0;
          const moved = response !== undefined && this.take(response, round.requested);
          if (!moved) await this.sleep(FETCH.IDLE_WAIT_MS, this.idleWaiters);
          continue;
        }
        const partition = outOfRangePartition(error);
        if (partition !== undefined) {
          const asked = round.requested.find((r) => r.partition === partition);
          // Out of range at an offset the partition has since left (a pause, a seek) is stale.
          if (asked && this.next.get(partition) === asked.fetchOffset) {
            throw new OffsetOutOfRangeError(this.topic, partition, asked.fetchOffset, { cause: error });
          }
          continue;
        }
        if (!isStaleMetadata(error)) {
          const at = brokerAddress(cluster, nodeId);
          throw new ConnectionError(
            `cannot fetch topic '${this.topic}' from ${at ? `broker ${at}` : `broker node ${nodeId}`}` +
              `${at ? '' : atBroker(error)}: ${messageOf(error)}`,
            { cause: error },
          );
        }
        // A leader moved or is being elected: refresh, then fetch each partition from its leader now.
        troubleSince ??= Date.now();
        if (Date.now() - troubleSince > FETCH.LEADERLESS_LIMIT_MS) {
          throw new ConnectionError(
            `topic '${this.topic}' partitions ${round.requested.map((r) => r.partition).join(', ')} have had ` +
              `no available leader for ${FETCH.LEADERLESS_LIMIT_MS / 1000} s: ${messageOf(error)}`,
            { cause: error },
          );
        }
        await this.sleep(backoffMs(attempt++), this.backoffWaiters);
        if (this.closed) return;
        await cluster.refreshMetadata().catch(() => {});
        void this.startLoops().catch((e: unknown) => this.fail(e));
      }
    } finally {
      this.leaders.delete(nodeId);
    }
  }

  /**
   * Queues what a fetch returned for the partitions still expecting it. Returns false when the fetch found
   * nothing new for any partition it asked for, and none of them moved since (the loop may idle).
   */
  private take(response: FetchResponse, requested: readonly Requested[]): boolean {
    if (this.closed) return false;
    let queued = false;
    let moved = requested.some((r) => this.next.get(r.partition) !== r.fetchOffset);
    for (const { topicName, partitions } of response.responses) {
      for (const data of partitions) {
        const partition = data.partition;
        const fetchOffset = requested.find((r) => r.partition === partition)?.fetchOffset;
        // An answer for a partition paused or moved (seek) since it was asked for is stale.
        if (fetchOffset === undefined || this.next.get(partition) !== fetchOffset) {
          moved = true;
          continue;
        }
        const batch = decodeBatch(topicName, fetchOffset, data);
        // Nothing at the offset yet.
        if (batch.messages.length === 0 && !batch.isEmptyDueToFiltering()) continue;
        // Past the last record and any control records (transaction markers) after it: a fetch of only
        // markers or aborted records still moves the partition on, so its high watermark can be reached.
        const nextOffset = (BigInt(batch.lastOffset()) + 1n).toString();
        const records = batch.messages.map((m) => toSourceRecord(partition, m));
        this.queue.push({ partition, records, nextOffset }, approximateBytes(batch.messages));
        this.next.set(partition, nextOffset);
        queued = true;
      }
    }
    return queued || moved;
  }

  /** Waits `ms`, or less when a waiter of `waiters` is woken. */
  private sleep(ms: number, waiters: Set<() => void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  /** Stops fetching for good: the next poll throws `error`, as the puller's error it is or becomes. */
  private fail(error: unknown): void {
    if (this.closed || this.failure) return;
    this.failure =
      error instanceof PullerError ? error : kafkaConnectionError('the Kafka source stopped', error);
    this.wakeAll();
  }

  /** Lets every poll and fetch loop go on: out of a wait for batches or room, a backoff or an idle wait. */
  private wakeAll(): void {
    this.queue.wakeAll();
    wake(this.backoffWaiters);
    wake(this.idleWaiters);
  }
}
