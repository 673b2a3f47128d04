// The memory ladder: windows of growing size, each ONE window of its own topic, landed by one puller
// run per process so each peak RSS belongs to that run alone.
import { type BenchContext, describeRun, landTopic, sampleOf } from './bench-context.js';
import { pastWindowStart, produceRecords } from './produce-records.js';
import type { LadderRung, RunSample } from './results-writer.js';

/** Lands each window size of `options.ladderMiB` `options.runs` times; returns each rung's runs. */
export async function measureMemory(context: BenchContext): Promise<LadderRung[]> {
  const { options, log } = context;
  const intervalMs = options.batchIntervalSeconds * 1000;
  const ladder: LadderRung[] = [];
  for (const windowMiB of options.ladderMiB) {
    context.signal.throwIfAborted();
    const records = Math.ceil((windowMiB * 2 ** 20) / options.recordBytes);
    const topic = await context.topics.create(options.partitions, `window-${windowMiB}mib`);
    // Every record in one window, two windows back: it closes as soon as the partitions are read.
    const first = pastWindowStart(Date.now(), intervalMs, 2);
    log(
      `producing ${records.toLocaleString('en-US')} records (${windowMiB} MiB) into ONE window of ${topic}`,
    );
    await produceRecords({
      brokers: context.brokers,
      topic,
      records,
      recordBytes: options.recordBytes,
      values: options.values,
      partitions: options.partitions,
      firstTimestampMs: first,
      endTimestampMs: first + intervalMs,
    });
    const runs: RunSample[] = [];
    for (let run = 1; run <= options.runs; run++) {
      context.signal.throwIfAborted();
      const label = `${windowMiB} MiB window`;
      const result = await landTopic(context, options.ladderSink, topic, { records, windows: 1 }, label);
      runs.push(sampleOf(result));
      log(describeRun(`[run ${run}/${options.runs}] ${label}`, records, result));
    }
    ladder.push({ windowMiB, records, runs });
    // A large topic should not wait on disk for the end of the bench.
    await context.topics.remove(topic);
  }
  return ladder;
}
