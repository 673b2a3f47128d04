// The CLI's stand-in for the EventBridge schedule: one run per batch interval, at the interval's
// multiples since the epoch (where windows end), each run's deadline the next tick. Pure: no clock.

/** The first multiple of `intervalMs` strictly after `nowMs`. */
export function nextTickAfter(nowMs: number, intervalMs: number): number {
  return (Math.floor(nowMs / intervalMs) + 1) * intervalMs;
}

/**
 * The deadline of a run starting at `nowMs`: the next tick, or the one after it when fewer than
 * `minimumRunMs` remain (a run started just before a tick would stop at once, having done nothing).
 * The next run starts at this deadline, so runs never overlap.
 */
export function runDeadline(nowMs: number, intervalMs: number, minimumRunMs: number): number {
  const tick = nextTickAfter(nowMs, intervalMs);
  return tick - nowMs < minimumRunMs ? tick + intervalMs : tick;
}
