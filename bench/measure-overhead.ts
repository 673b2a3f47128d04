// The puller's fixed cost per run: a new pipeline on an empty topic, and an existing pipeline whose
// topic got no record since its last run (the busy-topic figures come with measurements c and d).
import { type BenchContext, sampleOf, stoppedByBench } from './bench-context.js';
import { BenchPipeline, checkPullerRun } from './bench-pipeline.js';
import { pastWindowStart, produceRecords } from './produce-records.js';
import type { RunSample } from './results-writer.js';

/** What the overhead phase measured. */
export interface OverheadFigures {
  readonly emptyTopicRuns: RunSample[];
  readonly idleRuns: RunSample[];
}

/** Runs both overhead cases `options.runs` times, each on fresh pipelines writing to S3. */
export async function measureOverhead(context: BenchContext): Promise<OverheadFigures> {
  const { options, settings, aws, log } = context;
  const empty = await context.topics.create(options.partitions, 'empty');
  // One record per partition, two windows back: a first run lands it, a second finds nothing new.
  const quiet = await context.topics.create(options.partitions, 'quiet');
  const first = pastWindowStart(Date.now(), options.batchIntervalSeconds * 1000, 2);
  await produceRecords({
    brokers: context.brokers,
    topic: quiet,
    records: options.partitions,
    recordBytes: options.recordBytes,
    values: options.values,
    partitions: options.partitions,
    firstTimestampMs: first,
    endTimestampMs: first + 1,
  });
  const emptyTopicRuns: RunSample[] = [];
  const idleRuns: RunSample[] = [];
  for (let run = 1; run <= options.runs; run++) {
    context.signal.throwIfAborted();
    const newPipeline = await BenchPipeline.create(settings, 's3', empty, aws);
    const fresh = await newPipeline.run(undefined).finally(() => newPipeline.remove());
    checkPullerRun('new pipeline on an empty topic', fresh, { records: 0, windows: 0, outcome: 'caught-up' });
    emptyTopicRuns.push(sampleOf(fresh));

    const pipeline = await BenchPipeline.create(settings, 's3', quiet, aws);
    try {
      const landed = await pipeline.run(1);
      const expected = { records: options.partitions, windows: 1, outcome: stoppedByBench };
      checkPullerRun('first run on the quiet topic', landed, expected);
      const idle = await pipeline.run(1);
      checkPullerRun('second run on the quiet topic', idle, {
        records: 0,
        windows: 1,
        outcome: stoppedByBench,
      });
      idleRuns.push(sampleOf(idle));
      log(
        `[run ${run}/${options.runs}] overhead: new pipeline on an empty topic ${(fresh.elapsedMs / 1000).toFixed(2)} s; run with no new records ${(idle.elapsedMs / 1000).toFixed(2)} s`,
      );
    } finally {
      await pipeline.remove();
    }
  }
  return { emptyTopicRuns, idleRuns };
}
