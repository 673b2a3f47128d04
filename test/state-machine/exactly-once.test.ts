// The state machine the construct synthesizes, executed (aws-local-stepfunctions) with its Lambda tasks
// invoking the handler bundle in local Lambda sandboxes (the function's timeout, memory and reserved
// concurrency), against the real broker and the emulator: when a step's answer is lost, a step fails,
// runs out of time or memory, or two executions overlap, every record still lands exactly once across
// the executions that follow, and the executions end as they should.
import { Duration } from 'aws-cdk-lib';
import { afterEach, describe, expect, it } from 'vitest';
import type { FinalizeResult, PlanResult, WindowPlan } from '../../src/engine/step-types.js';
import { produce, storedOffsets, type TestRecord } from '../support/bed.js';
import { Fault, type InvocationRequest, LambdaError } from '../support/local-lambda.js';
import { expectExactlyOnce } from '../support/shard-bed.js';
import {
  answersOf,
  type ExecutionRecord,
  ShardedPipeline,
  STATE_PAYLOAD_LIMIT_BYTES,
} from '../support/state-machine-bed.js';

const DAY = 86_400_000;
/** Step Functions' error when a task's TimeoutSeconds passes. */
const STATES_TIMEOUT = 'States.Timeout';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stepOf = (request: InvocationRequest) => (request.event as { step?: string }).step;
const shardOf = (request: InvocationRequest) => (request.event as { task?: { shard?: number } }).task?.shard;

/** Faults the first request `pick` accepts with `fault`, and no other. */
function once(pick: (request: InvocationRequest) => boolean, fault: Fault) {
  let done = false;
  return (request: InvocationRequest): Fault | undefined => {
    if (done || !pick(request)) return undefined;
    done = true;
    return fault;
  };
}

/**
 * A pipeline of 4 partitions and 2 shards on day-long windows, with a 30 s budget (the function's
 * timeout), and a backlog in the windows of two days ago and yesterday on every partition. Windows a
 * day long keep the wall clock's phase out of the tests: the open window (today) ends at midnight UTC,
 * which no execution here gets near (a test that starts within minutes of it waits for it to pass).
 */
async function pipelineWithBacklog(): Promise<ShardedPipeline> {
  const toMidnight = DAY - (Date.now() % DAY);
  if (toMidnight < 5 * 60_000) await sleep(toMidnight + 1000);
  const pipeline = await ShardedPipeline.create({
    partitions: 4,
    shards: 2,
    batchInterval: Duration.days(1),
    timeout: Duration.seconds(30),
    pollInterval: Duration.seconds(1),
  });
  const today = Math.floor(Date.now() / DAY) * DAY;
  const records: TestRecord[] = [];
  for (let partition = 0; partition < 4; partition++) {
    records.push(
      { partition, timestamp: today - 2 * DAY + 1000 + partition },
      { partition, timestamp: today - 2 * DAY + 60_000 + partition },
      { partition, timestamp: today - DAY + 1000 + partition },
    );
  }
  await produce(pipeline.topic, records);
  return pipeline;
}

/**
 * Checks that the bucket holds every record of the topic exactly once, and that no execution passed a
 * state payload over Step Functions' limit; prints what the executions did.
 */
async function expectLandedOnce(pipeline: ShardedPipeline, executions: readonly ExecutionRecord[]) {
  const manifests = await expectExactlyOnce(pipeline.bucket, pipeline.topic);
  const landed = manifests.reduce((sum, manifest) => sum + manifest.totals.records, 0);
  const produced = (await storedOffsets(pipeline.topic)).length;
  expect(landed).toBe(produced);
  for (const execution of executions) {
    expect(execution.largestPayloadBytes, execution.name).toBeLessThan(STATE_PAYLOAD_LIMIT_BYTES);
  }
  console.log(
    `executions: ${executions.map((e) => `${e.status}${e.error ? ` (${e.error.error})` : ''}`).join(', ')}; ` +
      `records landed ${landed} of ${produced}; invocations ${pipeline.lambda.invocations.length}, ` +
      `throttled ${pipeline.lambda.throttled.length}; largest state ${Math.max(...executions.map((e) => e.largestPayloadBytes))} bytes`,
  );
}

describe('the synthesized state machine, executed', () => {
  let pipeline: ShardedPipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('lands a backlog exactly once through plan, the shards and finalize, and releases the lease', async () => {
    pipeline = await pipelineWithBacklog();

    const executions = await pipeline.executeUntilCaughtUp();

    expect(executions.map((e) => e.status)).toEqual(executions.map(() => 'SUCCEEDED'));
    expect(executions.flatMap((e) => answersOf<FinalizeResult>(e, 'Finalize')).length).toBeGreaterThan(0);
    const shardEvents = executions.flatMap((e) => e.calls.filter((c) => c.state === 'Shard'));
    expect(new Set(shardEvents.map((c) => (c.input as { task: { shard: number } }).task.shard))).toEqual(
      new Set([0, 1]),
    );
    expect((await pipeline.storedState())?.lease).toBeNull();
    await expectLandedOnce(pipeline, executions);
  });

  it('retries a plan whose answer was lost after it ran, and lands every record once', async () => {
    pipeline = await pipelineWithBacklog();
    pipeline.lambda.faults = once((r) => stepOf(r) === 'plan', Fault.ANSWER_LOST);

    const executions = await pipeline.executeUntilCaughtUp();

    const [faulted] = executions as [ExecutionRecord];
    expect(faulted.status).toBe('SUCCEEDED');
    const plans = faulted.calls.filter((c) => c.state === 'Plan');
    expect(plans[0]?.error).toBe(LambdaError.SERVICE);
    const retried = plans[1]?.output as WindowPlan;
    expect(retried.kind).toBe('window');
    // The lost answer had planned the same window, under the same lease.
    const lost = pipeline.lambda.invocations.find((i) => i.fault === Fault.ANSWER_LOST);
    expect(lost?.outcome).toMatchObject({
      ok: true,
      value: { kind: 'window', windowStartMs: retried.windowStartMs, attemptId: faulted.name },
    });
    await expectLandedOnce(pipeline, executions);
  });

  it('lands every record once when a shard’s answer is lost while it runs on beside its retry', async () => {
    pipeline = await pipelineWithBacklog();
    pipeline.lambda.faults = once(
      (r) => stepOf(r) === 'shard' && shardOf(r) === 0,
      Fault.ANSWER_LOST_WHILE_RUNNING,
    );

    const executions = await pipeline.executeUntilCaughtUp();

    const [faulted] = executions as [ExecutionRecord];
    expect(faulted.status).toBe('SUCCEEDED');
    const invocations = pipeline.lambda.invocations;
    const held = invocations.find((i) => i.fault === Fault.ANSWER_LOST_WHILE_RUNNING);
    const retry = invocations.find(
      (i) => i !== held && JSON.stringify(i.event) === JSON.stringify(held?.event),
    );
    expect(held?.answered).toMatchObject({ ok: false, errorType: LambdaError.SDK_CLIENT });
    // Both built the shard at the same time. The retry got to the end; the held one did too, or, when the
    // retry and Finalize closed the window before it finished, was refused as superseded, changing nothing.
    expect(retry?.outcome?.ok).toBe(true);
    const heldOutcome = held?.outcome;
    expect(heldOutcome?.ok ? 'ok' : heldOutcome?.errorType, JSON.stringify(heldOutcome)).toMatch(
      /^(ok|AttemptSupersededError)$/,
    );
    expect(held?.handlerStartedAtMs).toBeLessThan(retry?.endedAtMs ?? 0);
    expect(retry?.handlerStartedAtMs).toBeLessThan(held?.endedAtMs ?? 0);
    await expectLandedOnce(pipeline, executions);
  });

  it('retries a shard that failed transiently (the broker out of reach), and lands every record once', async () => {
    pipeline = await pipelineWithBacklog();
    pipeline.lambda.faults = once((r) => stepOf(r) === 'shard' && shardOf(r) === 1, Fault.BROKER_UNREACHABLE);

    const executions = await pipeline.executeUntilCaughtUp();

    const [faulted] = executions as [ExecutionRecord];
    expect(faulted.status).toBe('SUCCEEDED');
    const failed = pipeline.lambda.invocations.find((i) => i.fault === Fault.BROKER_UNREACHABLE);
    expect(failed?.outcome).toMatchObject({ ok: false, errorType: 'TransientStepError' });
    const shard1 = faulted.calls.filter(
      (c) => c.state === 'Shard' && (c.input as { task: { shard: number } }).task.shard === 1,
    );
    expect(shard1.map((c) => c.error)).toEqual([
      'TransientStepError',
      ...shard1.slice(1).map(() => undefined),
    ]);
    await expectLandedOnce(pipeline, executions);
  });

  it('retries a shard that ran out of time after recording some of its work, and lands every record once', async () => {
    pipeline = await pipelineWithBacklog();
    pipeline.lambda.faults = once(
      (r) => stepOf(r) === 'shard' && shardOf(r) === 0,
      Fault.HANG_AFTER_FIRST_STATE_WRITE,
    );

    const executions = await pipeline.executeUntilCaughtUp();
    const [faulted] = executions as [ExecutionRecord];
    // The task times out with the function; its retry finds the deadline passed, and the window waits
    // for the next execution (or closes, when the shard had written all it had before it hung).
    expect(faulted.status).toBe('SUCCEEDED');
    const shard0 = faulted.calls.filter(
      (c) => c.state === 'Shard' && (c.input as { task: { shard: number } }).task.shard === 0,
    );
    expect([STATES_TIMEOUT, LambdaError.TIMED_OUT]).toContain(shard0[0]?.error);
    expect(shard0.length).toBeGreaterThan(1);
    const hung = pipeline.lambda.invocations.find((i) => i.fault === Fault.HANG_AFTER_FIRST_STATE_WRITE);
    expect(hung?.outcome).toMatchObject({ ok: false, errorType: LambdaError.TIMED_OUT });
    await expectLandedOnce(pipeline, executions);
  });

  it('retries a shard that ran out of memory after recording some of its work, and lands every record once', async () => {
    pipeline = await pipelineWithBacklog();
    pipeline.lambda.faults = once(
      (r) => stepOf(r) === 'shard' && shardOf(r) === 0,
      Fault.OUT_OF_MEMORY_AFTER_FIRST_STATE_WRITE,
    );

    const executions = await pipeline.executeUntilCaughtUp();

    const [faulted] = executions as [ExecutionRecord];
    expect(faulted.status).toBe('SUCCEEDED');
    const shard0 = faulted.calls.filter(
      (c) => c.state === 'Shard' && (c.input as { task: { shard: number } }).task.shard === 0,
    );
    expect(shard0[0]?.error).toBe(LambdaError.OUT_OF_MEMORY);
    expect(shard0.at(-1)?.error).toBeUndefined();
    await expectLandedOnce(pipeline, executions);
  });

  it('succeeds when finalize’s answer is lost after it closed the window, and lands every record once', async () => {
    pipeline = await pipelineWithBacklog();
    pipeline.lambda.faults = once((r) => stepOf(r) === 'finalize', Fault.ANSWER_LOST);

    const executions = await pipeline.executeUntilCaughtUp();

    const [faulted] = executions as [ExecutionRecord];
    const lost = pipeline.lambda.invocations.find((i) => i.fault === Fault.ANSWER_LOST);
    expect(lost?.outcome).toMatchObject({ ok: true, value: { outcome: 'closed' } });
    expect(faulted.calls.find((c) => c.state === 'Finalize')?.error).toBe(LambdaError.SERVICE);
    // The retried finalize must see that its own attempt closed the window, not fail the execution.
    expect.soft(faulted.error).toBeUndefined();
    expect.soft(faulted.status).toBe('SUCCEEDED');
    await expectLandedOnce(pipeline, executions);
  });

  it('throttles an invocation beyond the reserved concurrency, and its step retries until a sandbox frees', async () => {
    pipeline = await pipelineWithBacklog();
    const lambda = pipeline.lambda;
    // Shard 0's answer is lost while it runs on: with its retry and shard 1, the reserved concurrency
    // (shards + 1 = 3) is in use when the next execution's plan arrives.
    lambda.faults = once((r) => stepOf(r) === 'shard' && shardOf(r) === 0, Fault.ANSWER_LOST_WHILE_RUNNING);
    const secondName = 'exec-second';
    const secondPlanned = lambda.nextRequest((r) => r.caller.startsWith(secondName));
    lambda.beforeRun = async (invocation) => {
      if (stepOf(invocation) === 'shard') await secondPlanned;
    };
    let shardRequests = 0;
    const allBusy = lambda.nextRequest((r) => stepOf(r) === 'shard' && ++shardRequests === 3);

    const first = pipeline.execute();
    await allBusy;
    const second = await pipeline.execute(secondName);
    const firstDone = await first;
    const rest = await pipeline.executeUntilCaughtUp();

    expect(lambda.throttled.map((r) => r.caller)).toContain(`${secondName}/Plan`);
    expect(second.calls[0]).toMatchObject({ state: 'Plan', error: LambdaError.TOO_MANY_REQUESTS });
    expect(second.status).toBe('SUCCEEDED');
    expect(firstDone.status).toBe('SUCCEEDED');
    await expectLandedOnce(pipeline, [firstDone, second, ...rest]);
  });

  it('lets one of two overlapping executions work: the other meets the lease and stops', async () => {
    pipeline = await pipelineWithBacklog();
    const lambda = pipeline.lambda;
    // The first execution's shards wait until the second execution's plan has answered.
    let secondPlanned!: () => void;
    const planned = new Promise<void>((resolve) => {
      secondPlanned = resolve;
    });
    lambda.beforeRun = async (invocation) => {
      if (stepOf(invocation) === 'shard') await planned;
    };
    const shardRequested = lambda.nextRequest((r) => stepOf(r) === 'shard');

    const first = pipeline.execute();
    await shardRequested;
    const second = await pipeline.execute();
    secondPlanned();
    const firstDone = await first;
    const rest = await pipeline.executeUntilCaughtUp();

    expect(second.status).toBe('SUCCEEDED');
    expect(answersOf<PlanResult>(second, 'Plan')).toEqual([
      expect.objectContaining({ kind: 'stop', outcome: 'lease-held', leaseHolder: firstDone.name }),
    ]);
    expect(second.calls.map((c) => c.state)).toEqual(['Plan']);
    expect(firstDone.status).toBe('SUCCEEDED');
    // Reserved concurrency (shards + 1) fits one execution's shards and the next one's plan.
    expect(lambda.throttled).toEqual([]);
    await expectLandedOnce(pipeline, [firstDone, second, ...rest]);
  });
});
