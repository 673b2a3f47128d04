// The bench's command-line options: sizes of the data, how many runs, which measurements.
import { parseArgs } from 'node:util';
import type { BenchValues } from './produce-records.js';

/** The measurements the bench can make; `--only` picks a subset. */
export const Measurement = {
  kcat: 'kcat',
  kafkajs: 'kafkajs',
  s3: 's3',
  directory: 'directory',
  overhead: 'overhead',
  memory: 'memory',
  formats: 'formats',
} as const;
/** One measurement the bench can make. */
export type Measurement = (typeof Measurement)[keyof typeof Measurement];

/** The puller's COMPRESSION in a bench run. */
export type BenchCompression = 'gzip' | 'zstd' | 'none' | 'snappy';

/** What one bench invocation does. */
export interface BenchOptions {
  /** Records produced for the throughput measurements. */
  readonly records: number;
  /** Size of each record's value, bytes (no key, no headers). */
  readonly recordBytes: number;
  /** What the values are: random base64 text (the codecs' worst case) or JSON order events. */
  readonly values: BenchValues;
  readonly partitions: number;
  /** How many windows of `batchIntervalSeconds` the throughput records are spread over. */
  readonly windows: number;
  readonly batchIntervalSeconds: number;
  /** Runs of each measurement; figures are their median, min and max. */
  readonly runs: number;
  /** Window sizes of the memory ladder, MiB of record values in ONE window. */
  readonly ladderMiB: readonly number[];
  /** Where the ladder's runs write. */
  readonly ladderSink: 's3' | 'directory';
  /** Compression of the puller's batch objects (Parquet: its codec). */
  readonly compression: BenchCompression;
  /** The puller's COMPRESSION_LEVEL; undefined: the codec's default. */
  readonly compressionLevel: number | undefined;
  /** More puller settings (`--set NAME=VALUE`), e.g. the fetch sizes; they win over the bench's own. */
  readonly extraVariables: Readonly<Record<string, string>>;
  /** The puller's OUTPUT_FORMAT for (c), (d), overhead and memory; (e) compares both. */
  readonly format: 'ndjson' | 'parquet';
  readonly only: ReadonlySet<Measurement>;
  /** Where the results are written, relative to the current folder. */
  readonly resultsPath: string;
  /** Longest a single puller run may take before it counts as failed, ms. */
  readonly runTimeoutMs: number;
  readonly full: boolean;
  /** The command line as typed, for the results. */
  readonly command: string;
}

/** The usage text printed by `--help` and on a bad option. */
export const usage = `usage: npm run bench -- [options]

  --full                 1,000,000 records and a 10 / 100 / 1024 MiB memory ladder
  --records N            records produced for the throughput runs (default 100000; --full 1000000)
  --record-bytes N       bytes per record value (default 1024)
  --values KIND          what the values are: base64 (default: random base64 text, the codecs' worst case) or json (order events)
  --partitions N         partitions of each topic (default 6)
  --windows N            windows the records are spread over (default 5)
  --batch-interval S     the puller's batch interval, seconds (default 60)
  --runs N               runs of each measurement (default 3)
  --ladder MiB,MiB       window sizes of the memory ladder (default 10,100,300; --full 10,100,300,1024)
  --ladder-sink KIND     where the ladder's runs write: s3 (default, the Lambda's) or directory
  --format KIND          the puller's OUTPUT_FORMAT for (c), (d), overhead and memory: ndjson (default) or parquet
  --compression KIND     the puller's COMPRESSION: gzip (default for ndjson), zstd (Node 22.15+), none, or snappy (default for parquet)
  --compression-level N  the puller's COMPRESSION_LEVEL (gzip 1-9, zstd 1-19; default: the codec's)
  --set NAME=VALUE       any other puller setting for (c), (d), overhead and memory, e.g. --set FETCH_PARTITION_MB=4 (repeatable)
  --only a,b             only these: kcat, kafkajs, s3, directory, overhead, memory, formats
  --results PATH         where to write the results (default bench/RESULTS.md)
  --help`;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive whole number (got '${value}')`);
  return n;
}

/**
 * Parses the bench's arguments (without `node` and the script).
 * @throws Error naming the bad option; `--help` throws the usage text.
 */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      full: { type: 'boolean', default: false },
      records: { type: 'string' },
      'record-bytes': { type: 'string' },
      values: { type: 'string', default: 'base64' },
      partitions: { type: 'string' },
      windows: { type: 'string' },
      'batch-interval': { type: 'string' },
      runs: { type: 'string' },
      ladder: { type: 'string' },
      'ladder-sink': { type: 'string', default: 's3' },
      compression: { type: 'string' },
      'compression-level': { type: 'string' },
      set: { type: 'string', multiple: true },
      format: { type: 'string', default: 'ndjson' },
      only: { type: 'string' },
      results: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new Error(usage);
  const full = values.full ?? false;
  const records = positiveInteger('records', values.records, full ? 1_000_000 : 100_000);
  const ladderMiB = values.ladder
    ? values.ladder.split(',').map((size) => positiveInteger('ladder', size.trim(), 0))
    : full
      ? [10, 100, 300, 1024]
      : [10, 100, 300];
  const all = Object.values(Measurement);
  const only = new Set<Measurement>(
    values.only
      ? values.only.split(',').map((name) => {
          const measurement = all.find((m) => m === name.trim());
          if (!measurement) throw new Error(`--only takes ${all.join(', ')} (got '${name}')`);
          return measurement;
        })
      : all,
  );
  const ladderSink = values['ladder-sink'];
  if (ladderSink !== 's3' && ladderSink !== 'directory') {
    throw new Error(`--ladder-sink takes s3 or directory (got '${ladderSink}')`);
  }
  const format = values.format;
  if (format !== 'ndjson' && format !== 'parquet') {
    throw new Error(`--format takes ndjson or parquet (got '${format}')`);
  }
  const compression = values.compression ?? (format === 'parquet' ? 'snappy' : 'gzip');
  if (
    compression !== 'gzip' &&
    compression !== 'zstd' &&
    compression !== 'none' &&
    (compression !== 'snappy' || format !== 'parquet')
  ) {
    throw new Error(
      `--compression takes gzip, zstd or none, or snappy with --format parquet (got '${compression}')`,
    );
  }
  const level = values['compression-level'];
  const compressionLevel = level === undefined ? undefined : positiveInteger('compression-level', level, 0);
  const extraVariables: Record<string, string> = {};
  for (const setting of values.set ?? []) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(setting);
    if (!match) throw new Error(`--set takes NAME=VALUE with an upper-case setting name (got '${setting}')`);
    extraVariables[match[1] as string] = match[2] as string;
  }
  const recordBytes = positiveInteger('record-bytes', values['record-bytes'], 1024);
  const valueKind = values.values;
  if (valueKind !== 'base64' && valueKind !== 'json') {
    throw new Error(`--values takes base64 or json (got '${valueKind}')`);
  }
  const largestMiB = Math.max(records * recordBytes, ...ladderMiB.map((m) => m * 2 ** 20)) / 2 ** 20;
  return {
    records,
    recordBytes,
    values: valueKind,
    partitions: positiveInteger('partitions', values.partitions, 6),
    windows: positiveInteger('windows', values.windows, 5),
    batchIntervalSeconds: positiveInteger('batch-interval', values['batch-interval'], 60),
    runs: positiveInteger('runs', values.runs, 3),
    ladderMiB,
    ladderSink,
    compression,
    compressionLevel,
    extraVariables,
    format,
    only,
    resultsPath: values.results ?? 'bench/RESULTS.md',
    // Generous: a slow run is a finding to report, a hung one must not block the machine for ever.
    runTimeoutMs: Math.max(10 * 60_000, largestMiB * 2_000),
    full,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
}
