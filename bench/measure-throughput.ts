// Scenarios s3 and directory: one topic of records spread over several closed windows, landed by the
// puller to S3 (with DynamoDB state, as the Lambda runs) and to a folder (with a state file, as the CLI
// runs). With s3 it also measures the fixed cost of a run: a new pipeline on an empty topic, and an
// existing pipeline's run when no record came since its last one.
import {
  type BenchContext,
  describeRun,
  produceClosedWindows,
  type RunSample,
  sampleOf,
  stoppedByBench,
} from './bench-context.js';
import { BenchPipeline, type BenchSink, checkPullerRun } from './bench-pipeline.js';

/** What the throughput scenarios measured. */
export interface ThroughputFigures {
  /** Each sink's landing runs (empty when not asked for). */
  readonly runs: Readonly<Record<BenchSink, RunSample[]>>;
  /** A new pipeline on a topic with no records: the least a scheduled run costs. */
  readonly emptyTopicRuns: RunSample[];
  /** A pipeline's next run when no record came since its last: it closes one empty window. */
  readonly idleRuns: RunSample[];
}

/** Lands the topic to each of `sinks` `options.runs` times, interleaved so a slow spell hits all alike. */
export async function measureThroughput(
  context: BenchContext,
  sinks: readonly BenchSink[],
): Promise<ThroughputFigures> {
  const { options, settings, aws, log } = context;
  const figures: ThroughputFigures = { runs: { s3: [], directory: [] }, emptyTopicRuns: [], idleRuns: [] };
  const empty = sinks.includes('s3') ? await context.topics.create(options.partitions, 'empty') : undefined;
  const topic = await produceClosedWindows(context, 'throughput', options.records, options.windows);
  const landed = { records: options.records, windows: options.windows, outcome: stoppedByBench };
  for (let run = 1; run <= options.runs; run++) {
    for (const sink of sinks) {
      context.signal.throwIfAborted();
      const pipeline = await BenchPipeline.create(settings, sink, topic, aws);
      try {
        const result = await pipeline.run(options.windows);
        checkPullerRun(sink, result, landed);
        figures.runs[sink].push(sampleOf(result));
        log(describeRun(`[run ${run}/${options.runs}] ${sink}`, options.records, result));
        if (sink === 's3') {
          // The window after the landed ones has ended with nothing in it: the next run closes it empty.
          const idle = await pipeline.run(1);
          checkPullerRun('the run after, with no new records', idle, {
            records: 0,
            windows: 1,
            outcome: stoppedByBench,
          });
          figures.idleRuns.push(sampleOf(idle));
        }
      } finally {
        await pipeline.remove();
      }
      if (sink === 's3' && empty) {
        const fresh = await BenchPipeline.create(settings, 's3', empty, aws);
        const result = await fresh.run(undefined).finally(() => fresh.remove());
        checkPullerRun('a new pipeline on an empty topic', result, {
          records: 0,
          windows: 0,
          outcome: 'caught-up',
        });
        figures.emptyTopicRuns.push(sampleOf(result));
      }
    }
  }
  await context.topics.remove(topic);
  return figures;
}
