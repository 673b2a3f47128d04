// Inside a measurement child: one run of the puller's engine, wired as the Lambda and the CLI wire it
// (loadConfig, createAdapters, runPipeline), with the listener timing the run's phases.
import { randomUUID } from 'node:crypto';
import { createAdapters } from '../src/adapters/create-adapters.js';
import { workerShardRunner } from '../src/cli/worker-shard-runner.js';
import { loadConfig } from '../src/config.js';
import { runPipeline } from '../src/engine/run-pipeline.js';
import type { Measured, PullerRunSpec } from './child-protocol.js';

/**
 * Runs the engine once and times it from before `createAdapters`. The listener marks the phases: the
 * first `onProgress` with records > 0 (first record), the first `onProgress` of a window with every
 * partition done (the window closes), and `onWindowClosed` (the engine calls it after committing).
 */
export async function runPullerOnce(spec: PullerRunSpec): Promise<Measured> {
  const started = performance.now();
  const since = () => performance.now() - started;
  const config = loadConfig(spec.variables);
  const adapters = await createAdapters(config);
  const stop = new AbortController();
  const deadlineMs = Date.now() + spec.deadlineAfterMs;
  // More than one shard: on worker threads, as the CLI runs them.
  const shardRunner = config.shards > 1 ? workerShardRunner(config, deadlineMs, stop.signal) : undefined;
  let firstRecordMs: number | undefined;
  let firstCommitMs: number | undefined;
  let allDoneMs: number | undefined;
  let closeToCommitMs: number | undefined;
  let lastCommitMs: number | undefined;
  let closed = 0;
  try {
    const report = await runPipeline({
      config,
      source: adapters.source,
      sink: adapters.sink,
      store: adapters.store,
      deadlineMs,
      ...(shardRunner ? { shardRunner } : {}),
      runId: `bench-${randomUUID()}`,
      signal: stop.signal,
      listener: {
        // With worker threads no progress reaches this thread: those phases stay unmeasured.
        onProgress(progress) {
          if (progress.records > 0) firstRecordMs ??= since();
          if (progress.partitionsDone === progress.partitions) allDoneMs ??= since();
        },
        onWindowClosed() {
          lastCommitMs = since();
          firstCommitMs ??= lastCommitMs;
          closeToCommitMs = allDoneMs === undefined ? undefined : lastCommitMs - allDoneMs;
          allDoneMs = undefined;
          closed += 1;
          if (spec.stopAfterWindows !== undefined && closed >= spec.stopAfterWindows) stop.abort();
        },
      },
    });
    const elapsedMs = since();
    return {
      records: report.recordsWritten,
      bytes: report.bytesWritten,
      elapsedMs,
      firstRecordMs,
      firstCommitMs,
      closeToCommitMs,
      commitToEndMs: lastCommitMs === undefined ? undefined : elapsedMs - lastCommitMs,
      windowsClosed: report.windowsClosed.length,
      outcome: report.outcome,
    };
  } finally {
    await adapters.close();
  }
}
