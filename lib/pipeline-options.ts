// A pipeline's settings as the construct takes them (`PullerPipelineOptions`), and the same settings with
// every default applied, which the rest of the construct reads.
import { Duration, Size } from 'aws-cdk-lib';
import { Compression } from '../src/config.js';
import type { DeclaredColumn } from '../src/core/parquet-schema.js';
import { PART_SIZE_MB, TableFormat } from '../src/core/setting-rules.js';
import { decodedWithRegistry, OutputFormat, ValueFormat } from '../src/core/value-format.js';
import { glueNameOf } from './glue-table.js';
import type { StartPosition } from './start-position.js';

/** Settings of one pipeline: one topic, one consumer group, one function and schedule. */
export interface PullerPipelineOptions {
  /** The Kafka topic this pipeline lands in S3. */
  readonly topic: string;

  /**
   * The consumer group whose committed offsets mirror the pipeline's saved state. It must be used by this
   * pipeline only.
   * @default - `kafka-batch-puller.<topic>`
   */
  readonly groupId?: string;

  /**
   * Length of a window, and how often the schedule runs the function. Windows are aligned to multiples of
   * it since the epoch. A whole number of minutes (EventBridge Scheduler's rate granularity), at most 1 day.
   * @default Duration.minutes(1)
   */
  readonly batchInterval?: Duration;

  /**
   * How long one poll waits for records; an empty poll advances an idle partition's clock by this much.
   * Must be shorter than `batchInterval`.
   * @default Duration.seconds(5)
   */
  readonly pollInterval?: Duration;

  /**
   * How far behind the wall clock a partition's clock may lag; bounds how long a window waits for an idle
   * partition. Must be shorter than `timeout` less `safetyMargin`: a run plans a window only when it can
   * wait this long after the window's end.
   * @default - the poll interval
   */
  readonly allowedLateness?: Duration;

  /**
   * A record stamped further than this past the wall clock goes to the window's errors object instead of
   * holding its partition back.
   * @default - the function's default, 1 hour
   */
  readonly futureTolerance?: Duration;

  /**
   * Where the pipeline starts reading when it has no saved state yet.
   * @default StartPosition.EARLIEST
   */
  readonly startPosition?: StartPosition;

  /**
   * Key prefix of the pipeline's objects in the bucket, without leading or trailing `/`. Objects land
   * under `<prefix>/topic=<topic>/...` and `<prefix>/errors/topic=<topic>/...`, so pipelines may share a
   * prefix; the function may write only there.
   * @default - no prefix: `topic=<topic>/...` at the bucket's root
   */
  readonly outputPrefix?: string;

  /**
   * Compression of the batch objects: `GZIP`, `ZSTD` or `NONE` for NDJSON; for Parquet, the codec inside the file
   * (`SNAPPY`, `GZIP`, `ZSTD` or `NONE`).
   * @default - Compression.GZIP for NDJSON, Compression.SNAPPY for Parquet
   */
  readonly compression?: Compression;

  /**
   * The level NDJSON objects are compressed at: gzip 1–9, zstd 1–19 (lower is faster, higher is smaller).
   * @default - 6 for gzip, 3 for zstd
   */
  readonly compressionLevel?: number;

  /**
   * What the data objects are: NDJSON lines or Parquet files.
   * @default OutputFormat.NDJSON
   */
  readonly format?: OutputFormat;

  /**
   * How record values are read: `STRING` (text, base64 for bytes that are not UTF-8), `JSON` (written as
   * JSON; a value that does not parse goes to the errors object) or `BINARY`.
   * @default ValueFormat.STRING
   */
  readonly valueFormat?: ValueFormat;

  /**
   * How record keys are read (as `valueFormat`).
   * @default ValueFormat.STRING
   */
  readonly keyFormat?: ValueFormat;

  /**
   * Typed Parquet columns taken from each JSON value, beside the envelope; needs `format` PARQUET and
   * `valueFormat` JSON. A value whose field does not fit its column goes to the errors object.
   * @default - none
   */
  readonly columns?: readonly DeclaredColumn[];

  /**
   * `TableFormat.ICEBERG`: each closed window is also committed as one append snapshot of an Apache
   * Iceberg table in the Glue Data Catalog (named by `glueDatabaseName` and `glueTableName`), so Athena,
   * Spark and every other Iceberg reader see a window whole or not at all. The function creates the table
   * on its first window with rows; its data files are the window's Parquet parts, and its metadata is kept
   * in `_iceberg/` inside the pipeline's data folder. Needs `format` PARQUET; takes the place of the
   * Hive-style table (`glueTable`).
   * @default TableFormat.NONE
   */
  readonly tableFormat?: TableFormat;

  /**
   * Whether to create a Hive-style Glue table over the pipeline's data (partition projection on `date`
   * and `hour`), so Athena can query a window as soon as it lands. Not with `tableFormat` ICEBERG, whose
   * table takes its name; nor with Parquet values decoded with a schema registry (`valueFormat`
   * CONFLUENT or GLUE), whose typed `value` column follows the registry's schema, which a table declared
   * at deploy time cannot (the Iceberg table evolves with it).
   * @default - true, unless `tableFormat` is ICEBERG or Parquet values are registry-decoded
   */
  readonly glueTable?: boolean;

  /**
   * The Glue database of the table (the Iceberg table's namespace), created by the stack; pipelines naming
   * the same one share it.
   * @default 'kafka_batch_puller'
   */
  readonly glueDatabaseName?: string;

  /**
   * The Glue table's name (the Hive-style table's, or the Iceberg table's).
   * @default - `outputPrefix` and the topic joined by `_`, lowercased, other characters turned to `_`
   */
  readonly glueTableName?: string;

  /**
   * A partition's share of a window is cut into parts of about this many uncompressed bytes; from
   * 0.05 to 4096 MiB (`PART_SIZE_MB`).
   * @default Size.mebibytes(64)
   */
  readonly partSize?: Size;

  /**
   * The most one Kafka fetch returns per partition (`FETCH_PARTITION_MB`), from 0.01 to 64 MiB. Larger
   * fetches measured slower, not faster (see the README's measured figures).
   * @default Size.mebibytes(1)
   */
  readonly fetchPartitionSize?: Size;

  /**
   * Fetched bytes held ahead of the writer (`FETCH_QUEUE_MB`), from 1 to 1024 MiB and at least
   * `fetchPartitionSize`; fetching pauses while the queue is full.
   * @default Size.mebibytes(16)
   */
  readonly fetchQueueSize?: Size;

  /**
   * A run starts no new work when less than this is left before its timeout.
   * @default Duration.seconds(10)
   */
  readonly safetyMargin?: Duration;

  /**
   * The function's timeout; a run uses all of it when it has backlog to catch up. With `shards` above 1,
   * the run's budget: every step stops new work by the execution's start plus this.
   * @default - the batch interval, at most 15 minutes
   */
  readonly timeout?: Duration;

  /**
   * How many shards read a window's partitions in parallel, each in its own invocation of the function;
   * a whole number from 1 to 256. 1 is one invocation per run, started by the schedule. Above 1 the
   * schedule starts a Step Functions state machine (plan → shards → finalize, see `ShardStateMachine`),
   * and the function's reserved concurrency is `shards + 1`. Shard when one run cannot keep up with the
   * topic (see the README's "When to shard"); more shards than partitions leaves the extra ones idle.
   * @default 1
   */
  readonly shards?: number;

  /**
   * The function's memory, MiB (CPU grows with it).
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * The freshness alarm fires when the newest closed window's end trails the clock by more than this many
   * batch intervals, or when no run reports at all.
   * @default 3
   */
  readonly freshnessAlarmIntervals?: number;

  /**
   * Whether the schedule runs. A disabled pipeline keeps its state and resumes where it stopped.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * More environment variables for the function, such as `KAFKA_CLIENT_ID`. The variables this construct
   * sets from props cannot be given here.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * Path to your own handler file, bundled for the function by NodejsFunction with your app's esbuild
   * (a devDependency of the app; no Docker). The file wraps the puller's handler with hooks:
   * `export const handler = createHandler({ parseRecord, onBatchComplete })`, importing `createHandler`
   * from `kafka-batch-puller/handler`. NodejsFunction finds the app's lock file from the working directory.
   * @default - the handler bundle built into the package, without hooks (no bundling at synth)
   */
  readonly handlerEntry?: string;
}

/** Lambda's longest timeout. */
export const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);

/** The options with every default applied. */
export type ResolvedOptions = Required<
  Pick<
    PullerPipelineOptions,
    | 'topic'
    | 'groupId'
    | 'batchInterval'
    | 'pollInterval'
    | 'allowedLateness'
    | 'safetyMargin'
    | 'timeout'
    | 'memorySize'
    | 'partSize'
    | 'compression'
    | 'freshnessAlarmIntervals'
    | 'outputPrefix'
    | 'format'
    | 'keyFormat'
    | 'valueFormat'
    | 'columns'
    | 'tableFormat'
    | 'glueTable'
    | 'glueDatabaseName'
    | 'glueTableName'
    | 'shards'
  >
>;

/** The shorter of two durations. */
export const minDuration = (a: Duration, b: Duration): Duration =>
  a.toMilliseconds() <= b.toMilliseconds() ? a : b;

/** `options` with every documented default applied. */
export function resolveOptions(options: PullerPipelineOptions): ResolvedOptions {
  const batchInterval = options.batchInterval ?? Duration.minutes(1);
  const pollInterval = options.pollInterval ?? Duration.seconds(5);
  return {
    topic: options.topic,
    groupId: options.groupId ?? `kafka-batch-puller.${options.topic}`,
    batchInterval,
    pollInterval,
    allowedLateness: options.allowedLateness ?? pollInterval,
    safetyMargin: options.safetyMargin ?? Duration.seconds(10),
    timeout: options.timeout ?? minDuration(batchInterval, LAMBDA_MAX_TIMEOUT),
    memorySize: options.memorySize ?? 1024,
    partSize: options.partSize ?? Size.mebibytes(PART_SIZE_MB.default),
    compression:
      options.compression ??
      (options.format === OutputFormat.PARQUET ? Compression.SNAPPY : Compression.GZIP),
    format: options.format ?? OutputFormat.NDJSON,
    keyFormat: options.keyFormat ?? ValueFormat.STRING,
    valueFormat: options.valueFormat ?? ValueFormat.STRING,
    columns: options.columns ?? [],
    tableFormat: options.tableFormat ?? TableFormat.NONE,
    glueTable:
      options.glueTable ?? (options.tableFormat !== TableFormat.ICEBERG && !typedParquetValues(options)),
    glueDatabaseName: options.glueDatabaseName ?? 'kafka_batch_puller',
    glueTableName:
      options.glueTableName ??
      glueNameOf(options.outputPrefix ? `${options.outputPrefix}_${options.topic}` : options.topic),
    freshnessAlarmIntervals: options.freshnessAlarmIntervals ?? 3,
    outputPrefix: options.outputPrefix ?? '',
    shards: options.shards ?? 1,
  };
}

/**
 * Whether a pipeline writes its values as typed Parquet columns of their registry schema's shape, which
 * only a table that evolves (Iceberg) can follow.
 */
export function typedParquetValues(options: Pick<PullerPipelineOptions, 'format' | 'valueFormat'>): boolean {
  return (
    options.format === OutputFormat.PARQUET && decodedWithRegistry(options.valueFormat ?? ValueFormat.STRING)
  );
}
