// The `shards` prop: 1 keeps the schedule → function shape; above 1 the schedule starts a state machine
// (plan → shards → finalize) whose definition is valid Amazon States Language, with retries, timeouts,
// a Catch that abandons the attempt, a failed-execution alarm and least-privilege roles.
import { createRequire } from 'node:module';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller, KafkaSecurityMode, type PullerPipeline } from '../../lib/index.js';
import { reservedConcurrencyFor } from '../../lib/puller-pipeline.js';
import { newStack, renderedDefinition as rendered, resolved, statementsOf } from './support.js';

/** asl-validator ships no types: it takes a definition and returns whether it is valid, and why not. */
type AslValidate = (definition: unknown) => {
  isValid: boolean;
  errors: Array<Record<string, unknown>>;
};
const validateAsl = createRequire(import.meta.url)('asl-validator') as AslValidate;

interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ItemSelector?: Record<string, unknown>;
  ItemsPath?: string;
  MaxConcurrency?: number;
  ResultPath?: string | null;
  TimeoutSeconds?: number;
  Retry?: Array<{
    ErrorEquals: string[];
    MaxAttempts?: number;
    BackoffRate?: number;
    IntervalSeconds?: number;
  }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  Choices?: Array<Record<string, unknown>>;
  Default?: string;
  ItemProcessor?: { StartAt: string; States: Record<string, AslState> };
}
interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

/** The synthesized definition, typed for these checks. */
const renderedDefinition = (template: Template) => rendered(template) as AslDefinition;

function shardedStack(options: { shards?: number; timeout?: Duration; batchInterval?: Duration } = {}) {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  const pipeline = puller.addPipeline('Orders', { topic: 'orders', ...options });
  return { stack, puller, pipeline, template: Template.fromStack(stack) };
}

/** The function's Timeout in the template, seconds. */
function functionTimeoutOf(template: Template): number {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
  return fn?.Properties.Timeout as number;
}

const functionArnOf = (pipeline: PullerPipeline) =>
  resolved(Stack.of(pipeline), pipeline.lambdaFunction.functionArn);

describe('shards: 1 (the default)', () => {
  const explicit = shardedStack({ shards: 1 });
  const byDefault = shardedStack();

  it('keeps the schedule → function shape: no state machine, reserved concurrency 1, no SHARDS setting', () => {
    for (const { template, pipeline, stack } of [explicit, byDefault]) {
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
      template.hasResourceProperties('AWS::Lambda::Function', {
        ReservedConcurrentExecutions: 1,
        Environment: { Variables: Match.objectLike({ SHARDS: Match.absent() }) },
      });
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        Target: { Arn: stack.resolve(pipeline.lambdaFunction.functionArn) },
      });
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
      expect(pipeline.shards).toBe(1);
      expect(pipeline.shardStateMachine).toBeUndefined();
    }
  });

  it('gives the same template whether shards is 1 or left out', () => {
    expect(explicit.template.toJSON()).toEqual(byDefault.template.toJSON());
  });
});

describe('shards: 4', () => {
  const { stack, puller, pipeline, template } = shardedStack({ shards: 4 });
  const definition = renderedDefinition(template);
  const states = definition.States;
  const machine = pipeline.shardStateMachine;

  it('renders a definition that asl-validator accepts', () => {
    const result = validateAsl(definition);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('runs plan → HasWindow → Map (MaxConcurrency 4) → finalize → MoreWindows, looping back to plan', () => {
    expect(definition.StartAt).toBe('Plan');
    expect(states.Plan).toMatchObject({
      Type: 'Task',
      Next: 'HasWindow',
      Parameters: {
        step: 'plan',
        'attemptId.$': '$$.Execution.Name',
        'executionStartTime.$': '$$.Execution.StartTime',
        budgetMs: 60_000,
      },
      ResultPath: '$.plan',
    });
    expect(states.HasWindow).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.plan.kind', StringEquals: 'window', Next: 'Shards' }],
      Default: 'Done',
    });
    expect(states.Shards).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 4,
      ItemsPath: '$.plan.tasks',
      ItemSelector: { step: 'shard', 'task.$': '$$.Map.Item.Value', 'deadlineMs.$': '$.plan.deadlineMs' },
      ResultPath: '$.results',
      Next: 'Finalize',
    });
    expect(states.Finalize).toMatchObject({
      Type: 'Task',
      Parameters: {
        step: 'finalize',
        'plan.$': '$.plan',
        'results.$': '$.results',
        'deadlineMs.$': '$.plan.deadlineMs',
      },
      ResultPath: '$.finalize',
      Next: 'MoreWindows',
    });
    expect(states.MoreWindows).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.finalize.more', BooleanEquals: true, Next: 'Plan' }],
      Default: 'Done',
    });
    expect(states.Done?.Type).toBe('Succeed');
  });

  it('invokes the one function, unqualified, in every task, each timing out with the function', () => {
    const shard = states.Shards?.ItemProcessor?.States.Shard;
    const tasks = { Plan: states.Plan, Shard: shard, Finalize: states.Finalize, Abandon: states.Abandon };
    for (const [name, task] of Object.entries(tasks)) {
      expect(task?.Type, name).toBe('Task');
      expect(task?.Resource, name).toMatch(
        /^arn:aws:lambda:[^:]+:\d+:function:PullerOrdersFunction[0-9A-F]+$/,
      );
      // Longer, and Step Functions would wait on an invocation Lambda has already ended.
      expect(task?.TimeoutSeconds, name).toBe(functionTimeoutOf(template));
    }
    expect(functionTimeoutOf(template)).toBe(60);
    expect(shard?.Parameters).toBeUndefined(); // the Map's item selector is the shard's event
    expect(definition.TimeoutSeconds).toBe(60 + 60);
  });

  it('keeps every task’s timeout at the function’s whatever the budget', () => {
    for (const options of [
      { timeout: Duration.seconds(45) },
      { batchInterval: Duration.minutes(10) },
      { batchInterval: Duration.hours(1), timeout: Duration.minutes(15) },
    ]) {
      const { template: other } = shardedStack({ shards: 3, ...options });
      const { States: all } = renderedDefinition(other);
      const tasks = [all.Plan, all.Shards?.ItemProcessor?.States.Shard, all.Finalize, all.Abandon];
      expect(tasks.map((task) => task?.TimeoutSeconds)).toEqual(tasks.map(() => functionTimeoutOf(other)));
    }
  });

  it('retries transient Lambda errors with backoff on every task', () => {
    const shard = states.Shards?.ItemProcessor?.States.Shard;
    for (const [name, task] of Object.entries({
      Plan: states.Plan,
      Shard: shard,
      Finalize: states.Finalize,
      Abandon: states.Abandon,
    })) {
      const lambdaRetry = task?.Retry?.find((retry) => retry.ErrorEquals.includes('Lambda.ServiceException'));
      expect(lambdaRetry?.ErrorEquals, name).toEqual(
        expect.arrayContaining([
          'Lambda.ServiceException',
          'Lambda.TooManyRequestsException',
          'Lambda.SdkClientException',
        ]),
      );
      expect(lambdaRetry?.BackoffRate, name).toBeGreaterThan(1);
      expect(lambdaRetry?.MaxAttempts, name).toBeGreaterThan(1);
    }
  });

  it('retries a step that failed transiently, or ran out of memory or time where time is left', () => {
    const retried = (task: AslState | undefined) => task?.Retry?.flatMap((retry) => retry.ErrorEquals);
    const outOfMemory = ['Runtime.OutOfMemory', 'Lambda.Unknown'];
    const outOfTime = ['States.Timeout', 'Sandbox.Timedout'];
    const shard = states.Shards?.ItemProcessor?.States.Shard;
    for (const [name, task] of Object.entries({ Shard: shard, Finalize: states.Finalize })) {
      expect(retried(task), name).toEqual(
        expect.arrayContaining(['TransientStepError', ...outOfMemory, ...outOfTime]),
      );
    }
    expect(retried(states.Abandon)).toEqual(expect.arrayContaining([...outOfMemory, ...outOfTime]));
    // Plan's timeout is the run budget: a plan retried after it would find no time left.
    expect(retried(states.Plan)).toEqual(expect.arrayContaining(['TransientStepError', ...outOfMemory]));
    for (const error of outOfTime) expect(retried(states.Plan)).not.toContain(error);
    for (const task of [states.Plan, shard, states.Finalize, states.Abandon]) {
      for (const retry of task?.Retry ?? []) {
        expect(retry.MaxAttempts).toBeGreaterThan(1);
        expect(retry.BackoffRate).toBeGreaterThan(1);
      }
    }
  });

  it('catches any failure of plan, the shards or finalize, the data limit too, abandons the attempt, then fails', () => {
    for (const name of ['Plan', 'Shards', 'Finalize']) {
      // States.ALL does not catch States.DataLimitExceeded (a state's input or output over 256 KiB).
      expect(states[name]?.Catch, name).toEqual([
        { ErrorEquals: ['States.DataLimitExceeded'], ResultPath: '$.error', Next: 'Abandon' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Abandon' },
      ]);
    }
    expect(states.Abandon).toMatchObject({
      Parameters: { step: 'abandon', 'attemptId.$': '$$.Execution.Name' },
      ResultPath: null,
      Next: 'Failed',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
    });
    expect(states.Failed?.Type).toBe('Fail');
  });

  it('is Express when the run fits in 5 minutes with its grace, Standard otherwise', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'EXPRESS' });
    const long = shardedStack({ shards: 4, batchInterval: Duration.minutes(10) });
    long.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
    expect(renderedDefinition(long.template).TimeoutSeconds).toBe(600 + 60);
    const fourMinutes = shardedStack({
      shards: 4,
      batchInterval: Duration.minutes(5),
      timeout: Duration.minutes(4),
    });
    fourMinutes.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
    });
  });

  it('logs every execution event to its own log group, with the execution data', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: stack.resolve(machine?.logGroup.logGroupArn),
            },
          },
        ],
      },
    });
  });

  it('is started by the schedule, whose role may only start this state machine and use the DLQ', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: {
        Arn: stack.resolve(machine?.stateMachine.stateMachineArn),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: stack.resolve(puller.failureQueue.queueArn) },
      },
    });
    const scheduleRole = Object.values(template.findResources('AWS::IAM::Role')).find(
      (role) =>
        role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'scheduler.amazonaws.com',
    );
    expect(scheduleRole).toBeDefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('states:StartExecution'),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]?.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: stack.resolve(machine?.stateMachine.stateMachineArn),
      },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: stack.resolve(puller.failureQueue.queueArn) },
    ]);
  });

  it('may invoke only its function (no versions or aliases) and deliver its logs', () => {
    const statements = statementsOf(template, machine?.role as NonNullable<typeof machine>['role']);
    expect(statements[0]).toEqual({
      actions: ['lambda:InvokeFunction'],
      resources: [functionArnOf(pipeline)],
    });
    expect(
      statements
        .slice(1)
        .flatMap((s) => s.actions)
        .every((action) => action.startsWith('logs:')),
    ).toBe(true);
    expect(statements.flatMap((s) => s.actions).filter((action) => action.startsWith('lambda:'))).toEqual([
      'lambda:InvokeFunction',
    ]);
  });

  it('gives the function SHARDS=4 and reserved concurrency 5, and no asynchronous invocation settings', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 5,
      Environment: { Variables: Match.objectLike({ SHARDS: '4' }) },
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    const role = statementsOf(template, pipeline.role);
    expect(role.flatMap((s) => s.actions)).not.toContain('sqs:SendMessage');
  });

  it('alarms on failed or timed-out executions, and offers their metrics', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States' }),
          }),
        }),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsTimedOut' }) }),
        }),
      ]),
    });
    const metrics = [
      machine?.metricFailedExecutions(),
      machine?.metricTimedOutExecutions(),
      machine?.metricStartedExecutions(),
    ];
    expect(metrics.map((m) => [m?.namespace, m?.metricName, m?.statistic, m?.period.toSeconds()])).toEqual([
      ['AWS/States', 'ExecutionsFailed', 'Sum', 60],
      ['AWS/States', 'ExecutionsTimedOut', 'Sum', 60],
      ['AWS/States', 'ExecutionsStarted', 'Sum', 60],
    ]);
    expect(pipeline.errorsAlarm.metric).toBeDefined();
  });
});

describe('asl-validator as this suite uses it', () => {
  it('rejects the definition once a state loses its transition (so the check above can fail)', () => {
    const definition = renderedDefinition(shardedStack({ shards: 4 }).template);
    delete definition.States.Finalize?.Next;
    const result = validateAsl(definition);
    expect(result.isValid).toBe(false);
    expect(JSON.stringify(result.errors)).toMatch(/Finalize/);
  });
});

describe('reserved concurrency', () => {
  it('is 1 for one shard, and N + 1 for N shards: the shards and the next execution’s plan', () => {
    expect([1, 2, 4, 32, 256].map(reservedConcurrencyFor)).toEqual([1, 3, 5, 33, 257]);
  });
});

describe('the shards prop', () => {
  it.each([0, 257, 2.5, -1, Number.NaN])('rejects %s, naming the prop', (shards) => {
    expect(() => shardedStack({ shards })).toThrow(
      `shards must be a whole number from 1 to 256, got ${shards}`,
    );
  });

  it('accepts 256', () => {
    const { template } = shardedStack({ shards: 256 });
    expect(renderedDefinition(template).States.Shards?.MaxConcurrency).toBe(256);
  });
});
