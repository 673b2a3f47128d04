// When a step must stop, and how long it may wait for records, from its deadline and the wall clock.
import { RunOutcome } from './run-types.js';
import type { StepContext } from './step-types.js';

/** Why a step stops before its work is done. */
export type StopReason = typeof RunOutcome.DEADLINE | typeof RunOutcome.ABORTED;

/** The deadline arithmetic every step shares. */
export class StepClock {
  readonly now: () => number;

  constructor(private readonly ctx: StepContext) {
    this.now = ctx.now ?? Date.now;
  }

  /** When new work stops: a safety margin before the deadline. */
  get workEndsAtMs(): number {
    return this.ctx.deadlineMs - this.ctx.config.safetyMarginMs;
  }

  /**
   * Whether a window ending at `windowEndMs` is ready for this step: it has ended on the wall clock, and
   * even a quiet partition's share, whose clock may trail the wall clock by the allowed lateness, ends
   * before new work stops. A step plans no window it could only wait for: it would pay for idle time
   * the next scheduled run does not need.
   */
  canClose(windowEndMs: number): boolean {
    return windowEndMs <= this.now() && windowEndMs + this.ctx.config.allowedLatenessMs <= this.workEndsAtMs;
  }

  /** A poll's wait: the poll interval, but never past the point where the step must stop. */
  pollWaitMs(): number {
    return Math.max(0, Math.min(this.ctx.config.pollIntervalMs, this.workEndsAtMs - this.now()));
  }

  /** Why the step must stop now, if it must. */
  stopReason(): StopReason | undefined {
    if (this.ctx.signal?.aborted) return RunOutcome.ABORTED;
    if (this.now() >= this.workEndsAtMs) return RunOutcome.DEADLINE;
    return undefined;
  }
}
