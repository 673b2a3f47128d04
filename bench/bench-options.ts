// The bench's command-line options: which scenarios, the sizes of the data, how many runs.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchValues } from './produce-records.js';

/** The scenarios the bench can run; `--only` picks a subset. */
export const Scenario = {
  s3: 's3',
  directory: 'directory',
  memory: 'memory',
  formats: 'formats',
  shards: 'shards',
  join: 'join',
  values: 'values',
} as const;
/** One scenario the bench can run. */
export type Scenario = (typeof Scenario)[keyof typeof Scenario];

/** The puller's COMPRESSION in a bench run. */
export type BenchCompression = 'gzip' | 'zstd' | 'none' | 'snappy';

/** What one bench invocation does. */
export interface BenchOptions {
  readonly only: ReadonlySet<Scenario>;
  /** Records produced for the s3, directory, formats, shards and values scenarios. */
  readonly records: number;
  /** Size of each record's value, bytes (no key, no headers). */
  readonly recordBytes: number;
  /** What the values are: random base64 text (the codecs' worst case) or JSON order events. */
  readonly values: BenchValues;
  readonly partitions: number;
  /** How many windows of `batchIntervalSeconds` the records are spread over. */
  readonly windows: number;
  readonly batchIntervalSeconds: number;
  /** Runs of each measurement; figures are their median, min and max. */
  readonly runs: number;
  /** Window sizes of the memory ladder, MiB of record values in ONE window. */
  readonly ladderMiB: readonly number[];
  /** Where the ladder's runs write. */
  readonly ladderSink: 's3' | 'directory';
  /** Shard counts of the shards scenario, and source counts of the join scenario. */
  readonly shards: readonly number[];
  /** The brokers' `group.initial.rebalance.delay.ms` values the join scenario measures at. */
  readonly joinDelaysMs: readonly number[];
  /** Compression of the puller's batch objects (Parquet: its codec). */
  readonly compression: BenchCompression;
  /** The puller's COMPRESSION_LEVEL; undefined: the codec's default. */
  readonly compressionLevel: number | undefined;
  /** More puller settings (`--set NAME=VALUE`), e.g. the fetch sizes; they win over the bench's own. */
  readonly extraVariables: Readonly<Record<string, string>>;
  /** The puller's OUTPUT_FORMAT for s3, directory, memory and shards; formats compares both. */
  readonly format: 'ndjson' | 'parquet';
  /** Where the report is also written, relative to the current folder; undefined: printed only. */
  readonly resultsPath: string | undefined;
  /** Longest a single puller run may take before it counts as failed, ms. */
  readonly runTimeoutMs: number;
  readonly quick: boolean;
  /** The command line as typed, for the report. */
  readonly command: string;
}

const defaultShards = cpus().length >= 4 ? '1,2,4' : '1,2';

/** The usage text printed by `--help` and on a bad option. */
export const usage = `usage: npm run bench -- [options]

Scenarios (--only a,b; default: all of them):
  s3          the puller lands the topic to S3 (moto), state in DynamoDB (moto); plus the fixed cost of a run
  directory   the same to a local folder, state in a file (the CLI)
  memory      peak RSS of one run as its ONE window grows (--ladder)
  formats     NDJSON (gzip 6 and 1, zstd 3 and 1 where Node has it, none) and Parquet, to a folder
  shards      the topic landed to a folder by each shard count of --shards (worker threads)
  join        the puller's Kafka source: start to first records and commit, 1 and N sources, against a
              kafkajs consumer joining a group, at each --join-delays (a private broker for each delay
              above 0; the test bed's runs with 0)
  values      Avro values in Confluent's wire format (schema in the bed's schema registry, started by
              scripts/registry.sh when SCHEMA_REGISTRY_URL is unset and none runs) against the same
              events as JSON values, each to NDJSON (--compression) and to Parquet: JSON as text with
              two declared columns, Avro as the typed value column with none and with the same two

Options:
  --quick                smallest sizes and one run, whatever else is given: proves the scenarios run
  --full                 1,000,000 records and a 10 / 100 / 300 / 1024 MiB memory ladder
  --only a,b             only these scenarios
  --records N            records produced (default 100000; --full 1000000; --quick 2000)
  --record-bytes N       bytes per record value (default 1024)
  --values KIND          base64 (default: random base64 text, the codecs' worst case) or json (order
                         events); the values scenario always produces order events
  --partitions N         partitions of each topic (default 6; --quick 4)
  --windows N            windows the records are spread over (default 5; --quick 2)
  --batch-interval S     the puller's batch interval, seconds (default 60)
  --runs N               runs of each measurement (default 3; --quick 1)
  --ladder MiB,MiB       window sizes of the memory ladder (default 10,100,300; --quick 1,2)
  --ladder-sink KIND     where the ladder's runs write: s3 (default, the Lambda's) or directory
  --shards N,N           shard counts (default ${defaultShards}: 4 only with 4 cores or more)
  --join-delays MS,MS    group.initial.rebalance.delay.ms values for join (default 3000,0; 3000 is Kafka's and MSK's)
  --format KIND          the puller's OUTPUT_FORMAT: ndjson (default) or parquet
  --compression KIND     gzip (default for ndjson), zstd (Node 22.15+), none, or snappy (default for parquet)
  --compression-level N  the puller's COMPRESSION_LEVEL (gzip 1-9, zstd 1-19; default: the codec's)
  --set NAME=VALUE       any other puller setting, e.g. --set FETCH_PARTITION_MB=4 (repeatable)
  --results PATH         also write the report (Markdown) to PATH; it is always printed
  --help

Environment: KAFKA_BROKERS and AWS_ENDPOINT_URL name the services to use; unset, the bench uses the
project's test bed (scripts/services.sh), starting it when it is not running. SCHEMA_REGISTRY_URL
names the values scenario's schema registry (Confluent's API); unset, scripts/registry.sh's.
BENCH_CHILD_NODE_ARGS passes Node options to every measured puller process.`;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive whole number (got '${value}')`);
  return n;
}

function integerList(name: string, text: string, minimum: number): number[] {
  return text.split(',').map((item) => {
    const n = Number(item.trim());
    if (!Number.isInteger(n) || n < minimum)
      throw new Error(`--${name} takes whole numbers of at least ${minimum} (got '${item}')`);
    return n;
  });
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (!found) throw new Error(`--${name} takes ${allowed.join(' or ')} (got '${value}')`);
  return found;
}

/** Puller settings given as `--set NAME=VALUE`. */
function settingsOf(sets: readonly string[]): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const setting of sets) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(setting);
    if (!match) throw new Error(`--set takes NAME=VALUE with an upper-case setting name (got '${setting}')`);
    variables[match[1] as string] = match[2] as string;
  }
  return variables;
}

/**
 * Parses the bench's arguments (without `node` and the script).
 * @throws Error naming the bad option; `--help` throws the usage text.
 */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      only: { type: 'string' },
      records: { type: 'string' },
      'record-bytes': { type: 'string' },
      values: { type: 'string', default: 'base64' },
      partitions: { type: 'string' },
      windows: { type: 'string' },
      'batch-interval': { type: 'string' },
      runs: { type: 'string' },
      ladder: { type: 'string' },
      'ladder-sink': { type: 'string', default: 's3' },
      shards: { type: 'string', default: defaultShards },
      'join-delays': { type: 'string', default: '3000,0' },
      format: { type: 'string', default: 'ndjson' },
      compression: { type: 'string' },
      'compression-level': { type: 'string' },
      set: { type: 'string', multiple: true },
      results: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new Error(usage);
  const quick = values.quick ?? false;
  const full = !quick && (values.full ?? false);
  const all = Object.values(Scenario);
  const only = new Set<Scenario>(
    values.only ? values.only.split(',').map((name) => oneOf('only', name.trim(), all)) : all,
  );
  // --quick shrinks every size, so appending it to any bench command checks that command quickly.
  const records = quick ? 2_000 : positiveInteger('records', values.records, full ? 1_000_000 : 100_000);
  const ladderMiB = quick
    ? [1, 2]
    : values.ladder
      ? integerList('ladder', values.ladder, 1)
      : full
        ? [10, 100, 300, 1024]
        : [10, 100, 300];
  const partitions = quick ? 4 : positiveInteger('partitions', values.partitions, 6);
  const shards = integerList('shards', values.shards, 1).map((n) => (quick ? Math.min(n, partitions) : n));
  if (shards.some((n) => n > partitions)) throw new Error('each --shards must be at most --partitions');
  const format = oneOf('format', values.format, ['ndjson', 'parquet'] as const);
  const compression = oneOf('compression', values.compression ?? (format === 'parquet' ? 'snappy' : 'gzip'), [
    'gzip',
    'zstd',
    'none',
    'snappy',
  ] as const);
  if (compression === 'snappy' && format !== 'parquet')
    throw new Error('--compression snappy needs --format parquet');
  const level = values['compression-level'];
  const recordBytes = positiveInteger('record-bytes', values['record-bytes'], 1024);
  const largestMiB = Math.max(records * recordBytes, ...ladderMiB.map((m) => m * 2 ** 20)) / 2 ** 20;
  return {
    only,
    records,
    recordBytes,
    values: oneOf('values', values.values, ['base64', 'json'] as const),
    partitions,
    windows: quick ? 2 : positiveInteger('windows', values.windows, 5),
    batchIntervalSeconds: positiveInteger('batch-interval', values['batch-interval'], 60),
    runs: quick ? 1 : positiveInteger('runs', values.runs, 3),
    ladderMiB,
    ladderSink: oneOf('ladder-sink', values['ladder-sink'], ['s3', 'directory'] as const),
    shards: [...new Set(shards)],
    joinDelaysMs: integerList('join-delays', values['join-delays'], 0),
    compression,
    compressionLevel: level === undefined ? undefined : positiveInteger('compression-level', level, 0),
    extraVariables: settingsOf(values.set ?? []),
    format,
    resultsPath: values.results,
    // Generous: a slow run is a finding to report, a hung one must not block the machine for ever.
    runTimeoutMs: Math.max(10 * 60_000, largestMiB * 2_000),
    quick,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
}
