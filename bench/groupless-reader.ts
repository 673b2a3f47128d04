// A prototype of reading fixed partitions and committing their offsets with kafkajs WITHOUT joining
// a consumer group, for issue 10's shards. kafkajs 2.2.4 has no public manual assignment (no
// `assign()`), so this reaches into its internals: the Cluster the client builds for its consumers
// (behind a private Symbol, with the client's brokers, TLS, SASL and retry settings), the Broker's
// `fetch` and `offsetCommit` requests, and the consumer's Batch class (which drops records before the
// fetched offset, aborted transactions and control records). kafkajs is unmaintained since 2.2.4
// (Feb 2023), so these internals are frozen, but nothing promises them: pin the version if used.
import { createRequire } from 'node:module';
import type { Batch, Kafka } from 'kafkajs';

const require = createRequire(import.meta.url);

/** What this prototype uses of kafkajs's internal Broker. */
interface InternalBroker {
  fetch(request: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{
      topic: string;
      partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }>;
    }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: Array<{ partition: number }> }> }>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
  }): Promise<unknown>;
}

/** What this prototype uses of kafkajs's internal Cluster. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(request: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(request: { groupId: string }): Promise<InternalBroker>;
}

type BatchConstructor = new (topic: string, fetchedOffset: string, partitionData: unknown) => Batch;

/** Kafka's isolation levels (the consumer's default, read_committed, is 1). */
const ISOLATION = { READ_COMMITTED: 1 } as const;

/** Builds a Cluster as `kafka.consumer()` does, through the client's private factory. */
function createCluster(kafka: Kafka): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const factory = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof factory !== 'function') {
    throw new Error('this kafkajs version does not expose the private cluster factory the prototype needs');
  }
  return factory({
    metadataMaxAge: 300_000,
    allowAutoTopicCreation: false,
    isolationLevel: ISOLATION.READ_COMMITTED,
  }) as InternalCluster;
}

/** How the reader fetches. */
export interface GrouplessReaderOptions {
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
}

/** Reads a fixed set of one topic's partitions from given offsets, as a member of no group. */
export class GrouplessReader {
  private readonly cluster: InternalCluster;
  private readonly Batch: BatchConstructor;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly options: GrouplessReaderOptions,
  ) {
    this.cluster = createCluster(kafka);
    this.Batch = require('kafkajs/src/consumer/batch.js') as BatchConstructor;
  }

  /** Connects and loads the topic's metadata (leaders). */
  async connect(): Promise<void> {
    await this.cluster.connect();
    await this.cluster.addTargetTopic(this.topic);
  }

  /**
   * One fetch from each partition's leader at the given offsets (in parallel across leaders). Returns
   * one Batch per partition; a batch may be empty when the broker had nothing within maxWaitMs.
   */
  async fetch(positions: ReadonlyMap<number, string>): Promise<Batch[]> {
    const byLeader = this.cluster.findLeaderForPartitions(this.topic, [...positions.keys()]);
    const rounds = Object.entries(byLeader).map(async ([nodeId, partitions]) => {
      const broker = await this.cluster.findBroker({ nodeId });
      const requested = partitions.map((partition) => ({
        partition,
        fetchOffset: positions.get(partition) as string,
        maxBytes: this.options.maxBytesPerPartition,
      }));
      const { responses } = await broker.fetch({
        isolationLevel: ISOLATION.READ_COMMITTED,
        maxWaitTime: this.options.maxWaitMs,
        minBytes: 1,
        maxBytes: this.options.maxBytes,
        topics: [{ topic: this.topic, partitions: requested }],
      });
      return responses.flatMap(({ topicName, partitions: data }) =>
        data.map(
          (partitionData) =>
            new this.Batch(topicName, positions.get(partitionData.partition) as string, partitionData),
        ),
      );
    });
    return (await Promise.all(rounds)).flat();
  }

  async disconnect(): Promise<void> {
    await this.cluster.disconnect();
  }
}

/**
 * Commits offsets to a group as a non-member: OffsetCommit with generation -1 and an empty member id,
 * as Kafka's Java AdminClient (alterConsumerGroupOffsets) and an assign()-mode Java consumer do. The
 * coordinator accepts it only while the group has no members; with members it answers an error
 * (measured by the bench). Unlike kafkajs's `admin.setOffsets`, which joins the group to commit.
 */
export async function commitWithoutJoining(
  kafka: Kafka,
  groupId: string,
  topic: string,
  positions: ReadonlyMap<number, string>,
): Promise<void> {
  const cluster = createCluster(kafka);
  await cluster.connect();
  try {
    // Without metadata, kafkajs finds no broker to ask for the coordinator and retries after ~300 ms.
    await cluster.addTargetTopic(topic);
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    await coordinator.offsetCommit({
      groupId,
      groupGenerationId: -1,
      memberId: '',
      topics: [{ topic, partitions: [...positions].map(([partition, offset]) => ({ partition, offset })) }],
    });
  } finally {
    await cluster.disconnect();
  }
}
