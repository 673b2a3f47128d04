// `kafka-batch-puller run`: runs the engine on a local schedule like the Lambda's (one run per batch
// interval, each run's deadline the next tick, runs never overlapping) until Ctrl-C, or once.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PullerConfig } from '../config.js';
import { latenessBudgetProblem } from '../core/setting-rules.js';
import { RunOutcome, type RunReport } from '../engine/run-types.js';
import { FailureKind, failureKindOf } from '../errors.js';
import type { CliContext } from './cli-context.js';
import { runDeadline } from './local-schedule.js';
import { type CommandSpec, commandHelp, type ParsedFlags, parseFlags } from './parse-args.js';
import {
  applyRegionFlag,
  configFromFlags,
  connectionFlags,
  groupFlag,
  runTuningFlags,
  stateFlag,
} from './pipeline-flags.js';
import { outputModeOf, RunOutput } from './terminal-output.js';
import { UsageError } from './usage-error.js';

/** The `run` subcommand's flags and help. */
export const runCommandSpec: CommandSpec = {
  name: 'run',
  summary: 'land the topic in time windows, one run per batch interval, until Ctrl-C (or --once)',
  usage: 'run --broker <host:port> --topic <name> --group-id <id> [flags]',
  description: [
    'Lands the topic as batches of records whose timestamps fall in [start, end) windows, exactly once,',
    'with a _manifest.json per window. Runs at every multiple of the batch interval, as the scheduled',
    'Lambda does; the first run starts at once. Ctrl-C stops at the next safe point (finished windows',
    'are kept, nothing half-written is left); a second Ctrl-C exits at once.',
  ].join('\n'),
  flags: [
    ...connectionFlags,
    groupFlag,
    ...runTuningFlags,
    stateFlag,
    {
      name: 'once',
      type: 'boolean',
      help: 'run now until every window that has ended is closed, then exit (no schedule)',
    },
    {
      name: 'json',
      type: 'boolean',
      help: 'print one JSON object per line (run-started, window-closed, run-finished)',
    },
  ],
};

/** Exit code after a stop requested by SIGINT or SIGTERM: the shell convention, 128 + signal number. */
const signalExitCodes: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The configuration `run` works with: the shared rules, and the one a schedule adds. Each run's budget is
 * the batch interval (its deadline is the next tick), so a lateness that does not fit in it would leave
 * every window unclosed, run after run, with nothing said.
 */
export function runConfig(
  flags: ParsedFlags,
  env: Readonly<Record<string, string | undefined>>,
): PullerConfig {
  const config = configFromFlags(flags, runCommandSpec.name, env);
  const seconds = (name: string, ms: number, note = '') => ({
    name,
    value: ms / 1000,
    shown: `${ms / 1000} s${note}`,
  });
  const problem = latenessBudgetProblem(
    seconds(
      '--allowed-lateness-seconds',
      config.allowedLatenessMs,
      flags.strings.has('allowed-lateness-seconds') ? '' : ' (the poll interval)',
    ),
    seconds('--batch-interval-seconds', config.batchIntervalMs),
    seconds('--safety-margin-seconds', config.safetyMarginMs),
  );
  if (problem) throw new UsageError(problem, runCommandSpec.name);
  return config;
}

/** Runs `run`; resolves to the process exit code. */
export async function runCommand(argv: readonly string[], context: CliContext): Promise<number> {
  const flags = parseFlags(runCommandSpec, argv);
  if (flags.help) {
    context.streams.stdout.write(commandHelp(runCommandSpec));
    return 0;
  }
  const config = runConfig(flags, context.env);
  applyRegionFlag(flags);
  const output = new RunOutput(outputModeOf(flags.booleans.has('json'), context.streams), context.streams);
  const stop = new AbortController();
  let stoppedBy: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy !== undefined) {
      output.note('stopping now');
      process.exit(signalExitCodes[signal] ?? 1);
    }
    stoppedBy = signal;
    output.note(
      'stopping at the next safe point (finished windows are kept); press Ctrl-C again to exit now',
    );
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const once = flags.booleans.has('once');
    // Runs of this process follow one another: a lease an earlier one failed to release is taken over.
    const endedRunIds: string[] = [];
    for (;;) {
      const startedMs = Date.now();
      const deadlineMs = runDeadline(startedMs, config.batchIntervalMs, minimumRunMs(config));
      const report = await runScheduled(config, deadlineMs, output, stop.signal, once, endedRunIds);
      if (stoppedBy !== undefined) return signalExitCodes[stoppedBy] ?? 1;
      if (once) {
        // A run that met its deadline left ended windows behind (a backlog): with --once the next
        // run starts at once instead of at the next tick, until everything that has ended is closed.
        if (report?.outcome === RunOutcome.DEADLINE) continue;
        return report?.outcome === RunOutcome.LEASE_HELD ? 1 : 0;
      }
      // The next run starts at this run's deadline (the next tick); at once if this run overran it.
      const waitMs = deadlineMs - Date.now();
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: stop.signal }).catch(() => {});
      if (stoppedBy !== undefined) return signalExitCodes[stoppedBy] ?? 1;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A run needs room for at least one poll and the safety margin; with less before the next tick it
 * would stop at once, so its deadline moves one tick on.
 */
function minimumRunMs(config: PullerConfig): number {
  return config.safetyMarginMs + config.pollIntervalMs + 1000;
}

/**
 * One run with fresh adapters, closed afterwards so the consumer group is left between runs as the
 * Lambda leaves it. On the schedule, an error a later run may overcome is reported and the schedule
 * goes on (undefined is returned); with --once, or when no retry can help, it is thrown.
 */
async function runScheduled(
  config: PullerConfig,
  deadlineMs: number,
  output: RunOutput,
  signal: AbortSignal,
  once: boolean,
  endedRunIds: string[],
): Promise<RunReport | undefined> {
  const runId = `cli-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const startedMs = Date.now();
  output.runStarted(runId, deadlineMs);
  try {
    const report = await runWithAdapters(config, { deadlineMs, runId, signal, output, endedRunIds });
    output.runFinished(report, Date.now() - startedMs);
    if (report.outcome === RunOutcome.LEASE_HELD) {
      output.note(
        `another run (${report.leaseHolder ?? 'unknown'}) holds the pipeline's lease; nothing was changed`,
      );
    }
    return report;
  } catch (error) {
    const kind = failureKindOf(error);
    if (once || kind === FailureKind.PERMANENT || signal.aborted) throw error;
    output.note(`run ${runId} failed (${kind}), the next run will retry: ${(error as Error).message}`);
    return undefined;
  } finally {
    endedRunIds.push(runId);
    if (endedRunIds.length > 10) endedRunIds.shift();
  }
}

async function runWithAdapters(
  config: PullerConfig,
  run: { deadlineMs: number; runId: string; signal: AbortSignal; output: RunOutput; endedRunIds: string[] },
): Promise<RunReport> {
  // Loaded on first use: the AWS SDK and the engine are not needed for --help or a bad flag.
  const [{ createAdapters }, { runPipeline }, { workerShardRunner }] = await Promise.all([
    import('../adapters/create-adapters.js'),
    import('../engine/run-pipeline.js'),
    import('./worker-shard-runner.js'),
  ]);
  const { source, sink, store, table, schemas, close } = await createAdapters(config, {
    deadlineMs: run.deadlineMs,
  });
  try {
    // One shard reads on this thread; more run on worker threads, while this one plans and finalizes.
    const shardRunner = config.shards > 1 ? workerShardRunner(config, run.deadlineMs, run.signal) : undefined;
    return await runPipeline({
      config,
      source,
      sink,
      store,
      ...(table ? { table } : {}),
      ...(schemas ? { schemas } : {}),
      deadlineMs: run.deadlineMs,
      runId: run.runId,
      endedRunIds: run.endedRunIds,
      signal: run.signal,
      logger: run.output,
      ...(shardRunner ? { shardRunner } : {}),
      listener: {
        onProgress: (progress) => run.output.progress(progress),
        onWindowClosed: (closed) => run.output.windowClosed(closed),
      },
    });
  } finally {
    await close();
  }
}
