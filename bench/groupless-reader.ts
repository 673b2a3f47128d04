// The prototype of reading fixed partitions and committing their offsets with kafkajs WITHOUT joining
// a consumer group, measured for issue 10's shards (bench/RESULTS-group-join.md) beside the puller's
// KafkaSource, which grew out of it. kafkajs 2.2.4 has no public manual assignment (no `assign()`): both
// reach its internals through src/adapters/kafkajs-internals.ts, the one place that does. This file is
// the prototype's fetch loop only: one fetch per leader per call, no queue, no retries.
import type { Kafka } from 'kafkajs';
import {
  createCluster,
  type DecodedBatch,
  decodeBatch,
  findBroker,
  findGroupCoordinator,
  type InternalCluster,
  IsolationLevel,
} from '../src/adapters/kafkajs-internals.js';

/** As kafkajs's consumer: metadata is refreshed at least this often. */
const METADATA_MAX_AGE_MS = 300_000;

/** How the reader fetches. */
export interface GrouplessReaderOptions {
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
}

/** Reads a fixed set of one topic's partitions from given offsets, as a member of no group. */
export class GrouplessReader {
  private readonly cluster: InternalCluster;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly options: GrouplessReaderOptions,
  ) {
    this.cluster = createCluster(kafka, METADATA_MAX_AGE_MS);
  }

  /** Connects and loads the topic's metadata (leaders). */
  async connect(): Promise<void> {
    await this.cluster.connect();
    await this.cluster.addTargetTopic(this.topic);
  }

  /**
   * One fetch from each partition's leader at the given offsets (in parallel across leaders). Returns
   * one batch per partition; a batch may be empty when the broker had nothing within maxWaitMs.
   */
  async fetch(positions: ReadonlyMap<number, string>): Promise<DecodedBatch[]> {
    const byLeader = this.cluster.findLeaderForPartitions(this.topic, [...positions.keys()]);
    const rounds = Object.entries(byLeader).map(async ([nodeId, partitions]) => {
      const broker = await findBroker(this.cluster, nodeId);
      const { responses } = await broker.fetch({
        isolationLevel: IsolationLevel.READ_COMMITTED,
        maxWaitTime: this.options.maxWaitMs,
        minBytes: 1,
        maxBytes: this.options.maxBytes,
        topics: [
          {
            topic: this.topic,
            partitions: partitions.map((partition) => ({
              partition,
              fetchOffset: positions.get(partition) as string,
              maxBytes: this.options.maxBytesPerPartition,
            })),
          },
        ],
      });
      return responses.flatMap(({ topicName, partitions: data }) =>
        data.map((partitionData) =>
          decodeBatch(topicName, positions.get(partitionData.partition) as string, partitionData),
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
  const cluster = createCluster(kafka, METADATA_MAX_AGE_MS);
  await cluster.connect();
  try {
    // Without metadata, kafkajs finds no broker to ask for the coordinator and retries after ~300 ms.
    await cluster.addTargetTopic(topic);
    const coordinator = await findGroupCoordinator(cluster, groupId);
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
