// Helpers for tests against the real broker and the AWS emulator: unique topics, buckets and tables,
// producing records with chosen timestamps, reading back what a run wrote.
import { createHash, randomUUID } from 'node:crypto';
import * as zlib from 'node:zlib';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type IHeaders, Kafka, logLevel, type Producer } from 'kafkajs';
import { createDynamoDbClient, createS3Client } from '../../src/adapters/aws-clients.js';
import { createAdapters } from '../../src/adapters/create-adapters.js';
import { loadConfig, type PullerConfig } from '../../src/config.js';
import { ICEBERG_METADATA_FOLDER } from '../../src/core/key-layout.js';
import type { Manifest } from '../../src/core/manifest.js';
import { pipelineIdOf } from '../../src/core/pipeline-state.js';
import { runPipeline } from '../../src/engine/run-pipeline.js';
import type { RunOptions, RunReport } from '../../src/engine/run-types.js';
import { parquetRecordIds } from './duckdb.js';
import { forArrangement } from './iam-audit/arrangement.js';

/** The bed's brokers, from the environment the global setup prepared. */
export function brokers(): string[] {
  const value = process.env.KAFKA_BROKERS;
  if (!value) throw new Error('KAFKA_BROKERS is not set: the global setup did not run');
  return value.split(',');
}

/** A kafkajs client for arranging and checking tests. */
export function testKafka(): Kafka {
  return new Kafka({ clientId: 'test', brokers: brokers(), logLevel: logLevel.NOTHING });
}

/** The tests' own clients, to arrange and check: the IAM audit does not record them. */
export const s3 = forArrangement(createS3Client());
export const dynamodb = forArrangement(createDynamoDbClient());

/** A unique name for a test resource. */
export function uniqueName(kind: string): string {
  return `${kind}-${randomUUID().slice(0, 13)}`;
}

/** Creates a topic with `partitions` partitions and returns its name. */
export async function createTopic(
  partitions: number,
  name = uniqueName('t'),
  config: Record<string, string> = {},
): Promise<string> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const configEntries = Object.entries({ 'max.message.bytes': '10485760', ...config }).map(
      ([key, value]) => ({
        name: key,
        value,
      }),
    );
    // Its own wait for leaders off (kafkajs waits by default, and fails on the UNKNOWN_TOPIC_OR_PARTITION a new
    // topic answers at first): the loop below waits instead.
    await admin.createTopics({
      topics: [{ topic: name, numPartitions: partitions, configEntries }],
      waitForLeaders: false,
    });
    // kafkajs's own waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a new topic answers at first.
    for (let attempt = 0; ; attempt++) {
      const leaders = await admin
        .fetchTopicMetadata({ topics: [name] })
        .then((m) => m.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0)
        .catch(() => 0);
      if (leaders === partitions) break;
      if (attempt === 100) throw new Error(`topic ${name} has no leaders after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
  return name;
}

/**
 * A connected transactional producer (idempotent, one request in flight, as Kafka requires), for tests
 * of what transactions leave in a partition's log.
 */
export async function transactionalProducer(): Promise<Producer> {
  const producer = testKafka().producer({
    transactionalId: uniqueName('tx'),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return producer;
}

/** A record to produce, to a chosen partition with a chosen timestamp. */
export interface TestRecord {
  readonly partition: number;
  readonly timestamp: number;
  readonly key?: string | Buffer | null;
  readonly value?: string | Buffer | null;
  readonly headers?: IHeaders;
}

/** Every offset the topic holds now, as `partition:offset`: what landing it exactly once must give. */
export async function storedOffsets(topic: string): Promise<string[]> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.flatMap((p) =>
      Array.from({ length: Number(p.high) - Number(p.low) }, (_, i) => `${p.partition}:${Number(p.low) + i}`),
    );
  } finally {
    await admin.disconnect();
  }
}

/** Produces the records in order (acks from all replicas). */
export async function produce(topic: string, records: readonly TestRecord[]): Promise<void> {
  // Idempotent: a send retried under load must not write its records twice (the tests count them).
  const producer = testKafka().producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + 500).map((r) => ({
          partition: r.partition,
          timestamp: String(r.timestamp),
          key: r.key ?? null,
          value: r.value === undefined ? `v-${r.partition}-${r.timestamp}` : r.value,
          ...(r.headers ? { headers: r.headers } : {}),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Creates a bucket on the emulator. */
export async function createBucket(): Promise<string> {
  const bucket = uniqueName('b');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Creates a state table (partition key `pipelineId`) on the emulator. */
export async function createStateTable(): Promise<string> {
  const table = uniqueName('state');
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pipelineId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pipelineId', KeyType: 'HASH' }],
    }),
  );
  return table;
}

/** Every key in the bucket, sorted. */
export async function listKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

/** An object's bytes. */
export async function getObject(bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
}

/** The bytes of an NDJSON object, decompressed as its key's suffix says (.gz, .zst). */
export function ndjsonBytes(key: string, bytes: Buffer): Buffer {
  if (key.endsWith('.gz')) return zlib.gunzipSync(bytes);
  if (key.endsWith('.zst')) {
    // Node's zlib has zstd from 22.15; a test that lands .zst objects runs only where it does.
    const decompress = (zlib as unknown as { zstdDecompressSync?: (input: Buffer) => Buffer })
      .zstdDecompressSync;
    if (decompress === undefined) throw new Error(`cannot read ${key}: zstd needs Node.js 22.15 or later`);
    return decompress(bytes);
  }
  return bytes;
}

/** The rows of an NDJSON object (decompressed when its key says so). */
export function parseNdjson(key: string, bytes: Buffer): unknown[] {
  const text = ndjsonBytes(key, bytes).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

/** A pipeline config for tests: S3 + DynamoDB on the emulator unless overridden. */
export function testConfig(variables: Record<string, string>): PullerConfig {
  return loadConfig({
    KAFKA_BROKERS: brokers().join(','),
    BATCH_INTERVAL_SECONDS: '60',
    POLL_INTERVAL_SECONDS: '0.3',
    SAFETY_MARGIN_SECONDS: '1',
    ...variables,
  });
}

/**
 * A new pipeline over `topic`: its own group, bucket and state table on the emulator. `variables` may
 * depend on the bucket.
 */
export async function newPipeline(
  topic: string,
  more: Record<string, string> | ((bucket: string) => Record<string, string>) = {},
) {
  const bucket = await createBucket();
  const variables = typeof more === 'function' ? more(bucket) : more;
  const table = await createStateTable();
  const groupId = uniqueName('g');
  const config = testConfig({
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: groupId,
    OUTPUT_BUCKET: bucket,
    STATE_TABLE: table,
    ...variables,
  });
  return { bucket, table, groupId, config, pipelineId: pipelineIdOf(groupId, topic) };
}

/** The adapters a run uses. */
export type RunAdapters = Pick<RunOptions, 'source' | 'sink' | 'store' | 'table'>;

/**
 * Runs the engine once with fresh adapters; the deadline is `seconds` from now (by `extra.now` when
 * given). `adapt` may wrap or replace the adapters (failing ones, counting ones).
 */
export async function runOnce(
  config: PullerConfig,
  extra: Partial<Omit<RunOptions, 'config' | 'source' | 'sink'>> & {
    seconds?: number;
    adapt?: (adapters: RunAdapters) => RunAdapters;
  } = {},
): Promise<RunReport> {
  const adapters = await createAdapters(config);
  try {
    const {
      seconds = 30,
      store = adapters.store,
      table = adapters.table,
      adapt = (a: RunAdapters) => a,
      ...rest
    } = extra;
    const used = adapt({ source: adapters.source, sink: adapters.sink, store, ...(table ? { table } : {}) });
    return await runPipeline({
      config,
      ...(adapters.schemas ? { schemas: adapters.schemas } : {}),
      ...used,
      deadlineMs: (rest.now ?? Date.now)() + seconds * 1000,
      runId: uniqueName('run'),
      ...rest,
    });
  } finally {
    await adapters.close();
  }
}

/** What a bucket's finished batches hold, checked against their manifests. */
export interface LandedBatches {
  /** Every written record as `partition:offset`, once per time it was written. */
  readonly records: string[];
  readonly manifests: Manifest[];
  /** Data and errors object keys that no manifest names (an Iceberg table's metadata apart). */
  readonly unlisted: string[];
}

/** Reads every manifest of `bucket`, checks each object's checksum, and collects the rows. */
export async function readLanded(bucket: string): Promise<LandedBatches> {
  const keys = await listKeys(bucket);
  const manifests: Manifest[] = [];
  const records: string[] = [];
  const listed = new Set<string>();
  for (const key of keys.filter((k) => k.endsWith('_manifest.json'))) {
    const manifest = JSON.parse((await getObject(bucket, key)).toString()) as Manifest;
    manifests.push(manifest);
    for (const object of manifest.objects) {
      listed.add(object.key);
      const bytes = await getObject(bucket, object.key);
      if (bytes.length !== object.bytes) {
        throw new Error(`size of ${object.key} (${bytes.length} bytes) does not match its manifest`);
      }
      if (createHash('sha256').update(bytes).digest('hex') !== object.sha256) {
        throw new Error(`checksum of ${object.key} does not match its manifest`);
      }
      if (object.kind !== 'data') continue;
      const rows = object.key.endsWith('.parquet')
        ? await parquetRecordIds(bytes)
        : (parseNdjson(object.key, bytes) as Array<{ partition: number; offset: number }>);
      for (const row of rows) {
        records.push(`${row.partition}:${row.offset}`);
      }
    }
  }
  // An Iceberg table's metadata lives in `_iceberg/` of the data folder; no manifest lists it.
  const unlisted = keys.filter(
    (k) => !k.endsWith('_manifest.json') && !listed.has(k) && !k.includes(`/${ICEBERG_METADATA_FOLDER}/`),
  );
  return { records, manifests, unlisted };
}
