// Every reach into kafkajs's internals, in one place. kafkajs has no public way to read fixed partitions
// without joining a consumer group (no `assign()`), nor to commit offsets as a non-member (its
// `admin.setOffsets` joins the group). So the Kafka source uses what kafkajs's own consumer uses:
//   - the Cluster the client builds for its consumers, through the client's private factory. It is built
//     from the client's own settings (brokers, TLS, SASL including the MSK IAM token provider, timeouts,
//     retry), so the source connects and authenticates exactly as a kafkajs consumer would;
//   - the Broker's `fetch`, `offsetCommit` and `listOffsets` requests (kafkajs's admin lists offsets
//     read_committed only: the last stable offsets, never the high watermarks);
//   - kafkajs's protocol Encoder and Decoder, to send the one request kafkajs has no version of: Metadata
//     version 11, whose answer carries the topic's id (kafkajs speaks Metadata up to version 6);
//   - the consumer's Batch class, which decodes a partition's fetch as the consumer does: it drops records
//     before the fetched offset (a fetch returns whole record batches), aborted transactions and control
//     records.
// kafkajs is unmaintained since 2.2.4 (February 2023), so these internals are frozen; package.json pins
// that exact version, since nothing promises them across versions. A version that lacks one fails here,
// at once, with an error saying what is missing.

import type { Kafka, KafkaMessage } from 'kafkajs';
import BatchModule from 'kafkajs/src/consumer/batch.js';
import DecoderModule from 'kafkajs/src/protocol/decoder.js';
import EncoderModule from 'kafkajs/src/protocol/encoder.js';
import ProtocolErrorsModule from 'kafkajs/src/protocol/error.js';
import { PullerError } from '../errors.js';

/** The kafkajs version whose internals this file was written against (package.json pins it). */
export const KAFKAJS_VERSION = '2.2.4';

/**
 * Kafka's isolation levels: read_committed (kafkajs's consumer default) hides aborted transactions and
 * reads to the last stable offset; read_uncommitted reads to the high watermark.
 */
export const IsolationLevel = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

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
  listOffsets(request: {
    isolationLevel: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; timestamp: number }> }>;
  }): Promise<{
    responses: ReadonlyArray<{ readonly partitions: ReadonlyArray<{ partition: number; offset: string }> }>;
  }>;
  /** The versions of each API (by key) the broker speaks, as its ApiVersions answer gave them. */
  readonly versions?: Readonly<Record<number, { readonly minVersion: number; readonly maxVersion: number }>>;
  /** Sends a request kafkajs builds no method for, on the broker's connections (authenticated as needed). */
  readonly connectionPool?: { send(request: ProtocolRequest): Promise<unknown> };
}

/** A request as kafkajs's connections send it: how to encode it, and how to decode its answer. */
interface ProtocolRequest {
  readonly request: {
    readonly apiKey: number;
    readonly apiVersion: number;
    readonly apiName: string;
    encode(): Promise<ProtocolEncoder>;
  };
  readonly response: { decode(payload: Buffer): Promise<unknown>; parse(decoded: unknown): Promise<unknown> };
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
  /** A connected broker of the cluster (any broker answers metadata). */
  findControllerBroker(): Promise<InternalBroker>;
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
  'findControllerBroker',
  'retrier',
] as const;
const BROKER_METHODS = ['fetch', 'offsetCommit', 'listOffsets'] as const;

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

/** ListOffsets's timestamp that asks for the end of the log. */
const LATEST_OFFSET = -1;

/**
 * The high watermarks of `partitions` (listed read_uncommitted: the end of the log, the records of
 * transactions still open included), each from its leader. A partition the cluster's metadata has no
 * leader for is left out.
 */
export async function listHighWatermarks(
  cluster: InternalCluster,
  topic: string,
  partitions: number[],
): Promise<Map<number, string>> {
  const byLeader = cluster.findLeaderForPartitions(topic, partitions);
  const answers = await Promise.all(
    Object.entries(byLeader).map(async ([nodeId, led]) => {
      const broker = await findBroker(cluster, nodeId);
      const { responses } = await broker.listOffsets({
        isolationLevel: IsolationLevel.READ_UNCOMMITTED,
        topics: [{ topic, partitions: led.map((partition) => ({ partition, timestamp: LATEST_OFFSET })) }],
      });
      return responses.flatMap((r) => r.partitions.map((p) => [p.partition, p.offset] as const));
    }),
  );
  return new Map(answers.flat());
}

/** What the Metadata request and its answer use of kafkajs's protocol Encoder. */
interface ProtocolEncoder {
  writeInt16(value: number): ProtocolEncoder;
  writeBoolean(value: boolean): ProtocolEncoder;
  writeBuffer(value: Buffer): ProtocolEncoder;
  writeUVarInt(value: number): ProtocolEncoder;
  writeUVarIntString(value: string | null): ProtocolEncoder;
  writeUVarIntArray(values: ProtocolEncoder[], type: 'object'): ProtocolEncoder;
}

/** What the answer's decoding uses of kafkajs's protocol Decoder. */
interface ProtocolDecoder {
  readInt16(): number;
  readInt32(): number;
  readBoolean(): boolean;
  readBytes(length: number): Buffer;
  readUVarIntString(): string | null;
  readUVarIntArray<T>(reader: (decoder: ProtocolDecoder) => T): T[] | null;
  readTaggedFields(): unknown;
}

const Encoder = EncoderModule as new () => ProtocolEncoder;
const Decoder = DecoderModule as new (buffer: Buffer) => ProtocolDecoder;
/** kafkajs's error for a Kafka error code: a KafkaJSProtocolError with its `type` and `retriable` mark. */
const { createErrorFromCode } = ProtocolErrorsModule as { createErrorFromCode(code: number): Error };

/**
 * Kafka's Metadata request in the first version whose answer gives each topic's id (KIP-516: Kafka 2.8;
 * Kafka 4 speaks versions 4 to 13). Its layout, from Kafka's MetadataRequest.json and
 * MetadataResponse.json: flexible (compact strings and arrays, tagged fields), no
 * include_cluster_authorized_operations (removed in version 11).
 */
const TOPIC_ID_METADATA = { apiKey: 3, apiName: 'Metadata', apiVersion: 11 } as const;

/** Who a topic is: its id, and the id of the cluster it is on; each null when the brokers do not say. */
export interface TopicIds {
  readonly clusterId: string | null;
  readonly topicId: string | null;
}

/** The id no topic has: what brokers without topic ids answer. */
const NO_TOPIC_ID = Buffer.alloc(16);

function encodeTopicIdMetadata(topic: string): ProtocolEncoder {
  const requested = new Encoder().writeBuffer(NO_TOPIC_ID).writeUVarIntString(topic).writeUVarInt(0);
  return (
    new Encoder()
      // kafkajs writes the request header of non-flexible versions; this is the tagged fields that end a
      // flexible one (as kafkajs's own flexible requests do).
      .writeUVarInt(0)
      .writeUVarIntArray([requested], 'object')
      .writeBoolean(false) // allow_auto_topic_creation
      .writeBoolean(false) // include_topic_authorized_operations
      .writeUVarInt(0)
  );
}

function decodeTopicIdMetadata(payload: Buffer): {
  clusterId: string | null;
  topics: Array<{ errorCode: number; name: string | null; topicId: Buffer }>;
} {
  const decoder = new Decoder(payload);
  const int32 = (d: ProtocolDecoder) => d.readInt32();
  decoder.readTaggedFields(); // the response header's
  decoder.readInt32(); // throttle_time_ms
  decoder.readUVarIntArray((broker) => {
    broker.readInt32(); // node_id
    broker.readUVarIntString(); // host
    broker.readInt32(); // port
    broker.readUVarIntString(); // rack
    broker.readTaggedFields();
  });
  const clusterId = decoder.readUVarIntString();
  decoder.readInt32(); // controller_id
  const topics =
    decoder.readUVarIntArray((t) => {
      const errorCode = t.readInt16();
      const name = t.readUVarIntString();
      const topicId = t.readBytes(16);
      t.readBoolean(); // is_internal
      t.readUVarIntArray((p) => {
        p.readInt16(); // error_code
        p.readInt32(); // partition_index
        p.readInt32(); // leader_id
        p.readInt32(); // leader_epoch
        p.readUVarIntArray(int32); // replica_nodes
        p.readUVarIntArray(int32); // isr_nodes
        p.readUVarIntArray(int32); // offline_replicas
        p.readTaggedFields();
      });
      t.readInt32(); // topic_authorized_operations
      t.readTaggedFields();
      return { errorCode, name, topicId };
    }) ?? [];
  return { clusterId, topics };
}

/** The cluster id in kafkajs's own metadata (its Metadata versions carry it, not topic ids). */
function knownClusterId(cluster: InternalCluster): string | null {
  const metadata = (cluster as unknown as { brokerPool?: { metadata?: { clusterId?: string | null } } })
    .brokerPool?.metadata;
  return metadata?.clusterId ?? null;
}

/**
 * The ids of `topic` and of its cluster, as Kafka shows them (base64url, 22 characters). A broker older
 * than Kafka 2.8, or one that keeps no topic ids (it answers the zero id), gives the cluster id alone.
 * A Kafka error about the topic is thrown as kafkajs's error for its code.
 */
export async function fetchTopicIds(cluster: InternalCluster, topic: string): Promise<TopicIds> {
  return cluster.retrier(async () => {
    const broker = await cluster.findControllerBroker();
    const { apiKey, apiVersion } = TOPIC_ID_METADATA;
    const range = broker.versions?.[apiKey];
    if (range === undefined || range.minVersion > apiVersion || range.maxVersion < apiVersion) {
      return { clusterId: knownClusterId(cluster), topicId: null };
    }
    requireMethods(broker.connectionPool, ['send'], 'the Broker connection pool method');
    const answer = (await broker.connectionPool?.send({
      request: { ...TOPIC_ID_METADATA, encode: async () => encodeTopicIdMetadata(topic) },
      response: {
        decode: async (payload) => decodeTopicIdMetadata(payload),
        parse: async (decoded) => decoded,
      },
    })) as ReturnType<typeof decodeTopicIdMetadata>;
    const found = answer.topics.find((t) => t.name === topic);
    if (found === undefined) throw createErrorFromCode(3); // UNKNOWN_TOPIC_OR_PARTITION
    if (found.errorCode !== 0) throw createErrorFromCode(found.errorCode);
    return {
      clusterId: answer.clusterId,
      topicId: found.topicId.equals(NO_TOPIC_ID) ? null : found.topicId.toString('base64url'),
    };
  });
}
