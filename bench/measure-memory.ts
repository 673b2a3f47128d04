// Scenario memory: windows of growing size, each ONE window of its own topic, landed by one puller
// run per process so each peak RSS belongs to that run alone.
import {
  type BenchContext,
  describeRun,
  landTopic,
  produceClosedWindows,
  type RunSample,
  sampleOf,
} from './bench-context.js';

/** One rung of the memory ladder: all its records in one window. */
export interface LadderRung {
  /** MiB of record values in the window. */
  readonly windowMiB: number;
  /** Records in the window. */
  readonly records: number;
  /** One sample per run. */
  readonly runs: readonly RunSample[];
}

/** Lands each window size of `options.ladderMiB` `options.runs` times; returns each rung's runs. */
export async function measureMemory(context: BenchContext): Promise<LadderRung[]> {
  const { options, log } = context;
  const ladder: LadderRung[] = [];
  for (const windowMiB of options.ladderMiB) {
    context.signal.throwIfAborted();
    const records = Math.ceil((windowMiB * 2 ** 20) / options.recordBytes);
    const topic = await produceClosedWindows(context, `window-${windowMiB}mib`, records, 1);
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
