// The Lambda's composition root: read the validated config once, wire the adapters, run the engine
// until the invocation's deadline, and report through Powertools logs and metrics. A scheduled event
// runs the whole pipeline; an event with a `step` (from the shard state machine) runs that one step.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { type Adapters, createAdapters } from '../adapters/create-adapters.js';
import { loadConfig, type PullerConfig } from '../config.js';
import { runPipeline } from '../engine/run-pipeline.js';
import { type PullerHooks, RunOutcome, type RunReport } from '../engine/run-types.js';
import { FailureKind, failureKindOf } from '../errors.js';
import { PullerMetric } from '../metric-names.js';
import { runStep, type StepResponse } from './run-step.js';
import { isStepEvent, parseStepEvent, type RawStepEvent, TransientStepError } from './step-events.js';
import type { StepName } from './step-names.js';
import { logWindowClosed } from './window-closed-log.js';

/** What one invocation returns (also logged): the run's outcome and totals, as the run report has them. */
export interface HandlerResult
  extends Pick<
    RunReport,
    | 'outcome'
    | 'recordsWritten'
    | 'bytesWritten'
    | 'lateRecords'
    | 'errorRecords'
    | 'retentionGapRecords'
    | 'consumerLag'
    | 'newestWindowAgeSeconds'
  > {
  /** How many windows the run closed. */
  readonly windowsClosed: number;
}

/**
 * The Lambda handler: a scheduled event (no `step`) runs the whole pipeline and answers its result; an
 * event of the shard state machine runs its step and answers what the state machine passes on.
 */
export interface PullerHandler {
  (event: RawStepEvent, context: Context): Promise<StepResponse>;
  (event: unknown, context: Context): Promise<HandlerResult>;
}

const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? 'kafka-batch-puller';

/**
 * Builds a handler, optionally with hooks. Deploy `handler` as is, or wrap your own:
 * `export const handler = createHandler({ parseRecord: (row) => ({ ...row, value: JSON.parse(row.value ?? 'null') }) })`.
 */
export function createHandler(hooks: PullerHooks = {}): PullerHandler {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  let config: PullerConfig | undefined;
  // Invocations in one container run one after another: an earlier one has ended, so a lease it could
  // not release is taken over at once.
  const endedRunIds: string[] = [];

  async function handler(event: unknown, context: Context): Promise<HandlerResult | StepResponse> {
    logger.addContext(context);
    logger.removeKeys(['step', 'attemptId', 'shard']);
    logger.appendKeys({ runId: context.awsRequestId });
    const step = isStepEvent(event) ? event : undefined;
    const metrics = new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'KafkaBatchPuller',
      serviceName: SERVICE_NAME,
    });
    const deadlineMs = Date.now() + context.getRemainingTimeInMillis();
    let awsRetries = 0;
    let adapters: Adapters | undefined;
    // Everything that can fail is inside the try: a bad config or a failed secret fetch is logged and
    // counted like any other failure.
    try {
      // Validated on the first invocation: a bad setting fails here, before any state is read.
      config ??= loadConfig(process.env);
      metrics.addDimension('Topic', config.topic);
      logger.appendKeys({ topic: config.topic, groupId: config.groupId });
      if (step) {
        // Checked before any adapter exists: a malformed event touches nothing.
        const parsed = parseStepEvent(step);
        // The step stops by the execution's deadline, or by this invocation's end if that comes first.
        const stepDeadlineMs = 'deadlineMs' in parsed ? Math.min(deadlineMs, parsed.deadlineMs) : deadlineMs;
        adapters = await createAdapters(config, {
          deadlineMs: stepDeadlineMs,
          onRetry: (retry) => {
            awsRetries += 1;
            logger.warn('AWS call retried', { errorType: retry.errorType, errorName: retry.errorName });
          },
        });
        return await runStep(parsed, {
          config,
          adapters,
          deadlineMs: stepDeadlineMs,
          hooks,
          logger,
          metrics,
        });
      }
      adapters = await createAdapters(config, {
        deadlineMs,
        onRetry: (retry) => {
          awsRetries += 1;
          logger.warn('AWS call retried', { errorType: retry.errorType, errorName: retry.errorName });
        },
      });
      const report = await runPipeline({
        config,
        // A whole run is one invocation: its one source reads every partition (the same objects any
        // shard count writes). Sharded pipelines run their shards as steps of the state machine.
        shards: 1,
        source: adapters.source,
        sink: adapters.sink,
        store: adapters.store,
        ...(adapters.table ? { table: adapters.table } : {}),
        ...(adapters.schemas ? { schemas: adapters.schemas } : {}),
        deadlineMs,
        runId: context.awsRequestId,
        endedRunIds,
        hooks,
        logger,
        listener: {
          onWindowClosed: (closed) => logWindowClosed(logger, closed),
        },
      });
      const result = resultOf(report);
      addRunMetrics(metrics, result);
      if (report.outcome === RunOutcome.LEASE_HELD)
        logger.warn('another run holds the lease; nothing done', { holder: report.leaseHolder });
      logger.info('run finished', { ...result });
      return result;
    } catch (error) {
      const failureKind = failureKindOf(error);
      metrics.addMetric(
        failureKind === FailureKind.PERMANENT
          ? PullerMetric.PERMANENT_FAILURES
          : PullerMetric.TRANSIENT_FAILURES,
        MetricUnit.Count,
        1,
      );
      logger.error(step ? 'step failed' : 'run failed', { failureKind, error: error as Error });
      // The state machine retries a step on this error type: only where the step itself, retried, can succeed.
      if (step && failureKind === FailureKind.TRANSIENT) {
        throw new TransientStepError(step.step as StepName, error);
      }
      throw error;
    } finally {
      metrics.addMetric(PullerMetric.AWS_RETRIES, MetricUnit.Count, awsRetries);
      // A step's invocation is no lease owner (its attempt, the execution, is): only whole runs count.
      if (!step) endedRunIds.push(context.awsRequestId);
      if (endedRunIds.length > 10) endedRunIds.shift();
      metrics.publishStoredMetrics();
      await adapters?.close();
    }
  }
  return handler as PullerHandler;
}

function resultOf(report: RunReport): HandlerResult {
  return {
    outcome: report.outcome,
    windowsClosed: report.windowsClosed.length,
    recordsWritten: report.recordsWritten,
    bytesWritten: report.bytesWritten,
    lateRecords: report.lateRecords,
    errorRecords: report.errorRecords,
    retentionGapRecords: report.retentionGapRecords,
    consumerLag: report.consumerLag,
    newestWindowAgeSeconds: report.newestWindowAgeSeconds,
  };
}

function addRunMetrics(metrics: Metrics, result: HandlerResult): void {
  metrics.addMetric(PullerMetric.RECORDS_WRITTEN, MetricUnit.Count, result.recordsWritten);
  metrics.addMetric(PullerMetric.BYTES_WRITTEN, MetricUnit.Bytes, result.bytesWritten);
  metrics.addMetric(PullerMetric.WINDOWS_CLOSED, MetricUnit.Count, result.windowsClosed);
  metrics.addMetric(PullerMetric.LATE_RECORDS, MetricUnit.Count, result.lateRecords);
  metrics.addMetric(PullerMetric.ERROR_RECORDS, MetricUnit.Count, result.errorRecords);
  metrics.addMetric(PullerMetric.RETENTION_GAP_RECORDS, MetricUnit.Count, result.retentionGapRecords);
  if (result.consumerLag !== undefined)
    metrics.addMetric(PullerMetric.CONSUMER_LAG, MetricUnit.Count, result.consumerLag);
  if (result.newestWindowAgeSeconds !== undefined) {
    metrics.addMetric(
      PullerMetric.NEWEST_WINDOW_AGE_SECONDS,
      MetricUnit.Seconds,
      result.newestWindowAgeSeconds,
    );
  }
}

/** The default handler: no hooks. */
export const handler = createHandler();
