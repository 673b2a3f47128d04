// The names the state machine and the handler share: the `step` of each event, and the error type the
// handler gives a step failure that running the step again may cure.

/** The `step` of an event from the shard state machine; an event without one is a scheduled whole run. */
export const StepName = {
  PLAN: 'plan',
  SHARD: 'shard',
  FINALIZE: 'finalize',
  ABANDON: 'abandon',
} as const;
/** The `step` of an event from the shard state machine. */
export type StepName = (typeof StepName)[keyof typeof StepName];

/**
 * The Lambda error type (the error's `name`) of a step that failed for a reason that may pass (a busy
 * broker, throttling, a lost race): the state machine retries the step on it.
 */
export const TRANSIENT_STEP_ERROR = 'TransientStepError';
