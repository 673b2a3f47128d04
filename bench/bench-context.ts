// What every measurement phase of one bench shares: its options, the services, the topics and AWS
// targets to clean up, and small helpers to run, check and report a puller run.
import type { BenchOptions } from './bench-options.js';
import {
  type AwsTargets,
  BenchPipeline,
  type BenchSink,
  checkPullerRun,
  type PipelineSettings,
} from './bench-pipeline.js';
import type { BenchTopics } from './bench-topics.js';
import type { ChildResult } from './child-protocol.js';
import type { RunSample } from './results-writer.js';

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

/** Runs a fresh pipeline over `topic` until `windows` windows closed, checks it, and clears its output. */
export async function landTopic(
  context: BenchContext,
  sink: BenchSink,
  topic: string,
  expected: { records: number; windows: number },
  label: string,
): Promise<ChildResult> {
  const pipeline = await BenchPipeline.create(context.settings, sink, topic, context.aws);
  try {
    const result = await pipeline.run(expected.windows);
    checkPullerRun(label, result, { ...expected, outcome: stoppedByBench });
    return result;
  } finally {
    await pipeline.remove();
  }
}
