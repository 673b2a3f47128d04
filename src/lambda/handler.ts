// The Lambda's composition root: read the validated config once, wire the adapters, run the engine
// until the invocation's deadline, and report through Powertools logs and metrics.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { type Adapters, createAdapters } from '../adapters/create-adapters.js';
import { loadConfig, type PullerConfig } from '../config.js';
import { runPipeline } from '../engine/run-pipeline.js';
import { type PullerHooks, RunOutcome, type RunReport } from '../engine/run-types.js';
import { FailureKind, failureKindOf } from '../errors.js';
import { PullerMetric } from '../metric-names.js';

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

const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? 'kafka-batch-puller';

/**
 * Builds a handler, optionally with hooks. Deploy `handler` as is, or wrap your own:
 * `export const handler = createHandler({ parseRecord: (row) => ({ ...row, value: JSON.parse(row.value ?? 'null') }) })`.
 */
export function createHandler(hooks: PullerHooks = {}) {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  let config: PullerConfig | undefined;
  // Invocations in one container run one after another: an earlier one has ended, so a lease it could
  // not release is taken over at once.
  const endedRunIds: string[] = [];

  return async function handler(_event: unknown, context: Context): Promise<HandlerResult> {
    logger.addContext(context);
    logger.appendKeys({ runId: context.awsRequestId });
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
      adapters = await createAdapters(config, {
        deadlineMs,
        onRetry: (retry) => {
          awsRetries += 1;
          logger.warn('AWS call retried', { errorType: retry.errorType, errorName: retry.errorName });
        },
      });
      const report = await runPipeline({
        config,
        source: adapters.source,
        sink: adapters.sink,
        store: adapters.store,
        deadlineMs,
        runId: context.awsRequestId,
        endedRunIds,
        hooks,
        logger,
        listener: {
          onWindowClosed: ({ manifest, manifestLocation }) =>
            logger.info('window closed', {
              window: `${manifest.window.start}/${manifest.window.end}`,
              records: manifest.totals.records,
              bytes: manifest.totals.bytes,
              lateRecords: manifest.totals.lateRecords,
              errorRecords: manifest.totals.errorRecords,
              manifest: manifestLocation,
            }),
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
        failureKind === FailureKind.TRANSIENT
          ? PullerMetric.TRANSIENT_FAILURES
          : PullerMetric.PERMANENT_FAILURES,
        MetricUnit.Count,
        1,
      );
      logger.error('run failed', { failureKind, error: error as Error });
      throw error;
    } finally {
      metrics.addMetric(PullerMetric.AWS_RETRIES, MetricUnit.Count, awsRetries);
      endedRunIds.push(context.awsRequestId);
      if (endedRunIds.length > 10) endedRunIds.shift();
      metrics.publishStoredMetrics();
      await adapters?.close();
    }
  };
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
