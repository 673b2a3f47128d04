// The state machine of a sharded pipeline: plan a window, build its shards in parallel, finalize it, and
// loop while windows are ready and time is left. Every step is an invocation of the pipeline's function.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { StepName, TRANSIENT_STEP_ERROR } from '../src/lambda/step-names.js';
import { addNagSuppressions } from './nag-suppressions.js';

/** Properties of `ShardStateMachine`. */
export interface ShardStateMachineProps {
  /** The function every step invokes (the event's `step` says which). */
  readonly lambdaFunction: lambda.IFunction;

  /** How many shards build a window at once: the Map state's MaxConcurrency. A whole number from 2. */
  readonly shards: number;

  /**
   * The run's time budget: every step stops new work by the execution's start time plus this. It is also
   * the function's timeout (a step never runs longer than the budget), at most 15 minutes.
   */
  readonly runTimeout: Duration;

  /**
   * The period of the metric methods' defaults (the pipeline's batch interval).
   * @default Duration.minutes(1)
   */
  readonly metricPeriod?: Duration;

  /**
   * Retention of the state machine's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The state machine's description in the console.
   * @default - none
   */
  readonly comment?: string;
}

/** Express executions stop at 5 minutes (an AWS limit). */
const EXPRESS_MAX_DURATION = Duration.minutes(5);

/**
 * What an execution may take beyond its run budget before Step Functions stops it: the last step's
 * return after the deadline, and the abandon step. An execution stopped by its timeout skips its Catch
 * (the lease then expires by itself), so this is a backstop, not the expected end.
 */
export const EXECUTION_GRACE = Duration.seconds(60);

/**
 * What an invocation that ran out of memory fails with: Lambda ends the sandbox and answers an unhandled
 * error of type `Runtime.OutOfMemory`, as executions report it. Step Functions' guide calls unhandled
 * errors, out-of-memory and time-outs alike, `Lambda.Unknown`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html): retried with it.
 */
const OUT_OF_MEMORY_ERRORS = ['Runtime.OutOfMemory', 'Lambda.Unknown'];

/**
 * What a step that ran out of time fails with: `States.Timeout` when the task's TimeoutSeconds passes,
 * `Sandbox.Timedout` when the function's own timeout ends the invocation first.
 */
const OUT_OF_TIME_ERRORS = ['States.Timeout', 'Sandbox.Timedout'];

/**
 * A state whose input or output would pass Step Functions' 256 KiB fails with this, and `States.ALL`
 * does not catch it (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html):
 * it is caught by name, so that Abandon still releases the lease.
 */
const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

/** Lambda's errors that say the invocation did not happen or its answer was lost: retried on every step. */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  // Reserved concurrency throttles a step that overlaps an earlier invocation still running (a retry, a
  // shard of a failed Map, the next execution's plan); it runs once that one ends.
  'Lambda.TooManyRequestsException',
];

/**
 * Plan → Map over the shards (MaxConcurrency `shards`) → Finalize, looping to Plan while Finalize says
 * another window may be ready; any failure runs Abandon (releases the lease, so the next execution need
 * not wait for it to expire) and fails the execution.
 *
 * The deadline: Step Functions has no epoch-milliseconds intrinsic, so Plan gets the execution's ISO
 * `$$.Execution.StartTime` and the budget in milliseconds, computes `deadlineMs` (start + budget) and
 * returns it with its plan; Map and Finalize pass `$.plan.deadlineMs` on. Every Plan of the loop gets the
 * same start and budget, so the deadline is one fixed instant for the whole execution, whoever computes it.
 *
 * Express or Standard: Express when the execution's timeout (the run budget plus `EXECUTION_GRACE`) fits
 * in Express's 5 minutes, as with the default 1-minute interval; Standard otherwise (a run budget above
 * 4 minutes, up to the 15 a catch-up run may use). Express costs about a dollar a month at one run a
 * minute whatever the shard count, where Standard's per-transition price grows with the shards (see the
 * README); both run the same definition, and a step's retries are safe in both because every step is
 * idempotent for its attempt id (the execution name).
 */
export class ShardStateMachine extends Construct {
  /** The state machine the schedule starts. */
  readonly stateMachine: sfn.StateMachine;
  /** EXPRESS when the execution's timeout fits in 5 minutes, STANDARD otherwise. */
  readonly stateMachineType: sfn.StateMachineType;
  /** The execution's timeout: the run budget plus `EXECUTION_GRACE`. */
  readonly executionTimeout: Duration;
  /** Where every execution event goes (level ALL, with the states' input and output). */
  readonly logGroup: logs.ILogGroup;
  /** The state machine's role: it may invoke the function and deliver its logs, nothing else. */
  readonly role: iam.IRole;

  private readonly metricPeriod: Duration;

  constructor(scope: Construct, id: string, props: ShardStateMachineProps) {
    super(scope, id);
    const { lambdaFunction: fn, shards, runTimeout } = props;
    if (!Number.isInteger(shards) || shards < 2) {
      throw new Error(
        `Invalid props for ${this.node.path}: shards must be a whole number of 2 or more, got ${shards}`,
      );
    }
    this.metricPeriod = props.metricPeriod ?? Duration.minutes(1);
    this.executionTimeout = runTimeout.plus(EXECUTION_GRACE);
    this.stateMachineType =
      this.executionTimeout.toSeconds() <= EXPRESS_MAX_DURATION.toSeconds()
        ? sfn.StateMachineType.EXPRESS
        : sfn.StateMachineType.STANDARD;
    // A task ends when its invocation does: the function's timeout is the run budget, and a longer task
    // timeout would only keep Step Functions waiting for an answer Lambda will never give.
    const taskTimeout = runTimeout;

    // Each step is a plain Lambda task (Resource: the function's ARN; the output is the function's answer)
    // so the role is granted the unqualified function only, not its versions and aliases.
    const step = (stateId: string, json: Record<string, unknown>) => {
      const state = new sfn.CustomState(this, stateId, {
        stateJson: {
          Type: 'Task',
          Resource: fn.functionArn,
          TimeoutSeconds: taskTimeout.toSeconds(),
          ...json,
        },
      });
      state.addRetry({
        errors: LAMBDA_SERVICE_ERRORS,
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(30),
        jitterStrategy: sfn.JitterType.FULL,
      });
      return state;
    };
    const transientRetry = {
      errors: [TRANSIENT_STEP_ERROR],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 2,
    };
    // A sandbox that ran out of memory is replaced, so a retry gets a fresh one; a step that ran out of
    // time resumes from what it recorded (a shard's finished parts, a window finalize had not closed), or
    // finds the deadline passed and says so. Plan is not retried on time: its timeout is the run budget,
    // so no time would be left (one reported as Lambda.Unknown is, and only stops).
    const outOfResourcesRetry = (errors: string[]) => ({
      errors,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 2,
    });

    const failed = new sfn.Fail(this, 'Failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const abandon = step('Abandon', {
      Comment: 'Releases the lease this execution may hold, so the next one need not wait for it to expire',
      Parameters: { step: StepName.ABANDON, 'attemptId.$': '$$.Execution.Name' },
      ResultPath: null,
    })
      .addRetry(outOfResourcesRetry([...OUT_OF_MEMORY_ERRORS, ...OUT_OF_TIME_ERRORS]))
      .addCatch(failed, { resultPath: '$.abandonError' });
    abandon.next(failed);
    // Two catchers, in this order: States.ALL must come last, and does not catch the data limit.
    const abandonOn = (state: { addCatch(handler: sfn.IChainable, props: sfn.CatchProps): unknown }) => {
      state.addCatch(abandon, { errors: [DATA_LIMIT_EXCEEDED], resultPath: '$.error' });
      state.addCatch(abandon, { errors: ['States.ALL'], resultPath: '$.error' });
    };

    const plan = step('Plan', {
      Comment:
        'Takes the lease and picks the next window and each shard’s partitions, or says why there is none',
      Parameters: {
        step: StepName.PLAN,
        'attemptId.$': '$$.Execution.Name',
        'executionStartTime.$': '$$.Execution.StartTime',
        budgetMs: runTimeout.toMilliseconds(),
      },
      ResultPath: '$.plan',
    })
      .addRetry(transientRetry)
      .addRetry(outOfResourcesRetry(OUT_OF_MEMORY_ERRORS));
    abandonOn(plan);

    const shard = step('Shard', {
      Comment: 'Reads its partitions from the planned offsets to the window’s end and writes their parts',
    })
      .addRetry(transientRetry)
      .addRetry(outOfResourcesRetry([...OUT_OF_MEMORY_ERRORS, ...OUT_OF_TIME_ERRORS]));
    const shardMap = new sfn.Map(this, 'Shards', {
      comment: 'One iteration per shard task, all at once',
      itemsPath: '$.plan.tasks',
      itemSelector: {
        step: StepName.SHARD,
        'task.$': '$$.Map.Item.Value',
        'deadlineMs.$': '$.plan.deadlineMs',
      },
      maxConcurrency: shards,
      resultPath: '$.results',
    });
    shardMap.itemProcessor(shard);
    abandonOn(shardMap);

    const finalize = step('Finalize', {
      Comment:
        'Checks every partition is done, writes the manifest, saves the state, commits, releases the lease',
      Parameters: {
        step: StepName.FINALIZE,
        'plan.$': '$.plan',
        'results.$': '$.results',
        'deadlineMs.$': '$.plan.deadlineMs',
      },
      ResultPath: '$.finalize',
    })
      .addRetry(transientRetry)
      .addRetry(outOfResourcesRetry([...OUT_OF_MEMORY_ERRORS, ...OUT_OF_TIME_ERRORS]));
    abandonOn(finalize);

    const done = new sfn.Succeed(this, 'Done');
    const more = new sfn.Choice(this, 'MoreWindows')
      .when(sfn.Condition.booleanEquals('$.finalize.more', true), plan)
      .otherwise(done);
    const hasWindow = new sfn.Choice(this, 'HasWindow')
      .when(sfn.Condition.stringEquals('$.plan.kind', 'window'), shardMap.next(finalize).next(more))
      .otherwise(done);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'kafka-batch-puller shard state machine: invokes its pipeline function',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
    );
    this.role = role;

    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(hasWindow)),
      stateMachineType: this.stateMachineType,
      timeout: this.executionTimeout,
      role,
      comment: props.comment,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: false,
    });

    addNagSuppressions(this.stateMachine, [
      {
        id: 'AwsSolutions-SF2',
        reason:
          "X-Ray tracing is off: every step is one invocation of the pipeline's function, whose logs carry the execution name as the attempt id, and the execution log records each state.",
      },
    ]);
    addNagSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Step Functions log delivery (logs:CreateLogDelivery, PutResourcePolicy, ...) supports no resource-level permissions; AWS documents Resource "*" for it.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }

  /**
   * Executions that failed (a step failed after its retries; Abandon ran). The errors alarm watches it,
   * with `metricTimedOutExecutions`.
   * @default - sum over one batch interval
   */
  metricFailedExecutions(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.stateMachine.metricFailed({
      period: this.metricPeriod,
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  /**
   * Executions stopped by their timeout (the run budget plus `EXECUTION_GRACE`): a step hung past the
   * deadline; the lease expires by itself.
   * @default - sum over one batch interval
   */
  metricTimedOutExecutions(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.stateMachine.metricTimedOut({
      period: this.metricPeriod,
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  /**
   * Executions that started (one per schedule tick that Scheduler delivered).
   * @default - sum over one batch interval
   */
  metricStartedExecutions(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.stateMachine.metricStarted({
      period: this.metricPeriod,
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  /**
   * Failed plus timed-out executions: every run that ended without finishing its work.
   * @default - over one batch interval
   */
  metricUnsuccessfulExecutions(props: cloudwatch.MathExpressionOptions = {}): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
      usingMetrics: { failed: this.metricFailedExecutions(), timedOut: this.metricTimedOutExecutions() },
      label: 'Failed or timed-out executions',
      period: this.metricPeriod,
      ...props,
    });
  }
}
