// The engine's ports. The three every pipeline has, each with one real adapter for AWS / Kafka and one
// local one for the CLI: RecordSource (kafka-source), BatchSink (s3-sink, directory-sink), StateStore
// (dynamodb-state-store, file-state-store); WindowTable, for pipelines that also land an Iceberg table
// (iceberg-window-table); and SchemaSource, for pipelines whose keys or values are registry-encoded
// (registry-schema-source, glue-schema-source). The engine sees only these interfaces.

import type { PartitionShare } from './core/partition-share.js';
import type { FinishedPart, PipelineState } from './core/pipeline-state.js';
import type { TopicIdentity } from './core/topic-identity.js';
import type { FormatMismatch } from './core/value-format.js';
import type { ValueShape } from './core/value-shape.js';

/** One Kafka record as the engine sees it. */
export interface SourceRecord {
  readonly partition: number;
  /** Kafka offset, as a decimal string (offsets are 64-bit). */
  readonly offset: string;
  /** Record timestamp, epoch ms (CreateTime or LogAppendTime). */
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header values in record order; a repeated header key keeps every value. */
  readonly headers: ReadonlyArray<readonly [string, Buffer | null]>;
}

/** Records fetched from one partition, in offset order. */
export interface SourceBatch {
  readonly partition: number;
  readonly records: readonly SourceRecord[];
  /** Where reading continues after this batch: past its last record and any control records after it. */
  readonly nextOffset: string;
}

/** A partition's offset bounds. */
export interface PartitionBounds {
  readonly partition: number;
  /** The first offset still stored. */
  readonly low: string;
  /**
   * How far the partition can be read: its last stable offset, which stops at the first record of a
   * transaction still open (the high watermark when none is).
   */
  readonly high: string;
  /**
   * The next offset to be written (the high watermark): above `high` while a transaction is open, its
   * records and those after them waiting in the log. Taken as `high` when absent.
   */
  readonly highWatermark?: string;
}

/** Reads records of one topic's partitions from given offsets, and keeps its consumer group's committed offsets. */
export interface RecordSource {
  /** The topic's partitions with their current bounds. Fails when the topic does not exist. */
  partitionBounds(): Promise<PartitionBounds[]>;
  /** The ids of the topic and of its cluster, each absent where the brokers do not say. */
  topicIdentity(): Promise<TopicIdentity>;
  /** Per partition, the first offset whose timestamp is at or after `timestampMs` (the high watermark when none). */
  offsetsForTime(timestampMs: number): Promise<Map<number, string>>;
  /** Starts fetching every partition from the given next offsets (one entry per partition). */
  start(positions: ReadonlyMap<number, string>): Promise<void>;
  /** Waits at most `maxWaitMs` for fetched records; returns what arrived (possibly nothing). */
  poll(maxWaitMs: number): Promise<SourceBatch[]>;
  /**
   * Stops fetching these partitions. Returns the batches fetched for them that no poll has returned, in
   * order: for each partition, the continuation of what poll returned (a caller may carry them over).
   */
  pause(partitions: readonly number[]): SourceBatch[];
  /** Fetches these partitions again, from the given next offsets. */
  resume(positions: ReadonlyMap<number, string>): void;
  /** Commits these next offsets to the consumer group (Kafka's meaning: the next offset to read). */
  commit(positions: ReadonlyMap<number, string>): Promise<void>;
  /** The group's committed next offsets, for the partitions that have one. */
  committedOffsets(): Promise<Map<number, string>>;
  /** Disconnects. Safe to call more than once. */
  close(): Promise<void>;
}

/** What a finished object is: its size and checksum as stored. */
export interface WrittenObject {
  readonly bytes: number;
  readonly sha256: string;
}

/** How a create-only `complete` treats an object it finds under its key with other bytes. */
export interface CompleteOptions {
  /**
   * Asked once, when the key already holds other bytes: resolves true when the object found is no
   * writer's to keep (nothing records it, and nothing can any more), so this one takes its place.
   * A rejection is passed on as it is, and the object found stays.
   * @default - the object found stays, and `complete` throws ObjectExistsError
   */
  readonly mayReplace?: () => Promise<boolean>;
}

/** An object being streamed to the sink. */
export interface ObjectUpload {
  /** Appends bytes; resolves when the sink can take more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /**
   * Finishes the object, create-only; only then is it visible under its key. Resolves when the key holds
   * exactly `written`: this writer's object, or the same bytes another writer (or a retry whose answer
   * was lost) put there first. `written` is what the caller wrote (it hashes the bytes for the manifest
   * anyway), so the sink compares the stored object with it rather than hash every byte a second time.
   * @throws ObjectExistsError when the key holds other bytes and `options.mayReplace` does not allow
   * replacing them; they are left as they are.
   */
  complete(written: WrittenObject, options?: CompleteOptions): Promise<void>;
  /** Discards the object; nothing becomes visible. */
  abort(): Promise<void>;
}

/** Where batch objects land: S3, or a local folder with the same key layout. */
export interface BatchSink {
  /** Starts streaming an object to `key`, create-only (see `ObjectUpload.complete`). */
  openObject(key: string, contentType: string): ObjectUpload;
  /**
   * Writes a small object in one call, create-only: resolves when `key` holds exactly `body`.
   * @throws ObjectExistsError when it holds other bytes, which are left as they are.
   */
  putObject(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Where `key` lands, for logs and summaries (s3://bucket/key or a file path). */
  locate(key: string): string;
  /** A key under the folder `prefix` whose name ends with `suffix`, if there is any: finds existing output. */
  findKey(prefix: string, suffix: string): Promise<string | undefined>;
}

/** Saved state with its version, for optimistic concurrency. */
export interface VersionedState {
  readonly state: PipelineState;
  /** Incremented by every write; each write is conditional on the version read before it. */
  readonly version: number;
}

/** A partition's recorded share of a pending window, with its version. */
export interface VersionedShare {
  readonly share: PartitionShare;
  /** Incremented by every write; each write is conditional on the version read before it. */
  readonly version: number;
}

/** One share to write, if the stored version is still `expectedVersion` (undefined: none stored yet). */
export interface ShareWrite {
  readonly share: PartitionShare;
  readonly expectedVersion: number | undefined;
}

/** What became of one ShareWrite: written, or lost to another writer (with what is stored now). */
export type ShareWriteResult =
  | { readonly written: VersionedShare }
  | { readonly conflict: VersionedShare | undefined };

/**
 * Keeps one item per pipeline, and one per partition of its pending window (its share). Every write is
 * conditional on the version the caller read.
 */
export interface StateStore {
  /**
   * The pipeline's state, or undefined for a new pipeline.
   * @throws StateCorruptError when the stored item cannot be read as state; it is left as it is.
   */
  load(pipelineId: string): Promise<VersionedState | undefined>;
  /**
   * Writes `state` if the stored version is still `expectedVersion` (undefined: no item yet).
   * @returns the new version.
   * @throws StateConflictError, carrying what is stored now, when another writer got there first.
   */
  save(pipelineId: string, state: PipelineState, expectedVersion: number | undefined): Promise<number>;
  /**
   * The recorded shares of `partitions` in the pending window `pendingId`; a partition with nothing
   * recorded has no entry.
   * @throws StateCorruptError when a stored share cannot be read; it is left as it is.
   */
  loadShares(
    pipelineId: string,
    pendingId: string,
    partitions: readonly number[],
  ): Promise<Map<number, VersionedShare>>;
  /** Writes each share whose stored version is still the one expected; answers each in order. */
  saveShares(
    pipelineId: string,
    pendingId: string,
    writes: readonly ShareWrite[],
  ): Promise<ShareWriteResult[]>;
}

/** A closed window as a table commits it. */
export interface LandedWindow {
  /** The pipeline's id (its consumer group and topic). */
  readonly pipelineId: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Per partition, the next offset after the window (Kafka's meaning). */
  readonly endOffsets: Readonly<Record<string, string>>;
  /** The window's finished parts, in the sink (parts without rows add nothing). */
  readonly parts: readonly FinishedPart[];
  /**
   * The shapes of the parts' typed `value` columns, one per schema they follow (see value-shape.ts):
   * the table's value column must hold them all. Absent when values are not typed.
   */
  readonly valueShapes?: readonly ValueShape[];
}

/** What a table commit did: committed the window, found it committed already, or had no rows to commit. */
export type TableCommitOutcome = 'committed' | 'already-committed' | 'empty';

/** A table that holds each closed window as one snapshot (an Iceberg table). */
/** What a reset did to a pipeline's table. */
export type TableRollbackResult =
  /** The table held none of the windows the next run lands again. */
  | { readonly kind: 'nothing' }
  /** Those windows were taken off the table's main branch (oldest first, as ISO-8601 intervals). */
  | {
      readonly kind: 'rolled-back';
      readonly windows: readonly string[];
      readonly headBefore: string | undefined;
      readonly headAfter: string | undefined;
    }
  /** Another writer committed after one of them: nothing was changed; the reason says what to do. */
  | { readonly kind: 'refused'; readonly reason: string };

/** A pipeline's table, as a reset moves it back with the pipeline. */
export interface TableRollback {
  /**
   * Takes the pipeline's windows that end after `fromMs` (all of them, for null) off the table, so that
   * the next run commits them again when it lands them again.
   */
  rollBackFrom(pipelineId: string, fromMs: number | null): Promise<TableRollbackResult>;
}

export interface WindowTable {
  /**
   * Commits the window's parts as one snapshot, unless the table already holds the window (a retried
   * finalize, or one that died after its commit): exactly once whatever the retries. An empty window
   * makes no snapshot.
   */
  commitWindow(window: LandedWindow): Promise<TableCommitOutcome>;
}

/** The kinds of schema a registry holds (Confluent's `schemaType`; absent means Avro). */
export const SchemaType = { AVRO: 'AVRO', PROTOBUF: 'PROTOBUF', JSON: 'JSON' } as const;
/** The kinds of schema a registry holds. */
export type SchemaType = (typeof SchemaType)[keyof typeof SchemaType];

/** A schema as the registry holds it, with every schema it references, resolved. */
export interface RegisteredSchema {
  readonly type: SchemaType;
  /** The schema's text: Avro's JSON, a `.proto` file, or a JSON Schema. */
  readonly text: string;
  /** The schemas it uses, each under the name it refers to it by (a `.proto` import, an Avro type name). */
  readonly references: readonly SchemaReference[];
  /**
   * Which schema this is a version of, and which version: what tells a newer version from an older one.
   * Absent for a Confluent registry, whose ids grow with each schema registered.
   */
  readonly lineage?: { readonly schema: string; readonly version: number };
}

/** A schema another schema refers to: a subject's version. */
export interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
  readonly schema: RegisteredSchema;
}

/**
 * What a framed key or value names its schema by: a Confluent schema id (a number), or an AWS Glue
 * Schema Registry schema version id (a UUID, lowercase with hyphens).
 */
export type SchemaId = number | string;

/** Looks schemas up in a schema registry by id; each id's schema is fetched once per run. */
export interface SchemaSource {
  /**
   * The schema registered under `id`; undefined when the registry holds none, or a FormatMismatch when
   * it holds one the pipeline may not use, saying why (the records that name it go to the errors object).
   * @throws ConnectionError when the registry cannot be reached or fails (the next attempt may pass);
   * AccessDeniedError when it refuses the credentials.
   */
  schemaById(id: SchemaId): Promise<RegisteredSchema | FormatMismatch | undefined>;
}
