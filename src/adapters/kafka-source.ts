// RecordSource over kafkajs, as a member of no consumer group. A group join costs every run the broker's
// group.initial.rebalance.delay.ms (3 s by default, as on Amazon MSK), and sources reading disjoint
// partitions in one group would rebalance each other. So the source fetches the partitions it is given,
// from the offsets it is given, straight from their leaders (kafkajs-internals.ts), and commits as a
// non-member. One fetch loop per leader keeps one fetch in flight for the partitions being fetched, and
// feeds a byte-bounded queue that poll() drains; no fetch starts while the queue is full.
import type { Admin, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { FetchSettings } from '../config.js';
import type { TopicIdentity } from '../core/topic-identity.js';
import {
  ConnectionError,
  FailureKind,
  failureKindOf,
  GroupHasMembersError,
  OffsetOutOfRangeError,
  PullerError,
  TopicNotFoundError,
} from '../errors.js';
import type { PartitionBounds, RecordSource, SourceBatch, SourceRecord } from '../ports.js';
import {
  brokerAddress,
  createCluster,
  decodeBatch,
  type FetchResponse,
  fetchTopicIds,
  findBroker,
  findGroupCoordinator,
  type InternalCluster,
  IsolationLevel,
  listHighWatermarks,
} from './kafkajs-internals.js';

/** How the source fetches. */
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
  /** As kafkajs's consumer: metadata is refreshed at least this often, and whenever a fetch says it is stale. */
  METADATA_MAX_AGE_MS: 300_000,
} as const;

/** Answers that mean the client's metadata is stale (a leader moved or is being elected): refresh and retry. */
const STALE_METADATA_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);
const STALE_METADATA_NAMES = new Set([
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);
/** The coordinator's answers to a non-member's commit while the group has members. */
const GROUP_HAS_MEMBERS_TYPES = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'MEMBER_ID_REQUIRED',
  'FENCED_INSTANCE_ID',
]);

/** The error and its causes, as kafkajs and the puller chain them. */
function* chainOf(error: unknown): Generator<Record<string, unknown>> {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    const record = e as Record<string, unknown>;
    yield record;
    e = record.originalError ?? record.cause;
  }
}

/** The Kafka protocol error type (`NOT_LEADER_FOR_PARTITION`...) in the chain, if any. */
function kafkaTypeOf(error: unknown): string | undefined {
  for (const e of chainOf(error)) if (typeof e.type === 'string') return e.type;
  return undefined;
}

function isStaleMetadata(error: unknown): boolean {
  for (const e of chainOf(error)) {
    if (typeof e.type === 'string' && STALE_METADATA_TYPES.has(e.type)) return true;
    if (typeof e.name === 'string' && STALE_METADATA_NAMES.has(e.name)) return true;
  }
  return false;
}

/** The partition kafkajs names in an OFFSET_OUT_OF_RANGE answer. */
function outOfRangePartition(error: unknown): number | undefined {
  for (const e of chainOf(error)) {
    if (e.name === 'KafkaJSOffsetOutOfRange' && typeof e.partition === 'number') return e.partition;
  }
  return undefined;
}

/** ` (broker host:port)` when kafkajs says which broker failed (on the error or one of its causes). */
function atBroker(error: unknown): string {
  for (const e of chainOf(error)) {
    if (typeof e.broker === 'string' && e.broker !== '') return ` (broker ${e.broker})`;
  }
  return '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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

function toSourceRecord(partition: number, message: KafkaMessage): SourceRecord {
  return {
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: headersOf(message.headers),
  };
}

function approximateBytes(messages: readonly KafkaMessage[]): number {
  let bytes = 0;
  for (const m of messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;
  return bytes;
}

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

/** Reads one topic's given partitions as a member of no consumer group; commits to `groupId` as a non-member. */
export class KafkaSource implements RecordSource {
  private readonly admin: Admin;
  private adminConnected = false;
  private cluster: Promise<InternalCluster> | undefined;
  private started = false;
  /** The next offset to fetch, per partition being fetched (a paused partition has none). */
  private readonly next = new Map<number, string>();
  /** Leaders (node ids) that have a fetch loop running. */
  private readonly leaders = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  private queue: Array<{ batch: SourceBatch; bytes: number }> = [];
  private queuedBytes = 0;
  /** poll() calls waiting for records. */
  private readonly pollWaiters = new Set<() => void>();
  /** Fetch loops waiting for the queue to drain. */
  private readonly roomWaiters = new Set<() => void>();
  /** Fetch loops (or the metadata refresh) waiting out a backoff after an error. */
  private readonly backoffWaiters = new Set<() => void>();
  /** Fetch loops waiting after a fetch that found nothing new. */
  private readonly idleWaiters = new Set<() => void>();
  private failure: PullerError | undefined;
  private leaderlessSince: number | undefined;
  private refreshingLeaders = false;
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
        throw new ConnectionError(`cannot reach the Kafka brokers${atBroker(error)}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      this.adminConnected = true;
    }
    return this.admin;
  }

  /** The cluster the source fetches and commits through, connected, with the topic's metadata. */
  private connectedCluster(): Promise<InternalCluster> {
    if (this.closed) return Promise.reject(new PullerError('the Kafka source is closed'));
    this.cluster ??= (async () => {
      const cluster = createCluster(this.kafka, FETCH.METADATA_MAX_AGE_MS);
      try {
        await cluster.connect();
        await cluster.addTargetTopic(this.topic);
        return cluster;
      } catch (error) {
        await cluster.disconnect().catch(() => {});
        if (kafkaTypeOf(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
          throw new TopicNotFoundError(this.topic, { cause: error });
        }
        throw new ConnectionError(`cannot reach the Kafka brokers${atBroker(error)}: ${messageOf(error)}`, {
          cause: error,
        });
      }
    })();
    const connecting = this.cluster;
    // A failed attempt is not kept: the next call tries again.
    connecting.catch(() => {
      if (this.cluster === connecting) this.cluster = undefined;
    });
    return connecting;
  }

  async partitionBounds(): Promise<PartitionBounds[]> {
    const admin = await this.connectedAdmin();
    let offsets: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    try {
      // kafkajs's admin lists offsets read_committed: `high` is the last stable offset.
      offsets = await admin.fetchTopicOffsets(this.topic);
    } catch (error) {
      if (
        kafkaTypeOf(error) === 'UNKNOWN_TOPIC_OR_PARTITION' ||
        /does not host this topic-partition|unknown topic/i.test(String(error))
      ) {
        throw new TopicNotFoundError(this.topic, { cause: error });
      }
      throw new ConnectionError(
        `cannot read the offsets of topic '${this.topic}'${atBroker(error)}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    // Asked after the stable offsets: records produced in between can make a transaction look open for
    // one poll (a short wait), but a transaction open before is never missed.
    const highWatermarks = await this.highWatermarks(offsets.map((o) => o.partition));
    return offsets
      .map((o) => ({
        partition: o.partition,
        low: o.low,
        high: o.high,
        highWatermark: highWatermarks.get(o.partition) ?? o.high,
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** The partitions' high watermarks, with kafkajs's retrier; a leader that moved is looked up again. */
  private async highWatermarks(partitions: number[]): Promise<Map<number, string>> {
    const cluster = await this.connectedCluster();
    try {
      return await cluster.retrier(async () => {
        try {
          return await listHighWatermarks(cluster, this.topic, partitions);
        } catch (error) {
          if (isStaleMetadata(error)) await cluster.refreshMetadata().catch(() => {});
          throw error;
        }
      });
    } catch (error) {
      throw new ConnectionError(
        `cannot read the high watermarks of topic '${this.topic}'${atBroker(error)}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  async topicIdentity(): Promise<TopicIdentity> {
    const cluster = await this.connectedCluster();
    try {
      const { clusterId, topicId } = await fetchTopicIds(cluster, this.topic);
      return { ...(clusterId ? { clusterId } : {}), ...(topicId ? { topicId } : {}) };
    } catch (error) {
      if (kafkaTypeOf(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw new TopicNotFoundError(this.topic, { cause: error });
      }
      throw new ConnectionError(
        `cannot read the metadata of topic '${this.topic}'${atBroker(error)}: ${messageOf(error)}`,
        { cause: error },
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
    await this.connectedCluster();
    this.started = true;
    for (const [partition, offset] of positions) this.next.set(partition, offset);
    await this.startLoops();
  }

  /** Starts a fetch loop for every leader of a partition being fetched that has none. */
  private async startLoops(): Promise<void> {
    if (this.closed || this.failure || this.next.size === 0) return;
    const cluster = await this.connectedCluster();
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
            maxBytes: Math.max(this.maxQueuedBytes, this.maxBytesPerPartition),
            topics: [
              {
                topic: this.topic,
                partitions: round.requested.map(({ partition, fetchOffset }) => ({
                  partition,
                  fetchOffset,
                  maxBytes: this.maxBytesPerPartition,
                })),
              },
            ],
          });
        } catch (error) {
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
        while (!this.closed && !this.failure && this.queuedBytes >= this.maxQueuedBytes) {
          await new Promise<void>((resolve) => this.roomWaiters.add(resolve));
        }
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
        const bytes = approximateBytes(batch.messages);
        this.queue.push({ batch: { partition, records, nextOffset }, bytes });
        this.queuedBytes += bytes;
        this.next.set(partition, nextOffset);
        queued = true;
      }
    }
    if (queued) this.wakePollers();
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

  private fail(error: unknown): void {
    if (this.closed || this.failure) return;
    this.failure =
      error instanceof PullerError
        ? error
        : new ConnectionError(`the Kafka source stopped${atBroker(error)}: ${messageOf(error)}`, {
            cause: error,
          });
    this.wakePollers();
    this.wakeLoops();
  }

  private wakePollers(): void {
    for (const wake of this.pollWaiters) wake();
    this.pollWaiters.clear();
  }

  private wake(waiters: Set<() => void>): void {
    const waiting = [...waiters];
    waiters.clear();
    for (const wake of waiting) wake();
  }

  /** Lets every fetch loop go on: out of a wait for room, a backoff or an idle wait. */
  private wakeLoops(): void {
    this.wake(this.roomWaiters);
    this.wake(this.backoffWaiters);
    this.wake(this.idleWaiters);
  }

  async poll(maxWaitMs: number): Promise<SourceBatch[]> {
    if (this.failure) throw this.failure;
    if (this.queue.length === 0 && maxWaitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.pollWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, maxWaitMs);
        this.pollWaiters.add(done);
      });
      if (this.failure) throw this.failure;
    }
    const taken = this.queue.map((entry) => entry.batch);
    this.queue = [];
    this.queuedBytes = 0;
    this.wake(this.roomWaiters);
    return taken;
  }

  pause(partitions: readonly number[]): SourceBatch[] {
    if (partitions.length === 0) return [];
    for (const partition of partitions) this.next.delete(partition);
    const removed: SourceBatch[] = [];
    const kept: typeof this.queue = [];
    for (const entry of this.queue) {
      if (this.next.has(entry.batch.partition)) kept.push(entry);
      else removed.push(entry.batch);
    }
    if (removed.length === 0) return removed;
    this.queue = kept;
    this.queuedBytes = kept.reduce((sum, entry) => sum + entry.bytes, 0);
    this.wake(this.roomWaiters);
    return removed;
  }

  resume(positions: ReadonlyMap<number, string>): void {
    if (!this.started) throw new PullerError('the Kafka source was not started');
    if (positions.size === 0) return;
    for (const [partition, offset] of positions) this.next.set(partition, offset);
    // A loop idle after finding nothing new fetches the resumed partitions at once.
    this.wake(this.idleWaiters);
    void this.startLoops().catch((error: unknown) => this.fail(error));
  }

  async commit(positions: ReadonlyMap<number, string>): Promise<void> {
    if (positions.size === 0) return;
    const cluster = await this.connectedCluster();
    const topics = [
      {
        topic: this.topic,
        partitions: [...positions].map(([partition, offset]) => ({ partition, offset })),
      },
    ];
    try {
      await cluster.retrier(async (bail) => {
        try {
          const coordinator = await findGroupCoordinator(cluster, this.groupId);
          // Generation -1 and no member id: a commit from outside the group, as Java's assign()-mode
          // consumer and AdminClient send. The coordinator takes it while the group has no members.
          await coordinator.offsetCommit({
            groupId: this.groupId,
            groupGenerationId: -1,
            memberId: '',
            topics,
          });
        } catch (error) {
          const type = kafkaTypeOf(error);
          if (type !== undefined && GROUP_HAS_MEMBERS_TYPES.has(type)) {
            bail(new GroupHasMembersError(this.groupId, { cause: error }));
            return;
          }
          // A coordinator that moved, is not there yet or is loading the group, a lost connection, a
          // timeout: retried, each attempt asking for the coordinator again.
          if (failureKindOf(error) === FailureKind.TRANSIENT) throw error;
          bail(error as Error);
        }
      });
    } catch (error) {
      if (error instanceof PullerError) throw error;
      throw new ConnectionError(
        `cannot commit offsets to consumer group '${this.groupId}'${atBroker(error)}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  async committedOffsets(): Promise<Map<number, string>> {
    const admin = await this.connectedAdmin();
    const [topic] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
    // -1: the group has no offset for that partition.
    return new Map(
      (topic?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, p.offset]),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.next.clear();
    this.queue = [];
    this.queuedBytes = 0;
    this.wakePollers();
    this.wakeLoops();
    // Disconnecting first fails a fetch in flight at once; the loops then see the source closed.
    const cluster = await this.cluster?.catch(() => undefined);
    await cluster?.disconnect().catch(() => {});
    await Promise.allSettled([...this.loops]);
    if (this.adminConnected) await this.admin.disconnect().catch(() => {});
  }
}
