// Measurement (e): the same records landed to a folder as NDJSON (gzip, the default; zstd; none) and as
// Parquet (snappy, Parquet's default codec), side by side: records/s, CPU seconds per GiB of values, bytes
// written and peak RSS.
import { zstdAvailable } from '../src/core/zstd-support.js';
import { type BenchContext, describeRun, stoppedByBench } from './bench-context.js';
import { BenchPipeline, checkPullerRun } from './bench-pipeline.js';
import { pastWindowStart, produceRecords } from './produce-records.js';

/** One output format the bench lands the records as. */
export interface FormatVariant {
  readonly label: string;
  /** The puller's settings for it (OUTPUT_FORMAT, COMPRESSION). */
  readonly variables: Readonly<Record<string, string>>;
}

/** One run of a variant. */
export interface FormatRun {
  readonly elapsedMs: number;
  readonly cpuMs: number;
  readonly peakRssBytes: number;
  /** Bytes of data and errors objects written, as stored. */
  readonly bytesWritten: number;
}

/** A variant and its runs. */
export interface FormatFigures {
  readonly variant: FormatVariant;
  readonly runs: readonly FormatRun[];
}

/**
 * The variants compared: NDJSON with gzip (the default level and the fastest), with zstd (where this Node
 * has it: 22.15 or later, as the Lambda's runtime; its default level and the fastest) and uncompressed;
 * Parquet with snappy.
 */
export const FORMAT_VARIANTS: readonly FormatVariant[] = [
  { label: 'NDJSON, gzip (default, level 6)', variables: { OUTPUT_FORMAT: 'ndjson', COMPRESSION: 'gzip' } },
  {
    label: 'NDJSON, gzip level 1',
    variables: { OUTPUT_FORMAT: 'ndjson', COMPRESSION: 'gzip', COMPRESSION_LEVEL: '1' },
  },
  ...(zstdAvailable()
    ? [
        {
          label: 'NDJSON, zstd level 3',
          variables: { OUTPUT_FORMAT: 'ndjson', COMPRESSION: 'zstd', COMPRESSION_LEVEL: '3' },
        },
        {
          label: 'NDJSON, zstd level 1',
          variables: { OUTPUT_FORMAT: 'ndjson', COMPRESSION: 'zstd', COMPRESSION_LEVEL: '1' },
        },
      ]
    : []),
  { label: 'NDJSON, none', variables: { OUTPUT_FORMAT: 'ndjson', COMPRESSION: 'none' } },
  { label: 'Parquet, snappy', variables: { OUTPUT_FORMAT: 'parquet', COMPRESSION: 'snappy' } },
];

/** Produces the records once, then lands them with each variant `options.runs` times, interleaved. */
export async function measureFormats(context: BenchContext): Promise<FormatFigures[]> {
  const { options, brokers, log } = context;
  const intervalMs = options.batchIntervalSeconds * 1000;
  const topic = await context.topics.create(options.partitions, 'formats');
  const first = pastWindowStart(Date.now(), intervalMs, options.windows + 1);
  log(
    `(e) producing ${options.records.toLocaleString('en-US')} records for the format comparison to ${topic}`,
  );
  await produceRecords({
    brokers,
    topic,
    records: options.records,
    recordBytes: options.recordBytes,
    values: options.values,
    partitions: options.partitions,
    firstTimestampMs: first,
    endTimestampMs: first + options.windows * intervalMs,
  });
  const figures = FORMAT_VARIANTS.map((variant) => ({ variant, runs: [] as FormatRun[] }));
  for (let run = 1; run <= options.runs; run++) {
    for (const { variant, runs } of figures) {
      context.signal.throwIfAborted();
      const pipeline = await BenchPipeline.create(
        context.settings,
        'directory',
        topic,
        undefined,
        variant.variables,
      );
      try {
        const result = await pipeline.run(options.windows);
        const label = `(e) ${variant.label}`;
        checkPullerRun(label, result, {
          records: options.records,
          windows: options.windows,
          outcome: stoppedByBench,
        });
        runs.push({
          elapsedMs: result.elapsedMs,
          cpuMs: result.cpuUserMs + result.cpuSystemMs,
          peakRssBytes: result.peakRssBytes,
          bytesWritten: result.bytes,
        });
        log(describeRun(`[run ${run}/${options.runs}] ${label}`, options.records, result));
      } finally {
        await pipeline.remove();
      }
    }
  }
  await context.topics.remove(topic);
  return figures;
}
