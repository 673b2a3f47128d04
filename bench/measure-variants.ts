// Scenarios formats and shards: the same records landed to a folder by several variants of the
// puller's settings (output formats and codecs; shard counts), each run a fresh pipeline in its own
// process, the variants alternating run by run so that a change in the machine's load hits all alike.
import { zstdAvailable } from '../src/core/zstd-support.js';
import {
  type BenchContext,
  describeRun,
  landTopic,
  produceClosedWindows,
  type RunSample,
  sampleOf,
} from './bench-context.js';

/** One variant of the puller's settings. */
export interface Variant {
  /** The variant's label in the report. */
  readonly label: string;
  /** The puller's settings for it, over the bench's own. */
  readonly variables: Readonly<Record<string, string>>;
}

/** A variant and its runs. */
export interface VariantFigures {
  /** The variant measured. */
  readonly variant: Variant;
  /** One sample per run. */
  readonly runs: readonly RunSample[];
}

/**
 * The output formats compared: NDJSON with gzip (the default level and the fastest), with zstd (where
 * this Node has it: 22.15 or later, as the Lambda's runtime; its default level and the fastest) and
 * uncompressed; Parquet with snappy, Parquet's usual codec.
 */
export function formatVariants(): Variant[] {
  const ndjson = (label: string, compression: string, level?: string): Variant => ({
    label: `NDJSON, ${label}`,
    variables: {
      OUTPUT_FORMAT: 'ndjson',
      COMPRESSION: compression,
      ...(level === undefined ? {} : { COMPRESSION_LEVEL: level }),
    },
  });
  return [
    ndjson('gzip (default, level 6)', 'gzip'),
    ndjson('gzip level 1', 'gzip', '1'),
    ...(zstdAvailable() ? [ndjson('zstd level 3', 'zstd', '3'), ndjson('zstd level 1', 'zstd', '1')] : []),
    ndjson('none', 'none'),
    { label: 'Parquet, snappy', variables: { OUTPUT_FORMAT: 'parquet', COMPRESSION: 'snappy' } },
  ];
}

/** One variant per shard count; above 1 the shards run on worker threads, as `run --shards N` runs them. */
export function shardVariants(shards: readonly number[]): Variant[] {
  return shards.map((n) => ({ label: `${n} shard${n === 1 ? '' : 's'}`, variables: { SHARDS: String(n) } }));
}

/** Produces the records once, then lands them with each variant `options.runs` times, interleaved. */
export async function measureVariants(
  context: BenchContext,
  scenario: string,
  variants: readonly Variant[],
): Promise<VariantFigures[]> {
  const { options } = context;
  const topic = await produceClosedWindows(context, scenario, options.records, options.windows);
  const figures = await landInTurn(
    context,
    scenario,
    variants.map((variant) => ({ variant, topic })),
  );
  await context.topics.remove(topic);
  return figures;
}

/** A variant and the topic it lands (variants of one scenario may read different topics). */
export interface VariantLanding {
  /** The variant to run. */
  readonly variant: Variant;
  /** The topic it lands: `options.records` records over `options.windows` windows. */
  readonly topic: string;
}

/**
 * Lands each variant's topic to a folder `options.runs` times, the variants taking turns within each
 * round, so that a change in the machine's load hits all of them alike; returns each variant's runs.
 */
export async function landInTurn(
  context: BenchContext,
  scenario: string,
  landings: readonly VariantLanding[],
): Promise<VariantFigures[]> {
  const { options, log } = context;
  const figures = landings.map(({ variant }) => ({ variant, runs: [] as RunSample[] }));
  const expected = { records: options.records, windows: options.windows };
  for (let run = 1; run <= options.runs; run++) {
    for (const [index, { variant, topic }] of landings.entries()) {
      context.signal.throwIfAborted();
      const label = `${scenario}: ${variant.label}`;
      const result = await landTopic(context, 'directory', topic, expected, label, variant.variables);
      figures[index]?.runs.push(sampleOf(result));
      log(describeRun(`[run ${run}/${options.runs}] ${label}`, options.records, result));
    }
  }
  return figures;
}
