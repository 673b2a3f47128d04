// The metrics the handler emits for one pipeline's topic, as CloudWatch metrics its alarms and users read.
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { PullerMetric } from '../src/metric-names.js';
import type { PullerPipeline } from './puller-pipeline.js';

/**
 * `metricName` as the handler emits it for `pipeline`'s topic (one data point per run), with the
 * dimensions `service` and `Topic`: the average over one batch interval unless `props` says otherwise.
 */
export function pipelineMetric(
  pipeline: PullerPipeline,
  metricName: PullerMetric,
  props: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: pipeline.puller.metricsNamespace,
    metricName,
    // Powertools adds the `service` dimension to every metric; the handler adds `Topic`.
    dimensionsMap: { service: pipeline.puller.serviceName, Topic: pipeline.topic },
    period: pipeline.batchInterval,
    statistic: cloudwatch.Stats.AVERAGE,
    ...props,
  });
}
