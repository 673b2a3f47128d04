// What starts a pipeline's runs: an EventBridge Scheduler schedule every batch interval, invoking the
// function (one shard) or starting the shard state machine, with its own narrowly trusted role.
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { LambdaInvokeTarget } from './lambda-invoke-target.js';
import { minDuration } from './pipeline-options.js';
import type { PullerPipeline } from './puller-pipeline.js';

/** The shortest maximum event age Lambda and Scheduler accept, and the longest Lambda accepts. */
const EVENT_AGE_MIN = Duration.minutes(1);
const EVENT_AGE_MAX = Duration.hours(6);

/**
 * How long an invocation may wait before it is dropped: one interval, within what Lambda and Scheduler
 * accept. A run that waited a whole interval would only run late beside its successor.
 */
export function maxEventAgeFor(batchInterval: Duration): Duration {
  const age = minDuration(batchInterval, EVENT_AGE_MAX);
  return age.toMilliseconds() >= EVENT_AGE_MIN.toMilliseconds() ? age : EVENT_AGE_MIN;
}

/**
 * The schedule of `pipeline`, with the same no-retry policy as its function: a missed run is made up by
 * the next. Failed and dropped starts go to the puller's failure queue.
 */
export function createPipelineSchedule(pipeline: PullerPipeline, enabled: boolean): scheduler.Schedule {
  const { topic, batchInterval, puller } = pipeline;
  const stateMachine = pipeline.shardStateMachine?.stateMachine;
  const stack = Stack.of(pipeline);
  const schedulerRole = new iam.Role(pipeline, 'SchedulerRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:SourceAccount': stack.account,
          'aws:SourceArn': stack.formatArn({
            service: 'scheduler',
            resource: 'schedule-group',
            resourceName: 'default',
          }),
        },
      },
    }),
    description: stateMachine
      ? `EventBridge Scheduler: starts the kafka-batch-puller state machine for topic ${topic}`
      : `EventBridge Scheduler: invokes the kafka-batch-puller function for topic ${topic}`,
  });
  const targetProps = {
    role: schedulerRole,
    retryAttempts: 0,
    maxEventAge: maxEventAgeFor(batchInterval),
    deadLetterQueue: puller.failureQueue,
  };
  return new scheduler.Schedule(pipeline, 'Schedule', {
    schedule: scheduler.ScheduleExpression.rate(batchInterval),
    description: `kafka-batch-puller: topic ${topic} every ${batchInterval.toHumanString()}`,
    enabled,
    target: stateMachine
      ? new schedulerTargets.StepFunctionsStartExecution(stateMachine, {
          ...targetProps,
          input: scheduler.ScheduleTargetInput.fromObject({}),
        })
      : new LambdaInvokeTarget(pipeline.lambdaFunction, targetProps),
  });
}
