// What every measurement phase of one bench shares: its options, the services, the topics and AWS
// targets to clean up, and small helpers to run, check and report a puller run.
import type { AwsTargets } from './aws-targets.js';
import type { BenchOptions } from './bench-options.js';
import { BenchPipeline, type BenchSink, checkPullerRun, type PipelineSettings } from './bench-pipeline.js';
import type { BenchTopics } from './bench-topics.js';
import type { ChildResult } from './child-process.js';
import { type ProduceSpec, pastWindowStart, produceRecords } from './produce-records.js';

/** One bench invocation's shared state. */
export interface BenchContext {
  readonly options: BenchOptions;
  readonly brokers: readonly string[];
  readonly topics: BenchTopics;
  /** The bucket and state table, when a measurement that writes to S3 was asked for. */
  readonly aws: AwsTargets | undefined;
  readonly settings: PipelineSettings;
  /** Aborted by Ctrl-C: each phase checks it between runs and stops. */
  readonly signal: AbortSignal;
  log(line: string): void;
}

/** One puller run as the report keeps it; times in ms from the start of work. */
export interface RunSample {
  readonly elapsedMs: number;
  readonly firstRecordMs?: number | undefined;
  readonly firstCommitMs?: number | undefined;
  readonly closeToCommitMs?: number | undefined;
  readonly commitToEndMs?: number | undefined;
  readonly startRssBytes: number;
  readonly peakRssBytes: number;
  /** User plus system CPU time of the measuring process, its worker and compression threads included. */
  readonly cpuMs: number;
  /** Bytes the run wrote (data and errors objects, as stored). */
  readonly bytesWritten: number;
}

/** The outcome of a run that the bench stopped once its windows closed. */
export const stoppedByBench = 'aborted';

/** A child's result as the results keep it. */
export function sampleOf(result: ChildResult): RunSample {
  return {
    elapsedMs: result.elapsedMs,
    firstRecordMs: result.firstRecordMs,
    firstCommitMs: result.firstCommitMs,
    closeToCommitMs: result.closeToCommitMs,
    commitToEndMs: result.commitToEndMs,
    startRssBytes: result.startRssBytes,
    peakRssBytes: result.peakRssBytes,
    cpuMs: result.cpuUserMs + result.cpuSystemMs,
    bytesWritten: result.bytes,
  };
}

/** One progress line: records, time, rate and (when known) peak RSS. */
export function describeRun(
  label: string,
  records: number,
  result: { elapsedMs: number; peakRssBytes?: number },
): string {
  const seconds = result.elapsedMs / 1000;
  const rss =
    result.peakRssBytes === undefined ? '' : `, peak RSS ${Math.round(result.peakRssBytes / 2 ** 20)} MiB`;
  return `${label}: ${records.toLocaleString('en-US')} records in ${seconds.toFixed(2)} s (${Math.round(records / seconds).toLocaleString('en-US')} records/s${rss})`;
}

/**
 * Runs a fresh pipeline over `topic` until `windows` windows closed, checks it, and clears its output.
 * `extra` are puller settings of this pipeline alone (a format, a shard count).
 */
export async function landTopic(
  context: BenchContext,
  sink: BenchSink,
  topic: string,
  expected: { records: number; windows: number },
  label: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<ChildResult> {
  const pipeline = await BenchPipeline.create(context.settings, sink, topic, context.aws, extra);
  try {
    const result = await pipeline.run(expected.windows);
    checkPullerRun(label, result, { ...expected, outcome: stoppedByBench });
    return result;
  } finally {
    await pipeline.remove();
  }
}

/**
 * Creates a topic of `options.partitions` partitions and fills it with `records` records spread evenly
 * over `windows` windows that have all ended, so the puller closes each as soon as it has read past it.
 * Returns the topic's name.
 */
export async function produceClosedWindows(
  context: BenchContext,
  label: string,
  records: number,
  windows: number,
): Promise<string> {
  const { topic } = await produceTopic(context, label, records, windows, { values: context.options.values });
  return topic;
}

/** A topic the bench filled, and the bytes of the values it holds. */
export interface ProducedTopic {
  /** The topic's name. */
  readonly topic: string;
  /** Its values' bytes, summed over its records. */
  readonly valueBytes: number;
}

/** {@link produceClosedWindows} with values of the given kind and encoding, also answering their bytes. */
export async function produceTopic(
  context: BenchContext,
  label: string,
  records: number,
  windows: number,
  values: Pick<ProduceSpec, 'values' | 'encodeValue'>,
): Promise<ProducedTopic> {
  const { options, log } = context;
  const intervalMs = options.batchIntervalSeconds * 1000;
  const topic = await context.topics.create(options.partitions, label);
  // Windows W+1 .. 2 back: all ended, and the one after them too.
  const first = pastWindowStart(Date.now(), intervalMs, windows + 1);
  const produced = await produceRecords({
    brokers: context.brokers,
    topic,
    records,
    recordBytes: options.recordBytes,
    ...values,
    partitions: options.partitions,
    firstTimestampMs: first,
    endTimestampMs: first + windows * intervalMs,
  });
  const stored = await context.topics.count(topic);
  if (stored !== records) throw new Error(`${topic} holds ${stored} records after producing ${records}`);
  log(describeRun(`produced to ${topic} (${windows} window(s))`, records, produced));
  return { topic, valueBytes: produced.valueBytes };
}
