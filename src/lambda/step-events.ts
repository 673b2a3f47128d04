// The events the shard state machine sends the handler, checked before any state is touched: a step
// that gets a malformed event fails at once with the field named, never half-runs.
import { z } from 'zod';
import { MAX_SHARDS } from '../config.js';
import type { ShardResult, ShardTask, WindowPlan } from '../engine/step-types.js';
import { FailureKind, PullerError } from '../errors.js';
import { StepName, TRANSIENT_STEP_ERROR } from './step-names.js';

/** Plans the next window. The deadline is given, or computed from the execution's start and budget. */
export interface PlanEvent {
  readonly step: typeof StepName.PLAN;
  readonly attemptId: string;
  /** The execution's deadline, epoch ms. */
  readonly deadlineMs: number;
}

/** Builds one shard's share of the planned window. */
export interface ShardEvent {
  readonly step: typeof StepName.SHARD;
  readonly task: ShardTask;
  readonly deadlineMs: number;
}

/** Finalizes the planned window from its shards' results. */
export interface FinalizeEvent {
  readonly step: typeof StepName.FINALIZE;
  readonly plan: WindowPlan;
  readonly results: readonly ShardResult[];
  readonly deadlineMs: number;
}

/** Releases the lease `attemptId` may hold: a failed execution's cleanup. */
export interface AbandonEvent {
  readonly step: typeof StepName.ABANDON;
  readonly attemptId: string;
}

/** An event of the shard state machine, checked. */
export type StepEvent = PlanEvent | ShardEvent | FinalizeEvent | AbandonEvent;

/** The event of a step is malformed: a bug in the state machine or a hand-made invocation. */
export class StepEventError extends PullerError {
  /** Every problem found, each naming its field. */
  readonly problems: readonly string[];

  constructor(step: unknown, problems: readonly string[]) {
    super(`invalid ${typeof step === 'string' ? `'${step}' ` : ''}step event: ${problems.join('; ')}`);
    this.name = 'StepEventError';
    this.problems = problems;
  }
}

/**
 * A step failed for a reason that may pass (a busy broker, throttling, a lost race): its name is the
 * error type the state machine retries the step on. The original error is its `cause`.
 */
export class TransientStepError extends PullerError {
  constructor(step: StepName, cause: unknown) {
    super(
      `the ${step} step failed, and may succeed if retried: ${(cause as Error)?.message ?? String(cause)}`,
      { cause, kind: FailureKind.TRANSIENT },
    );
    this.name = TRANSIENT_STEP_ERROR;
  }
}

const epochMs = z.number().int().nonnegative();
const attemptId = z.string().trim().min(1).max(256);
const count = z.number().int().nonnegative();

const shardTask = z
  .object({
    attemptId,
    shard: z
      .number()
      .int()
      .min(0)
      .max(MAX_SHARDS - 1),
    shards: z.number().int().min(1).max(MAX_SHARDS),
    windowStartMs: epochMs,
    windowEndMs: epochMs,
    partitions: z.array(z.number().int().nonnegative()),
  })
  .refine((task) => task.shard < task.shards, { path: ['shard'], message: 'must be below shards' })
  .refine((task) => task.windowEndMs > task.windowStartMs, {
    path: ['windowEndMs'],
    message: 'must be after windowStartMs',
  });

// Results and plans come from the engine and go back to it: fields this version does not know are kept.
const windowPlan = z
  .looseObject({
    kind: z.literal('window'),
    attemptId,
    windowStartMs: epochMs,
    windowEndMs: epochMs,
    tasks: z.array(shardTask).min(1),
  })
  .refine((plan) => plan.tasks.every((task) => task.attemptId === plan.attemptId), {
    path: ['tasks'],
    message: "must all belong to the plan's attemptId",
  });

const shardResult = z.looseObject({
  shard: z.number().int().min(0),
  stopped: z.enum(['deadline', 'aborted']).nullable(),
  partitions: count,
  partitionsDone: count,
  records: count,
  ends: z
    .array(z.looseObject({ endingTimestampMs: z.number().int().nullable(), caughtUp: z.boolean() }))
    .max(2),
});

const planEvent = z
  .object({
    step: z.literal(StepName.PLAN),
    attemptId,
    deadlineMs: epochMs.optional(),
    /** `$$.Execution.StartTime`: ISO-8601 with milliseconds. */
    executionStartTime: z.iso.datetime({ offset: true }).optional(),
    budgetMs: z.number().int().positive().optional(),
  })
  .superRefine((event, ctx) => {
    const computed = event.executionStartTime !== undefined || event.budgetMs !== undefined;
    if (event.deadlineMs === undefined && !(event.executionStartTime && event.budgetMs)) {
      ctx.addIssue({
        code: 'custom',
        path: computed ? [event.executionStartTime ? 'budgetMs' : 'executionStartTime'] : ['deadlineMs'],
        message: computed
          ? 'executionStartTime and budgetMs are needed together'
          : 'is required (or executionStartTime with budgetMs)',
      });
    }
    if (event.deadlineMs !== undefined && computed) {
      ctx.addIssue({
        code: 'custom',
        path: ['deadlineMs'],
        message: 'must not be given with executionStartTime and budgetMs',
      });
    }
  })
  .transform(
    (event): PlanEvent => ({
      step: event.step,
      attemptId: event.attemptId,
      deadlineMs:
        event.deadlineMs ?? Date.parse(event.executionStartTime as string) + (event.budgetMs as number),
    }),
  );

const stepEvent = z.discriminatedUnion('step', [
  planEvent,
  z.object({ step: z.literal(StepName.SHARD), task: shardTask, deadlineMs: epochMs }),
  z
    .object({
      step: z.literal(StepName.FINALIZE),
      plan: windowPlan,
      results: z.array(shardResult),
      deadlineMs: epochMs,
    })
    .refine((event) => event.results.length === event.plan.tasks.length, {
      path: ['results'],
      message: 'must hold one result per task of the plan',
    }),
  z.object({ step: z.literal(StepName.ABANDON), attemptId }),
]);

/** An event with a `step`, unchecked. */
export interface RawStepEvent {
  readonly step: unknown;
  readonly [field: string]: unknown;
}

/** Whether `event` comes from the state machine (it has a `step`), rather than from the schedule. */
export function isStepEvent(event: unknown): event is RawStepEvent {
  return typeof event === 'object' && event !== null && 'step' in event;
}

/**
 * The checked step event.
 * @throws StepEventError naming every malformed field, or the unknown step.
 */
export function parseStepEvent(event: RawStepEvent): StepEvent {
  const steps: readonly unknown[] = Object.values(StepName);
  if (!steps.includes(event.step)) {
    throw new StepEventError(event.step, [
      `step must be one of ${Object.values(StepName).join(', ')}, got ${JSON.stringify(event.step)}`,
    ]);
  }
  const parsed = stepEvent.safeParse(event);
  if (parsed.success) return parsed.data as StepEvent;
  throw new StepEventError(
    event.step,
    parsed.error.issues.map((issue) => `${fieldOf(issue.path) || 'event'}: ${issue.message}`),
  );
}

/** `task.partitions[2]` from zod's path. */
function fieldOf(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (field, key) =>
      typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${String(key)}` : String(key),
    '',
  );
}
