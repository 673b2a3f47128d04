// The three steps of a window, for callers that run them one at a time (the Lambda under Step
// Functions): plan, build a shard, finalize; and the cleanup of a failed attempt.
import { pipelineIdOf } from '../core/pipeline-state.js';
import { releaseLease } from './release-lease.js';
import type { StepContext } from './step-types.js';

export { buildShard } from './build-shard.js';
export { type Finalized, type FinalizeOptions, finalizeWindow } from './finalize-window.js';
export { planWindow } from './plan-window.js';

/** Releases the lease if `ctx.attemptId` holds it: a failed attempt's cleanup, so the next need not wait. */
export async function abandonAttempt(ctx: StepContext): Promise<void> {
  const { config } = ctx;
  await releaseLease(
    ctx.store,
    pipelineIdOf(config.groupId, config.topic),
    ctx.attemptId,
    ctx.now ?? Date.now,
  );
}
