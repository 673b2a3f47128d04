// Entry point of a measured child process: `node --import tsx bench/puller-child.ts '<spec JSON>'`.
// Runs the puller's engine once, wired as the Lambda and the CLI wire it (loadConfig, createAdapters,
// runPipeline), times its phases with the run's listener, and prints one result line.
import { randomUUID } from 'node:crypto';
import { createAdapters } from '../src/adapters/create-adapters.js';
import { workerShardRunner } from '../src/cli/worker-shard-runner.js';
import { loadConfig } from '../src/config.js';
import { runPipeline } from '../src/engine/run-pipeline.js';
import { type ChildResult, type PullerRunSpec, resultMarker } from './child-process.js';

type Measured = Omit<ChildResult, 'startRssBytes' | 'peakRssBytes' | 'cpuUserMs' | 'cpuSystemMs'>;

/**
 * Runs the engine once and times it from before `createAdapters`. The listener marks the phases: the
 * first `onProgress` with records > 0 (first record), the first `onProgress` of a window with every
 * partition done (the window closes), and `onWindowClosed` (the engine calls it after committing).
 */
async function runPullerOnce(spec: PullerRunSpec): Promise<Measured> {
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
      // The registry-encoded value formats' schemas (the values scenario), as the CLI and the Lambda wire them.
      ...(adapters.schemas ? { schemas: adapters.schemas } : {}),
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

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as PullerRunSpec;
  // Measured from here: the engine's modules are loaded, as a warm Lambda's are (once per cold start).
  const startRssBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const measured = await runPullerOnce(spec);
  const cpu = process.cpuUsage(cpuBefore);
  const result: ChildResult = {
    ...measured,
    startRssBytes,
    // maxRSS is in KiB (getrusage's ru_maxrss on Linux).
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  };
  process.stdout.write(`\n${resultMarker}${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
