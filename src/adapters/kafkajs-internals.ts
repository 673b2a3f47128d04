// Every reach into kafkajs's internals, in one place. kafkajs has no public way to read fixed partitions
// without joining a consumer group (no `assign()`), nor to commit offsets as a non-member (its
// `admin.setOffsets` joins the group). So the Kafka source uses what kafkajs's own consumer uses:
//   - the Cluster the client builds for its consumers, through the client's private factory. It is built
//     from the client's own settings (brokers, TLS, SASL including the MSK IAM token provider, timeouts,
//     retry), so the source connects and authenticates exactly as a kafkajs consumer would;
//   - the Broker's `fetch` and `offsetCommit` requests;
//   - the consumer's Batch class, which decodes a partition's fetch as the consumer does: it drops records
//     before the fetched offset (a fetch returns whole record batches), aborted transactions and control
//     records.
// kafkajs is unmaintained since 2.2.4 (February 2023), so these internals are frozen; package.json pins
// that exact version, since nothing promises them across versions. A version that lacks one fails here,
// at once, with an error saying what is missing.

import type { Kafka, KafkaMessage } from 'kafkajs';
import BatchModule from 'kafkajs/src/consumer/batch.js';
import { PullerError } from '../errors.js';

/** The kafkajs version whose internals this file was written against (package.json pins it). */
export const KAFKAJS_VERSION = '2.2.4';

/** Kafka's isolation levels: read_committed (kafkajs's consumer default) hides aborted transactions. */
export const IsolationLevel = { READ_COMMITTED: 1 } as const;

/** One partition of a fetch response, as kafkajs decodes it. */
export interface FetchedPartition {
  readonly partition: number;
  readonly highWatermark: string;
}

/** A fetch response, as kafkajs decodes it (a partition error is thrown, not returned). */
export interface FetchResponse {
  readonly responses: ReadonlyArray<{
    readonly topicName: string;
    readonly partitions: readonly FetchedPartition[];
  }>;
}

/** What the source uses of kafkajs's internal Broker (one connection pool to one broker). */
export interface InternalBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{
      topic: string;
      partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }>;
    }>;
  }): Promise<FetchResponse>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
  }): Promise<unknown>;
}

/** kafkajs's retrier: calls `attempt` again, with the client's backoff, while it throws a retriable error. */
export type Retrier = <T>(
  attempt: (bail: (error: Error) => void, retryCount: number, retryTimeMs: number) => Promise<T>,
) => Promise<T>;

/** What the source uses of kafkajs's internal Cluster (metadata and the brokers' connections). */
export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  /** Partitions by the node id of their leader; a partition missing from the metadata is left out. */
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(request: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(request: { groupId: string }): Promise<InternalBroker>;
  /** Built from the client's `retry` settings. */
  readonly retrier: Retrier;
}

/** A partition's fetch decoded by kafkajs's consumer Batch. */
export interface DecodedBatch {
  readonly partition: number;
  /** The records to deliver: at or after the fetched offset, committed, not control records. */
  readonly messages: KafkaMessage[];
  /** Whether the fetch held no record batch at all (nothing new at the fetched offset). */
  isEmptyIncludingFiltered(): boolean;
  /** Whether the fetch held records, but none to deliver (transaction markers, aborted records). */
  isEmptyDueToFiltering(): boolean;
  /** The offset of the last record the fetch covered, control records included. */
  lastOffset(): string;
}

type BatchConstructor = new (
  topic: string,
  fetchedOffset: string,
  partition: FetchedPartition,
) => DecodedBatch;

/** The private Symbol under which the kafkajs client keeps its cluster factory. */
const CLUSTER_FACTORY = 'private:Kafka:createCluster';

const CLUSTER_METHODS = [
  'connect',
  'disconnect',
  'addTargetTopic',
  'refreshMetadata',
  'findLeaderForPartitions',
  'findBroker',
  'findGroupCoordinator',
  'retrier',
] as const;
const BROKER_METHODS = ['fetch', 'offsetCommit'] as const;

function missingInternals(what: string): PullerError {
  return new PullerError(
    `the installed kafkajs lacks ${what}, which the Kafka source reads partitions with; it needs kafkajs ` +
      `${KAFKAJS_VERSION} exactly (install the version package.json pins)`,
  );
}

function requireMethods(target: unknown, methods: readonly string[], what: string): void {
  const missing = methods.filter((m) => typeof (target as Record<string, unknown>)?.[m] !== 'function');
  if (missing.length > 0) throw missingInternals(`${what} ${missing.join(', ')}`);
}

const Batch = BatchModule as BatchConstructor;

/**
 * A Cluster built as `kafka.consumer()` builds its own: the client's brokers, TLS, SASL (SCRAM, MSK IAM),
 * timeouts and retry. Its metadata never creates topics.
 */
export function createCluster(kafka: Kafka, metadataMaxAgeMs: number): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CLUSTER_FACTORY);
  const factory = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof factory !== 'function') throw missingInternals('the private cluster factory');
  if (typeof Batch !== 'function') throw missingInternals('the consumer Batch class');
  const cluster = factory({
    metadataMaxAge: metadataMaxAgeMs,
    allowAutoTopicCreation: false,
    isolationLevel: IsolationLevel.READ_COMMITTED,
  }) as InternalCluster;
  requireMethods(cluster, CLUSTER_METHODS, 'the Cluster methods');
  return cluster;
}

/** The broker `nodeId` (the partition leader), checked to have the requests the source sends. */
export async function findBroker(cluster: InternalCluster, nodeId: string): Promise<InternalBroker> {
  const broker = await cluster.findBroker({ nodeId });
  requireMethods(broker, BROKER_METHODS, 'the Broker requests');
  return broker;
}

/** The group's coordinator, checked to have the requests the source sends. */
export async function findGroupCoordinator(
  cluster: InternalCluster,
  groupId: string,
): Promise<InternalBroker> {
  const broker = await cluster.findGroupCoordinator({ groupId });
  requireMethods(broker, BROKER_METHODS, 'the Broker requests');
  return broker;
}

/** `host:port` of broker `nodeId` as the cluster's metadata advertises it, when known. */
export function brokerAddress(cluster: InternalCluster, nodeId: string): string | undefined {
  const metadata = (
    cluster as unknown as {
      brokerPool?: { metadata?: { brokers?: Array<{ nodeId: number; host: string; port: number }> } };
    }
  ).brokerPool?.metadata;
  const broker = metadata?.brokers?.find((b) => String(b.nodeId) === nodeId);
  return broker ? `${broker.host}:${broker.port}` : undefined;
}

/** Decodes one partition of a fetch from `fetchedOffset` as kafkajs's consumer does. */
export function decodeBatch(topic: string, fetchedOffset: string, partition: FetchedPartition): DecodedBatch {
  return new Batch(topic, fetchedOffset, partition);
}
