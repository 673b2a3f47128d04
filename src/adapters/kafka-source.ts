// RecordSource over kafkajs, as a member of no consumer group. A group join costs every run the broker's
// group.initial.rebalance.delay.ms (3 s by default, as on Amazon MSK), and sources reading disjoint
// partitions in one group would rebalance each other. So the source fetches the partitions it is given,
// from the offsets it is given, straight from their leaders (kafka-fetch-loop.ts, through
// kafkajs-internals.ts), and commits as a non-member (group-offsets.ts). This file holds the connections
// and the topic's offsets and ids, and composes the rest.
import type { Admin, Kafka } from 'kafkajs';
import type { FetchSettings } from '../config.js';
import type { TopicIdentity } from '../core/topic-identity.js';
import { PullerError, TopicNotFoundError } from '../errors.js';
import type { PartitionBounds, RecordSource, SourceBatch } from '../ports.js';
import { GroupOffsets } from './group-offsets.js';
import { isStaleMetadata, isUnknownTopic, kafkaConnectionError, saysUnknownTopic } from './kafka-errors.js';
import { FetchLoops } from './kafka-fetch-loop.js';
import {
  createCluster,
  fetchTopicIds,
  type InternalCluster,
  listHighWatermarks,
} from './kafkajs-internals.js';

/** As kafkajs's consumer: metadata is refreshed at least this often, and whenever a fetch says it is stale. */
const METADATA_MAX_AGE_MS = 300_000;

/** Reads one topic's given partitions as a member of no consumer group; commits to `groupId` as a non-member. */
export class KafkaSource implements RecordSource {
  private readonly admin: Admin;
  private adminConnected = false;
  private cluster: Promise<InternalCluster> | undefined;
  private closed = false;
  private readonly fetching: FetchLoops;
  private readonly groupOffsets: GroupOffsets;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    groupId: string,
    fetch: FetchSettings,
  ) {
    this.admin = kafka.admin();
    const cluster = () => this.connectedCluster();
    this.fetching = new FetchLoops({
      topic,
      cluster,
      maxQueuedBytes: fetch.maxQueuedBytes,
      maxBytesPerPartition: fetch.maxBytesPerPartition,
    });
    this.groupOffsets = new GroupOffsets({ topic, groupId, cluster, admin: () => this.connectedAdmin() });
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.adminConnected) {
      try {
        await this.admin.connect();
      } catch (error) {
        throw kafkaConnectionError('cannot reach the Kafka brokers', error);
      }
      this.adminConnected = true;
    }
    return this.admin;
  }

  /** The cluster the source fetches and commits through, connected, with the topic's metadata. */
  private connectedCluster(): Promise<InternalCluster> {
    if (this.closed) return Promise.reject(new PullerError('the Kafka source is closed'));
    this.cluster ??= (async () => {
      const cluster = createCluster(this.kafka, METADATA_MAX_AGE_MS);
      try {
        await cluster.connect();
        await cluster.addTargetTopic(this.topic);
        return cluster;
      } catch (error) {
        await cluster.disconnect().catch(() => {});
        if (isUnknownTopic(error)) throw new TopicNotFoundError(this.topic, { cause: error });
        throw kafkaConnectionError('cannot reach the Kafka brokers', error);
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
      if (saysUnknownTopic(error)) throw new TopicNotFoundError(this.topic, { cause: error });
      throw kafkaConnectionError(`cannot read the offsets of topic '${this.topic}'`, error);
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
      throw kafkaConnectionError(`cannot read the high watermarks of topic '${this.topic}'`, error);
    }
  }

  async topicIdentity(): Promise<TopicIdentity> {
    const cluster = await this.connectedCluster();
    try {
      const { clusterId, topicId } = await fetchTopicIds(cluster, this.topic);
      return { ...(clusterId ? { clusterId } : {}), ...(topicId ? { topicId } : {}) };
    } catch (error) {
      if (isUnknownTopic(error)) throw new TopicNotFoundError(this.topic, { cause: error });
      throw kafkaConnectionError(`cannot read the metadata of topic '${this.topic}'`, error);
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

  start(positions: ReadonlyMap<number, string>): Promise<void> {
    return this.fetching.start(positions);
  }

  poll(maxWaitMs: number): Promise<SourceBatch[]> {
    return this.fetching.poll(maxWaitMs);
  }

  pause(partitions: readonly number[]): SourceBatch[] {
    return this.fetching.pause(partitions);
  }

  resume(positions: ReadonlyMap<number, string>): void {
    this.fetching.resume(positions);
  }

  commit(positions: ReadonlyMap<number, string>): Promise<void> {
    return this.groupOffsets.commit(positions);
  }

  committedOffsets(): Promise<Map<number, string>> {
    return this.groupOffsets.committed();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fetching.close();
    // Disconnecting first fails a fetch in flight at once; the loops then see the source closed.
    const cluster = await this.cluster?.catch(() => undefined);
    await cluster?.disconnect().catch(() => {});
    await this.fetching.ended();
    if (this.adminConnected) await this.admin.disconnect().catch(() => {});
  }
}
