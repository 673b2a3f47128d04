// A sharded pipeline as the construct deploys it: the stack synthesized, its state machine's definition
// executed by aws-local-stepfunctions (which needs Node 22 or later), and every Lambda task invoking the
// template's function in a LocalLambda, against the real broker and the emulator. Executions are
// recorded step by step, with the largest state payload each one passed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement, type Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cdkDynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { prebuiltHandlerFolder } from '../../lib/handler-bundle.js';
import { KafkaBatchPuller, KafkaSecurityMode } from '../../lib/index.js';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import { type PipelineState, pipelineIdOf } from '../../src/core/pipeline-state.js';
import { functionArnFor, newStack, renderedDefinition } from '../cdk/support.js';
import { brokers, createBucket, createStateTable, createTopic, dynamodb, uniqueName } from './bed.js';
import { type FunctionSettings, LocalLambda } from './local-lambda.js';

/** Step Functions' limit on a state's input or output: 256 KiB of UTF-8 JSON. */
export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** The props of the pipeline under test (the construct's defaults otherwise). */
export interface ShardedPipelineProps {
  readonly topic: string;
  readonly bucket: string;
  readonly table: string;
  readonly shards: number;
  readonly batchInterval?: Duration;
  readonly timeout?: Duration;
  readonly pollInterval?: Duration;
  readonly memorySize?: number;
}

/** What the synthesized stack says about the state machine and its function. */
export interface SynthesizedPipeline {
  readonly definition: StateMachineDefinition;
  readonly function: FunctionSettings;
}

/** Synthesizes a stack with one sharded pipeline on an existing bucket and state table. */
export function synthesizePipeline(props: ShardedPipelineProps): SynthesizedPipeline {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: brokers(),
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    bucket: s3.Bucket.fromBucketName(stack, 'Bucket', props.bucket),
    stateTable: cdkDynamodb.Table.fromTableName(stack, 'StateTable', props.table),
  });
  const { bucket: _bucket, table: _table, ...options } = props;
  const pipeline = puller.addPipeline('Pipeline', { ...options, glueTable: false });
  const template = Template.fromStack(stack);
  const logicalId = Stack.of(pipeline).getLogicalId(pipeline.lambdaFunction.node.defaultChild as CfnElement);
  const resource = template.toJSON().Resources[logicalId] as {
    Properties: {
      Handler: string;
      Timeout: number;
      MemorySize: number;
      ReservedConcurrentExecutions?: number;
      Environment: { Variables: Record<string, unknown> };
    };
  };
  const properties = resource.Properties;
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties.Environment.Variables)) {
    if (typeof value !== 'string') throw new Error(`${name} is not a literal in the template: ${value}`);
    environment[name] = value;
  }
  const [module, handlerExport] = properties.Handler.split('.') as [string, string];
  const folder = prebuiltHandlerFolder();
  const handlerFile = ['.mjs', '.js', '.cjs']
    .map((extension) => join(folder, `${module}${extension}`))
    .find((file) => existsSync(file));
  if (!handlerFile) throw new Error(`no ${module}.mjs in ${folder}: build the handler bundle first`);
  return {
    definition: renderedDefinition(template) as StateMachineDefinition,
    function: {
      functionName: logicalId,
      arn: functionArnFor(logicalId),
      handlerFile,
      handlerExport,
      timeoutSeconds: properties.Timeout,
      memorySizeMb: properties.MemorySize,
      reservedConcurrency: properties.ReservedConcurrentExecutions,
      environment,
    },
  };
}

/** One attempt at a task: the event it sent and the answer, or the error type, it got. */
export interface TaskCall {
  /** The task state: Plan, Shard, Finalize or Abandon. */
  readonly state: string;
  readonly input: unknown;
  output?: unknown;
  error?: string;
  /** When the task sent its event, and got its answer, epoch ms. */
  readonly startedAtMs: number;
  endedAtMs?: number;
}

/** One execution, as it ended. */
export interface ExecutionRecord {
  readonly name: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  /** Why it failed (the Fail state's error and cause). */
  readonly error?: { readonly error: string; readonly cause: string };
  /** Every task attempt, in the order they started. */
  readonly calls: readonly TaskCall[];
  /** The largest input or output of any state or task, bytes of JSON. */
  readonly largestPayloadBytes: number;
}

/** The answers the tasks of `state` got, in order. */
export function answersOf<T>(execution: ExecutionRecord, state: string): T[] {
  return execution.calls.filter((c) => c.state === state && c.error === undefined).map((c) => c.output as T);
}

/** Every Task state of `definition`, Map iterations' included: state name → resource. */
function taskStates(definition: Pick<StateMachineDefinition, 'States'>): Map<string, string> {
  const tasks = new Map<string, string>();
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') tasks.set(name, state.Resource);
    if (state.Type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) for (const [inner, resource] of taskStates(processor)) tasks.set(inner, resource);
    }
  }
  return tasks;
}

/** Bytes of `value` as JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** What runs a task: the function behind a resource, or a stand-in. */
export type TaskRunner = (input: unknown, caller: string, resource: string) => Promise<unknown>;

/** Runs `definition` once, each task through `runTask`; records what happened. */
export async function executeDefinition(
  definition: StateMachineDefinition,
  runTask: TaskRunner,
  name = uniqueName('exec'),
): Promise<ExecutionRecord> {
  if (Number(process.versions.node.split('.')[0]) < 22) {
    throw new Error(
      `aws-local-stepfunctions needs Node 22 or later, not ${process.version}: run npm run test:state-machine`,
    );
  }
  const machine = new StateMachine(definition);
  const calls: TaskCall[] = [];
  let largest = 0;
  const note = (value: unknown) => {
    largest = Math.max(largest, jsonBytes(value));
  };
  const handlers = Object.fromEntries(
    [...taskStates(definition)].map(([state, resource]) => [
      state,
      async (input: unknown) => {
        const call: TaskCall = { state, input, startedAtMs: Date.now() };
        calls.push(call);
        note(input);
        try {
          call.output = await runTask(input, `${name}/${state}`, resource);
          note(call.output);
          return call.output;
        } catch (error) {
          call.error = (error as Error).name;
          throw error;
        } finally {
          call.endedAtMs = Date.now();
        }
      },
    ]),
  ) as Record<string, (input: unknown) => Promise<never>>;
  const execution = machine.run(
    {},
    {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Name: name, Id: `arn:aws:states:us-east-1:123456789012:execution:sm:${name}` },
      },
    },
  );
  const logged = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') note(event.state.input);
      if (event.type === 'StateExited') note(event.state.output);
    }
  })();
  let status: ExecutionRecord['status'] = 'SUCCEEDED';
  let error: ExecutionRecord['error'];
  try {
    await execution.result;
  } catch (failure) {
    if (failure instanceof ExecutionTimeoutError) status = 'TIMED_OUT';
    else if (failure instanceof ExecutionError) {
      const cause = failure.cause as Error;
      status = 'FAILED';
      error = { error: cause.name, cause: cause.message };
    } else throw failure;
  }
  await logged;
  return { name, status, ...(error ? { error } : {}), calls, largestPayloadBytes: largest };
}

/** A pipeline under test: its topic, bucket and table, its synthesized stack, and its function. */
export class ShardedPipeline {
  private constructor(
    readonly topic: string,
    readonly bucket: string,
    readonly table: string,
    readonly synthesized: SynthesizedPipeline,
    readonly lambda: LocalLambda,
  ) {}

  /** A new topic of `partitions` partitions, bucket and table, and the stack over them. */
  static async create(
    options: Omit<ShardedPipelineProps, 'topic' | 'bucket' | 'table'> & { partitions: number },
  ): Promise<ShardedPipeline> {
    const { partitions, ...props } = options;
    // Records stamped days ago stay: retention must not delete them.
    const topic = await createTopic(partitions, uniqueName('t'), { 'retention.ms': '-1' });
    const bucket = await createBucket();
    const table = await createStateTable();
    const synthesized = synthesizePipeline({ ...props, topic, bucket, table });
    const endpoint = process.env.AWS_ENDPOINT_URL;
    if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: the global setup did not run');
    const lambda = new LocalLambda(synthesized.function, endpoint, {
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
      TZ: ':UTC',
    });
    return new ShardedPipeline(topic, bucket, table, synthesized, lambda);
  }

  /** Runs one execution. */
  execute(name?: string): Promise<ExecutionRecord> {
    return executeDefinition(
      this.synthesized.definition,
      (input, caller, resource) => {
        if (resource !== this.lambda.settings.arn) throw new Error(`no function ${resource} in the stack`);
        return this.lambda.invoke(input, caller);
      },
      name,
    );
  }

  /**
   * Runs executions one after another until one plans no window because the pipeline is caught up (at
   * most `limit`), as the schedule would.
   */
  async executeUntilCaughtUp(limit = 4): Promise<ExecutionRecord[]> {
    const executions: ExecutionRecord[] = [];
    while (executions.length < limit) {
      const execution = await this.execute();
      executions.push(execution);
      const plans = answersOf<{ kind: string; outcome?: string }>(execution, 'Plan');
      if (plans.at(-1)?.outcome === 'caught-up') break;
    }
    // An invocation whose answer was lost may still be running.
    await this.lambda.settled();
    return executions;
  }

  /** The pipeline's state item as stored now. */
  async storedState(): Promise<PipelineState | undefined> {
    const { KAFKA_GROUP_ID: groupId, KAFKA_TOPIC: topic } = this.synthesized.function.environment;
    const store = new DynamoDbStateStore(dynamodb, this.table);
    return (await store.load(pipelineIdOf(groupId as string, topic as string)))?.state;
  }

  async close(): Promise<void> {
    await this.lambda.close();
  }
}
