// The pipeline's settings: one typed, validated object, read once at start from environment-style
// variables (the Lambda's environment, or the CLI's flags mapped to the same names).
import { z } from 'zod';
import { parseColumns } from './core/column-declarations.js';
import { COMPRESSION_LEVELS, compressionLevelProblem, isLeveledCodec } from './core/compression-level.js';
import { parseIsoDateTime } from './core/iso-time.js';
import { isBrokerAddress, splitBrokerList } from './core/kafka-names.js';
import type { DeclaredColumn } from './core/parquet-schema.js';
import {
  batchIntervalProblem,
  columnsFormatProblem,
  FETCH_SIZES_MB,
  fetchQueueProblem,
  groupIdProblem,
  intervalProblem,
  MAX_SHARDS,
  ndjsonCompressionProblem,
  notNegativeProblem,
  outputPrefixProblem,
  PART_SIZE_MB,
  pollIntervalProblem,
  type Setting,
  type SettingRange,
  shardsProblem,
  sizeProblem,
  topicProblem,
} from './core/setting-rules.js';
import { OutputFormat, ValueFormat } from './core/value-format.js';
import { zstdAvailable } from './core/zstd-support.js';
import { ConfigError } from './errors.js';
import {
  type GlueRegistrySettings,
  RegistryVariables,
  registryFields,
  registryOf,
  registryProblems,
  type SchemaRegistrySettings,
} from './registry-config.js';
import {
  optionalText as optional,
  TableFormatVariables,
  type TableTarget,
  tableFormatFields,
  tableFormatProblems,
  tableTargetOf,
} from './table-format-config.js';

/** How the puller authenticates to Kafka. */
export type KafkaSecurity =
  | { readonly mechanism: 'plaintext' }
  | { readonly mechanism: 'tls' }
  /** SASL/SCRAM-SHA-512 over TLS; the credentials are read at run time from this Secrets Manager secret. */
  | { readonly mechanism: 'scram-sha-512'; readonly secretArn: string }
  /** Amazon MSK IAM (SASL/OAUTHBEARER over TLS), signed with the run's AWS credentials. */
  | { readonly mechanism: 'msk-iam'; readonly region: string };

/** Where a new pipeline (no saved state) starts reading. */
export type StartPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'timestamp'; readonly timestampMs: number };

/**
 * Compression of the batch objects: gzip, zstd or none for NDJSON; for Parquet, the codec inside the file
 * (snappy, gzip, zstd or none), which leaves the object itself uncompressed.
 */
export const Compression = { GZIP: 'gzip', NONE: 'none', SNAPPY: 'snappy', ZSTD: 'zstd' } as const;
/** Compression of the batch objects. */
export type Compression = (typeof Compression)[keyof typeof Compression];

/** Where finished batches are written. */
export type OutputTarget =
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'directory'; readonly path: string; readonly prefix: string };

/** Where the pipeline's state (window boundary, offsets, pending batch, lease) is kept. */
export type StateTarget =
  | { readonly kind: 'dynamodb'; readonly table: string }
  | { readonly kind: 'file'; readonly path: string };

/** The validated settings of one pipeline (one topic, one consumer group). */
export interface PullerConfig {
  /** Kafka bootstrap brokers, host:port. */
  readonly brokers: readonly string[];
  /** The topic this pipeline lands. */
  readonly topic: string;
  /** The consumer group; its committed offsets mirror the saved state. Exclusive to this pipeline. */
  readonly groupId: string;
  /** Length of a window, ms. Windows are aligned to multiples of it since the epoch. */
  readonly batchIntervalMs: number;
  /** How long one poll waits for records, ms; an empty poll advances an idle partition's clock by this. */
  readonly pollIntervalMs: number;
  /** How far behind the wall clock a partition's clock may lag, ms; bounds how long a window waits for an idle partition. */
  readonly allowedLatenessMs: number;
  /**
   * A record stamped further than this past the wall clock is written to the errors object instead of
   * holding its partition back until that time comes, ms.
   */
  readonly futureToleranceMs: number;
  /** Where a new pipeline starts. */
  readonly startPosition: StartPosition;
  /** Where batches go. */
  readonly output: OutputTarget;
  /** Where state is kept. */
  readonly state: StateTarget;
  /** Compression of batch objects (for Parquet, its codec). */
  readonly compression: Compression;
  /** The level NDJSON objects are compressed at (gzip and zstd); null where the codec has none. */
  readonly compressionLevel: number | null;
  /** What data objects are written as. */
  readonly format: OutputFormat;
  /** How record keys are read. */
  readonly keyFormat: ValueFormat;
  /** How record values are read. */
  readonly valueFormat: ValueFormat;
  /** Typed columns taken from JSON values (Parquet with JSON values only). */
  readonly columns: readonly DeclaredColumn[];
  /** A partition's share of a window is cut into numbered parts of about this many uncompressed bytes. */
  readonly partSizeBytes: number;
  /** Kafka authentication and transport. */
  readonly security: KafkaSecurity;
  /** A run stops starting new work when less than this much time is left before its deadline, ms. */
  readonly safetyMarginMs: number;
  /** Kafka client id. */
  readonly clientId: string;
  /** How much the Kafka source fetches and holds. */
  readonly fetch: FetchSettings;
  /** How many shards read a window's partitions in parallel; 1 reads them all in one. */
  readonly shards: number;
  /** Whether each closed window is also committed to an Iceberg table, and where. */
  readonly table: TableTarget;
  /** The schema registry `confluent` keys and values are decoded with; absent when none is. */
  readonly registry?: SchemaRegistrySettings;
  /** The Glue Schema Registry `glue` keys and values are decoded with; absent when none is. */
  readonly glueRegistry?: GlueRegistrySettings;
}

/** How much the Kafka source fetches and holds ahead of the engine. */
export interface FetchSettings {
  /** The most one fetch returns per partition, bytes (Kafka's `max.partition.fetch.bytes`). */
  readonly maxBytesPerPartition: number;
  /** Fetched bytes held before the source stops fetching until the engine catches up. */
  readonly maxQueuedBytes: number;
}

/** The variable names `loadConfig` reads; the CLI's flags map onto the same names. */
export const ConfigVariables = {
  brokers: 'KAFKA_BROKERS',
  topic: 'KAFKA_TOPIC',
  groupId: 'KAFKA_GROUP_ID',
  batchIntervalSeconds: 'BATCH_INTERVAL_SECONDS',
  pollIntervalSeconds: 'POLL_INTERVAL_SECONDS',
  allowedLatenessSeconds: 'ALLOWED_LATENESS_SECONDS',
  startPosition: 'START_POSITION',
  outputBucket: 'OUTPUT_BUCKET',
  outputDirectory: 'OUTPUT_DIRECTORY',
  outputPrefix: 'OUTPUT_PREFIX',
  stateTable: 'STATE_TABLE',
  stateFile: 'STATE_FILE',
  compression: 'COMPRESSION',
  compressionLevel: 'COMPRESSION_LEVEL',
  format: 'OUTPUT_FORMAT',
  keyFormat: 'KEY_FORMAT',
  valueFormat: 'VALUE_FORMAT',
  columns: 'VALUE_COLUMNS',
  partSizeMb: 'PART_SIZE_MB',
  security: 'KAFKA_SECURITY',
  saslSecretArn: 'KAFKA_SASL_SECRET_ARN',
  region: 'AWS_REGION',
  safetyMarginSeconds: 'SAFETY_MARGIN_SECONDS',
  futureToleranceSeconds: 'FUTURE_TOLERANCE_SECONDS',
  clientId: 'KAFKA_CLIENT_ID',
  fetchPartitionMb: 'FETCH_PARTITION_MB',
  fetchQueueMb: 'FETCH_QUEUE_MB',
  shards: 'SHARDS',
  ...TableFormatVariables,
  ...RegistryVariables,
} as const;

const V = ConfigVariables;

/** The most shards a pipeline may have (the shared rule's bound, also read by the step events). */
export { MAX_SHARDS };

/** A variable's value as the shared rules see it; `unit` follows the value in messages. */
const setting = <T extends number | string>(name: string, value: T, unit = ''): Setting<T> => ({
  name,
  value,
  shown: unit === '' ? String(value) : `${value} ${unit}`,
});

/** A text variable's value as the shared rules see it, quoted in messages. */
const quoted = (name: string, value: string): Setting<string> => ({ name, value, shown: `'${value}'` });

/** A refinement that reports what a shared rule finds wrong with one variable's value. */
const obeys =
  <T>(rule: (value: T) => string | undefined) =>
  (value: T, ctx: z.RefinementCtx): void => {
    const problem = rule(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  };

const mebibytes = (name: string, range: SettingRange) =>
  z.coerce
    .number({ error: `${name} must be a number of MiB` })
    .superRefine(obeys((mib: number) => sizeProblem(setting(name, mib, 'MiB'), range)))
    .default(range.default);

const seconds = (name: string, rule: (duration: Setting) => string | undefined) =>
  z.coerce
    .number({ error: `${name} must be a number of seconds` })
    .superRefine(obeys((value: number) => rule(setting(name, value, 's'))));

const required = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .trim()
    .min(1, { error: `${name} is required` });

const valueFormat = (name: string) =>
  optional.pipe(
    z
      .enum(Object.values(ValueFormat), { error: `${name} must be string, json, binary, confluent or glue` })
      .default(ValueFormat.STRING),
  );

const schema = z
  .object({
    [V.brokers]: required(V.brokers)
      .transform(splitBrokerList)
      .refine((list) => list.length > 0 && list.every(isBrokerAddress), {
        error: `${V.brokers} must be a comma-separated list of host:port`,
      }),
    [V.topic]: required(V.topic).superRefine(obeys((topic: string) => topicProblem(quoted(V.topic, topic)))),
    [V.groupId]: required(V.groupId).superRefine(
      obeys((group: string) => groupIdProblem(quoted(V.groupId, group))),
    ),
    [V.batchIntervalSeconds]: seconds(V.batchIntervalSeconds, batchIntervalProblem),
    [V.pollIntervalSeconds]: seconds(V.pollIntervalSeconds, intervalProblem),
    [V.allowedLatenessSeconds]: seconds(V.allowedLatenessSeconds, notNegativeProblem).optional(),
    [V.startPosition]: optional.pipe(
      z
        .string()
        .optional()
        .transform((v, ctx): StartPosition => {
          if (v === undefined || v === 'earliest') return { kind: 'earliest' };
          if (v === 'latest') return { kind: 'latest' };
          const ms = parseIsoDateTime(v);
          if (ms === undefined) {
            ctx.addIssue({
              code: 'custom',
              message: `${V.startPosition} must be earliest, latest or an ISO-8601 time such as 2026-01-31T00:00:00Z (got '${v}')`,
            });
            return z.NEVER;
          }
          return { kind: 'timestamp', timestampMs: ms };
        }),
    ),
    [V.outputBucket]: optional,
    [V.outputDirectory]: optional,
    // Slashes around the prefix are dropped (`--output s3://bucket/prefix/` gives one after it).
    [V.outputPrefix]: optional
      .transform((v) => (v ?? '').replace(/^\/+|\/+$/g, ''))
      .superRefine(obeys((prefix: string) => outputPrefixProblem(quoted(V.outputPrefix, prefix)))),
    [V.stateTable]: optional,
    [V.stateFile]: optional,
    [V.compression]: optional.pipe(
      z
        .enum(['gzip', 'none', 'snappy', 'zstd'], {
          error: `${V.compression} must be gzip, zstd or none (ndjson), or snappy, gzip, zstd or none (parquet)`,
        })
        .optional(),
    ),
    [V.compressionLevel]: optional.transform((v, ctx): number | undefined => {
      if (v === undefined) return undefined;
      const level = Number(v);
      if (v.trim() === '' || !Number.isInteger(level)) {
        ctx.addIssue({
          code: 'custom',
          message: `${V.compressionLevel} must be a whole number (got '${v}')`,
        });
        return z.NEVER;
      }
      return level;
    }),
    [V.format]: optional.pipe(
      z
        .enum(Object.values(OutputFormat), { error: `${V.format} must be ndjson or parquet` })
        .default(OutputFormat.NDJSON),
    ),
    [V.keyFormat]: valueFormat(V.keyFormat),
    [V.valueFormat]: valueFormat(V.valueFormat),
    [V.columns]: optional.transform((v, ctx): DeclaredColumn[] => {
      const parsed = parseColumns(v ?? '');
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: `${V.columns} ${parsed}` });
        return z.NEVER;
      }
      return parsed;
    }),
    [V.partSizeMb]: mebibytes(V.partSizeMb, PART_SIZE_MB),
    [V.fetchPartitionMb]: mebibytes(V.fetchPartitionMb, FETCH_SIZES_MB.partition),
    [V.fetchQueueMb]: mebibytes(V.fetchQueueMb, FETCH_SIZES_MB.queue),
    [V.shards]: z.coerce
      .number({ error: `${V.shards} must be a whole number from 1 to ${MAX_SHARDS}` })
      .superRefine(obeys((shards: number) => shardsProblem(setting(V.shards, shards))))
      .default(1),
    [V.security]: optional.pipe(
      z
        .enum(['plaintext', 'tls', 'scram-sha-512', 'msk-iam'], {
          error: `${V.security} must be one of plaintext, tls, scram-sha-512, msk-iam`,
        })
        .default('plaintext'),
    ),
    [V.saslSecretArn]: optional,
    [V.region]: optional,
    [V.safetyMarginSeconds]: seconds(V.safetyMarginSeconds, notNegativeProblem).default(10),
    [V.futureToleranceSeconds]: seconds(V.futureToleranceSeconds, notNegativeProblem).default(3600),
    [V.clientId]: optional,
    ...tableFormatFields,
    ...registryFields,
  })
  .superRefine((env, ctx) => {
    const problem = (message: string | undefined) => {
      if (message) ctx.addIssue({ code: 'custom', message });
    };
    problem(
      pollIntervalProblem(
        setting(V.pollIntervalSeconds, env[V.pollIntervalSeconds], 's'),
        setting(V.batchIntervalSeconds, env[V.batchIntervalSeconds], 's'),
      ),
    );
    if (Boolean(env[V.outputBucket]) === Boolean(env[V.outputDirectory])) {
      problem(`exactly one of ${V.outputBucket} or ${V.outputDirectory} must be set`);
    }
    const bucket = env[V.outputBucket];
    if (bucket && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      problem(`${V.outputBucket} '${bucket}' is not a valid S3 bucket name`);
    }
    if (Boolean(env[V.stateTable]) === Boolean(env[V.stateFile])) {
      problem(`exactly one of ${V.stateTable} or ${V.stateFile} must be set`);
    }
    if (env[V.security] === 'scram-sha-512' && !env[V.saslSecretArn]) {
      problem(`${V.saslSecretArn} is required when ${V.security} is scram-sha-512`);
    }
    problem(
      fetchQueueProblem(
        setting(V.fetchQueueMb, env[V.fetchQueueMb], 'MiB'),
        setting(V.fetchPartitionMb, env[V.fetchPartitionMb], 'MiB'),
      ),
    );
    const compression = env[V.compression];
    if (compression !== undefined) {
      problem(
        ndjsonCompressionProblem(setting(V.compression, compression), setting(V.format, env[V.format])),
      );
    }
    const level = env[V.compressionLevel];
    if (level !== undefined) {
      const codec = compression ?? (env[V.format] === 'parquet' ? 'snappy' : 'gzip');
      const levelProblem = compressionLevelProblem(V.compressionLevel, level, codec, env[V.format]);
      if (levelProblem) problem(levelProblem);
    }
    if (compression === 'zstd' && !zstdAvailable()) {
      problem(
        `${V.compression} zstd needs Node.js 22.15 or later (this is ${process.version}); use ${env[V.format] === 'parquet' ? 'snappy or gzip' : 'gzip'}`,
      );
    }
    problem(
      columnsFormatProblem(
        setting(V.columns, env[V.columns].length),
        setting(V.format, env[V.format]),
        setting(V.valueFormat, env[V.valueFormat]),
      ),
    );
    if (env[V.security] === 'msk-iam' && !env[V.region]) {
      problem(`${V.region} is required when ${V.security} is msk-iam`);
    }
    for (const message of tableFormatProblems(env, {
      format: setting(V.format, env[V.format]),
      s3Output: { name: V.outputBucket, value: Boolean(bucket), shown: bucket ? `'${bucket}'` : 'none' },
    }))
      problem(message);
    for (const message of registryProblems(env)) problem(message);
  });

const mib = (value: number) => Math.round(value * 1024 * 1024);

function securityOf(env: z.output<typeof schema>): KafkaSecurity {
  switch (env[V.security]) {
    case 'tls':
      return { mechanism: 'tls' };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', secretArn: env[V.saslSecretArn] ?? '' };
    case 'msk-iam':
      return { mechanism: 'msk-iam', region: env[V.region] ?? '' };
    default:
      return { mechanism: 'plaintext' };
  }
}

/**
 * Validates environment-style settings into a `PullerConfig`.
 * @throws ConfigError listing every problem, each naming its variable; nothing else has happened yet.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): PullerConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  }
  const e = parsed.data;
  const pollIntervalMs = e[V.pollIntervalSeconds] * 1000;
  const prefix = e[V.outputPrefix];
  const bucket = e[V.outputBucket];
  const table = e[V.stateTable];
  const lateness = e[V.allowedLatenessSeconds];
  const compression = e[V.compression] ?? (e[V.format] === 'parquet' ? 'snappy' : 'gzip');
  const leveled = e[V.format] === 'ndjson' && isLeveledCodec(compression);
  return {
    brokers: e[V.brokers],
    topic: e[V.topic],
    groupId: e[V.groupId],
    batchIntervalMs: e[V.batchIntervalSeconds] * 1000,
    pollIntervalMs,
    allowedLatenessMs: lateness === undefined ? pollIntervalMs : lateness * 1000,
    futureToleranceMs: e[V.futureToleranceSeconds] * 1000,
    startPosition: e[V.startPosition],
    output: bucket
      ? { kind: 's3', bucket, prefix }
      : { kind: 'directory', path: e[V.outputDirectory] ?? '', prefix },
    state: table ? { kind: 'dynamodb', table } : { kind: 'file', path: e[V.stateFile] ?? '' },
    compression,
    compressionLevel: leveled ? (e[V.compressionLevel] ?? COMPRESSION_LEVELS[compression].default) : null,
    format: e[V.format],
    keyFormat: e[V.keyFormat],
    valueFormat: e[V.valueFormat],
    columns: e[V.columns],
    partSizeBytes: mib(e[V.partSizeMb]),
    security: securityOf(e),
    safetyMarginMs: e[V.safetyMarginSeconds] * 1000,
    clientId: e[V.clientId] ?? 'kafka-batch-puller',
    fetch: {
      maxBytesPerPartition: mib(e[V.fetchPartitionMb]),
      maxQueuedBytes: mib(e[V.fetchQueueMb]),
    },
    shards: e[V.shards],
    table: tableTargetOf(e),
    ...registryOf(e),
  };
}
