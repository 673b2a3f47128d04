// The Lambda's composition root: read the validated config once, wire the adapters, run the engine
// until the invocation's deadline, and report through Powertools logs and metrics.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { type Adapters, createAdapters } from '../adapters/create-adapters.js';
import { loadConfig, type PullerConfig } from '../config.js';
import { runPipeline } from '../engine/run-pipeline.js';
import { type PullerHooks, RunOutcome, type RunReport } from '../engine/run-types.js';
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

  return async function handler(_event: unknown, context: Context): Promise<HandlerResult> {
    logger.addContext(context);
    logger.appendKeys({ runId: context.awsRequestId });
    const metrics = new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'KafkaBatchPuller',
      serviceName: SERVICE_NAME,
    });
    let adapters: Adapters | undefined;
    // Everything that can fail is inside the try: a bad config or a failed secret fetch is logged and
    // counted like any other failure.
    try {
      // Validated on the first invocation: a bad setting fails here, before any state is read.
      config ??= loadConfig(process.env);
      metrics.addDimension('Topic', config.topic);
      logger.appendKeys({ topic: config.topic, groupId: config.groupId });
      adapters = await createAdapters(config);
      const report = await runPipeline({
        config,
        source: adapters.source,
        sink: adapters.sink,
        store: adapters.store,
        deadlineMs: Date.now() + context.getRemainingTimeInMillis(),
        runId: context.awsRequestId,
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
      logger.error('run failed', error as Error);
      throw error;
    } finally {
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
