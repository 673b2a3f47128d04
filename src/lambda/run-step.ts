// One step of a sharded run, as the state machine invokes it: plan, one shard, finalize, or abandon,
// each on the engine's step functions, with the step's logs and metrics.
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Adapters } from '../adapters/create-adapters.js';
import type { PullerConfig } from '../config.js';
import type { PipelineState } from '../core/pipeline-state.js';
import { pipelineIdOf } from '../core/pipeline-state.js';
import { releaseLease } from '../engine/release-lease.js';
import { type PullerHooks, RunOutcome } from '../engine/run-types.js';
import { SourceReader } from '../engine/source-reader.js';
import type { FinalizeResult, PlanResult, ShardResult, StepContext } from '../engine/step-types.js';
import { abandonAttempt, buildShard, finalizeWindow, planWindow } from '../engine/window-steps.js';
import { PullerMetric } from '../metric-names.js';
import type { StepEvent } from './step-events.js';
import { StepName } from './step-names.js';
import { logWindowClosed } from './window-closed-log.js';

/**
 * What a step answers the state machine. Plan's answer carries the execution's deadline, which the
 * state machine passes on to the shards and finalize.
 */
export type StepResponse =
  | (PlanResult & { readonly deadlineMs: number })
  | ShardResult
  | FinalizeResult
  | Record<string, never>;

/** What a step runs with. */
export interface StepRun {
  readonly config: PullerConfig;
  readonly adapters: Adapters;
  /** When this step must have stopped: the earlier of the execution's deadline and the invocation's end. */
  readonly deadlineMs: number;
  readonly hooks: PullerHooks;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Runs `event`'s step and answers what the state machine passes on. */
export async function runStep(event: StepEvent, run: StepRun): Promise<StepResponse> {
  const { config, adapters, logger } = run;
  const attemptId =
    event.step === StepName.SHARD
      ? event.task.attemptId
      : event.step === StepName.FINALIZE
        ? event.plan.attemptId
        : event.attemptId;
  logger.appendKeys({
    step: event.step,
    attemptId,
    ...(event.step === StepName.SHARD ? { shard: event.task.shard } : {}),
  });
  const ctx: StepContext = {
    config,
    source: adapters.source,
    // An invocation opens its own adapters and runs one step on them, so its reader is its own too.
    reader: new SourceReader(adapters.source),
    sink: adapters.sink,
    store: adapters.store,
    ...(adapters.table ? { table: adapters.table } : {}),
    ...(adapters.schemas ? { schemas: adapters.schemas } : {}),
    attemptId,
    deadlineMs: run.deadlineMs,
    hooks: run.hooks,
    logger,
  };
  switch (event.step) {
    case StepName.PLAN:
      return { ...(await plan(ctx, run)), deadlineMs: event.deadlineMs };
    case StepName.SHARD: {
      const result = await buildShard(ctx, event.task);
      logger.info('shard finished', {
        window: `${event.task.windowStartMs}/${event.task.windowEndMs}`,
        partitions: event.task.partitions.length,
        records: result.records,
        stopped: result.stopped,
      });
      return result;
    }
    case StepName.FINALIZE:
      return finalize(ctx, event.plan, event.results, run);
    case StepName.ABANDON:
      await abandonAttempt(ctx);
      logger.info('attempt abandoned; its lease, if it held it, is released');
      return {};
  }
}

async function plan(ctx: StepContext, run: StepRun): Promise<PlanResult> {
  const { logger, metrics } = run;
  const planned = await planWindow(ctx, ctx.config.shards);
  metrics.addMetric(PullerMetric.RETENTION_GAP_RECORDS, MetricUnit.Count, planned.retentionGapRecords ?? 0);
  if (planned.kind === 'window') {
    logger.info('window planned', {
      window: `${planned.windowStartMs}/${planned.windowEndMs}`,
      partitionsPerShard: planned.tasks.map((task) => task.partitions.length),
    });
    return planned;
  }
  if (planned.outcome === RunOutcome.LEASE_HELD) {
    logger.warn('another run holds the lease; nothing done', { holder: planned.leaseHolder });
    return planned;
  }
  // Plan keeps the lease it took even when it then finds nothing to do; no later step of the execution
  // follows a stop, so it is released here.
  const state = await releaseLease(
    ctx.store,
    pipelineIdOf(ctx.config.groupId, ctx.config.topic),
    ctx.attemptId,
    Date.now,
  );
  addNewestWindowAge(run.metrics, state);
  logger.info('run finished', { outcome: planned.outcome });
  return planned;
}

async function finalize(
  ctx: StepContext,
  plan: Parameters<typeof finalizeWindow>[1],
  results: Parameters<typeof finalizeWindow>[2],
  run: StepRun,
): Promise<FinalizeResult> {
  const { logger, metrics } = run;
  const finalized = await finalizeWindow(ctx, plan, results, {
    onWindowClosed: (closed) => logWindowClosed(logger, closed),
  });
  const totals = finalized.closed?.manifest.totals;
  metrics.addMetric(PullerMetric.WINDOWS_CLOSED, MetricUnit.Count, totals ? 1 : 0);
  metrics.addMetric(PullerMetric.RECORDS_WRITTEN, MetricUnit.Count, totals?.records ?? 0);
  metrics.addMetric(PullerMetric.BYTES_WRITTEN, MetricUnit.Bytes, totals?.bytes ?? 0);
  metrics.addMetric(PullerMetric.LATE_RECORDS, MetricUnit.Count, totals?.lateRecords ?? 0);
  metrics.addMetric(PullerMetric.ERROR_RECORDS, MetricUnit.Count, totals?.errorRecords ?? 0);
  if (finalized.outcome === 'closed') {
    metrics.addMetric(
      PullerMetric.NEWEST_WINDOW_AGE_SECONDS,
      MetricUnit.Seconds,
      Math.max(0, (Date.now() - plan.windowEndMs) / 1000),
    );
  }
  if (!finalized.more) logger.info('run finished', { outcome: finalized.outcome });
  // The closed window's manifest stays out of the answer: the state machine needs none of it.
  const { closed: _closed, ...answer } = finalized;
  return answer;
}

function addNewestWindowAge(metrics: Metrics, state: PipelineState | undefined): void {
  const newest = state?.lastClosedWindow;
  if (newest) {
    metrics.addMetric(
      PullerMetric.NEWEST_WINDOW_AGE_SECONDS,
      MetricUnit.Seconds,
      Math.max(0, (Date.now() - newest.endMs) / 1000),
    );
  }
}
