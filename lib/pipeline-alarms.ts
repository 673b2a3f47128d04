// A pipeline's two alarms: a run failed, and windows stopped closing (or runs stopped reporting).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { PullerPipeline } from './puller-pipeline.js';

/** The errors and freshness alarms of a pipeline. */
export interface PipelineAlarms {
  /** In alarm when a run fails (with shards: when an execution fails or times out). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** In alarm when windows stop closing, or runs stop reporting. */
  readonly freshnessAlarm: cloudwatch.Alarm;
}

/**
 * Creates `pipeline`'s alarms, notifying the puller's alarm topic when it has one. Periods are one
 * interval; the freshness alarm needs two periods in a row, since a run's report can slip into the next
 * period and leave one empty (CloudWatch looks back at most a day).
 */
export function createPipelineAlarms(
  pipeline: PullerPipeline,
  freshnessAlarmIntervals: number,
): PipelineAlarms {
  const { topic, batchInterval, shardStateMachine } = pipeline;
  const errorsAlarm = new cloudwatch.Alarm(pipeline, 'ErrorsAlarm', {
    alarmDescription: shardStateMachine
      ? `kafka-batch-puller: a run (state machine execution) for topic ${topic} failed or timed out; the next run retries its work. See the execution's log, the function's logs and the failure queue.`
      : `kafka-batch-puller: a run for topic ${topic} failed; the next run retries its work. See the function's logs and the failure queue.`,
    // With shards, a step the state machine retried successfully is not a failed run.
    metric: shardStateMachine?.metricUnsuccessfulExecutions() ?? pipeline.metricErrors(),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const freshnessPeriods = batchInterval.toSeconds() * 2 <= Duration.days(1).toSeconds() ? 2 : 1;
  const freshnessAlarm = new cloudwatch.Alarm(pipeline, 'FreshnessAlarm', {
    alarmDescription: `kafka-batch-puller: topic ${topic} has no window closed in the last ${freshnessAlarmIntervals} intervals (${batchInterval.toHumanString()} each), or its runs stopped reporting.`,
    metric: pipeline.metricNewestWindowAge(),
    threshold: freshnessAlarmIntervals * batchInterval.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: freshnessPeriods,
    datapointsToAlarm: freshnessPeriods,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  const alarmTopic = pipeline.puller.alarmTopic;
  if (alarmTopic) {
    const action = new cloudwatchActions.SnsAction(alarmTopic);
    for (const alarm of [errorsAlarm, freshnessAlarm]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
  return { errorsAlarm, freshnessAlarm };
}
