// The events of the shard state machine are checked before a step touches anything: an unknown step or
// a malformed field is an error naming it; the plan's deadline comes from the execution's start.
import { describe, expect, it } from 'vitest';
import type { ShardResult, WindowPlan } from '../src/engine/step-types.js';
import { isStepEvent, parseStepEvent, type RawStepEvent, StepEventError } from '../src/lambda/step-events.js';

const task = {
  attemptId: 'exec-1',
  shard: 1,
  shards: 2,
  windowStartMs: 1_764_300_000_000,
  windowEndMs: 1_764_300_060_000,
  partitions: [1, 3],
};
const plan: WindowPlan = {
  kind: 'window',
  attemptId: 'exec-1',
  windowStartMs: task.windowStartMs,
  windowEndMs: task.windowEndMs,
  tasks: [{ ...task, shard: 0, partitions: [0, 2] }, task],
};
const result = (shard: number): ShardResult => ({
  shard,
  stopped: null,
  partitions: 1,
  partitionsDone: 1,
  records: 7,
  ends: [{ endingTimestampMs: null, caughtUp: true }],
});

function problemsOf(event: RawStepEvent): string[] {
  try {
    parseStepEvent(event);
  } catch (error) {
    expect(error).toBeInstanceOf(StepEventError);
    return [...(error as StepEventError).problems];
  }
  throw new Error('the event was accepted');
}

describe('step events', () => {
  it('tells a step event from a scheduled one by its step field', () => {
    expect(isStepEvent({})).toBe(false);
    expect(isStepEvent(null)).toBe(false);
    expect(isStepEvent({ 'detail-type': 'Scheduled Event' })).toBe(false);
    expect(isStepEvent({ step: 'plan' })).toBe(true);
  });

  it('computes the plan deadline from the execution start time and the budget', () => {
    const event = parseStepEvent({
      step: 'plan',
      attemptId: 'exec-1',
      executionStartTime: '2026-11-28T03:00:00.250Z',
      budgetMs: 60_000,
    });
    expect(event).toEqual({
      step: 'plan',
      attemptId: 'exec-1',
      deadlineMs: Date.parse('2026-11-28T03:00:00.250Z') + 60_000,
    });
    expect(parseStepEvent({ step: 'plan', attemptId: 'a', deadlineMs: 5 })).toEqual({
      step: 'plan',
      attemptId: 'a',
      deadlineMs: 5,
    });
  });

  it('accepts shard, finalize and abandon events, keeping fields of the results it does not know', () => {
    expect(parseStepEvent({ step: 'shard', task, deadlineMs: 9 })).toEqual({
      step: 'shard',
      task,
      deadlineMs: 9,
    });
    const withExtra = { ...result(1), lateRecords: 3 };
    const finalize = parseStepEvent({
      step: 'finalize',
      plan: { ...plan, deadlineMs: 9 },
      results: [result(0), withExtra],
      deadlineMs: 9,
    });
    expect(finalize).toMatchObject({ step: 'finalize', results: [result(0), withExtra], deadlineMs: 9 });
    expect(parseStepEvent({ step: 'abandon', attemptId: 'exec-1' })).toEqual({
      step: 'abandon',
      attemptId: 'exec-1',
    });
  });

  it('names an unknown step', () => {
    expect(problemsOf({ step: 'commit' })).toEqual([
      'step must be one of plan, shard, finalize, abandon, got "commit"',
    ]);
    expect(() => parseStepEvent({ step: 'commit' })).toThrow("invalid 'commit' step event");
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a shard task without partitions',
      { step: 'shard', task: { ...task, partitions: undefined }, deadlineMs: 1 },
      /^task\.partitions: /,
    ],
    [
      'a negative partition',
      { step: 'shard', task: { ...task, partitions: [1, -2] }, deadlineMs: 1 },
      /^task\.partitions\[1\]: /,
    ],
    [
      'a shard beyond the shard count',
      { step: 'shard', task: { ...task, shard: 2 }, deadlineMs: 1 },
      /^task\.shard: must be below shards/,
    ],
    [
      'a window that ends before it starts',
      { step: 'shard', task: { ...task, windowEndMs: task.windowStartMs }, deadlineMs: 1 },
      /^task\.windowEndMs: must be after windowStartMs/,
    ],
    ['a shard event without a deadline', { step: 'shard', task }, /^deadlineMs: /],
    ['a plan without attempt id', { step: 'plan', deadlineMs: 1 }, /^attemptId: /],
    [
      'a plan with neither deadline nor start time',
      { step: 'plan', attemptId: 'a' },
      /^deadlineMs: is required/,
    ],
    [
      'a plan with a start time but no budget',
      { step: 'plan', attemptId: 'a', executionStartTime: '2026-11-28T03:00:00Z' },
      /^budgetMs: /,
    ],
    [
      'a plan with a start time that is no time',
      { step: 'plan', attemptId: 'a', executionStartTime: 'yesterday', budgetMs: 1 },
      /^executionStartTime: /,
    ],
    [
      'a finalize whose plan is a stop',
      { step: 'finalize', plan: { kind: 'stop', outcome: 'caught-up' }, results: [], deadlineMs: 1 },
      /^plan\.kind: /,
    ],
    [
      'a finalize missing a shard result',
      { step: 'finalize', plan, results: [result(0)], deadlineMs: 1 },
      /^results: must hold one result per task/,
    ],
    [
      'a finalize with an ending timestamp that is no number',
      {
        step: 'finalize',
        plan,
        results: [result(0), { ...result(1), ends: [{ endingTimestampMs: 'x', caughtUp: false }] }],
        deadlineMs: 1,
      },
      /^results\[1\]\.ends\[0\]\.endingTimestampMs: /,
    ],
    ['an abandon without attempt id', { step: 'abandon', attemptId: ' ' }, /^attemptId: /],
  ])('names the field of %s', (_name, event, problem) => {
    const problems = problemsOf(event as RawStepEvent);
    expect(
      problems.some((p) => problem.test(p)),
      problems.join(' | '),
    ).toBe(true);
  });
});
