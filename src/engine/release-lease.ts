// Releasing the lease. Read the item again and release it only while this attempt still holds it: a
// write that failed may have been applied after all (an answer lost after the write), and shards of the
// attempt may have written since, so the version last known cannot be trusted.
import { withoutLease } from '../core/lease.js';
import type { PipelineState } from '../core/pipeline-state.js';
import { StateConflictError } from '../errors.js';
import type { StateStore } from '../ports.js';

/** Attempts at read-then-release when another write slips in between. */
const ATTEMPTS = 3;

/**
 * Clears `runId`'s lease on the stored item, keeping everything else stored. Resolves with the state
 * stored afterwards (undefined for a pipeline with no state).
 */
export async function releaseLease(
  store: StateStore,
  pipelineId: string,
  runId: string,
  now: () => number,
): Promise<PipelineState | undefined> {
  for (let attempt = 1; ; attempt++) {
    const stored = await store.load(pipelineId);
    if (stored === undefined || stored.state.lease?.owner !== runId) return stored?.state;
    const released = { ...withoutLease(stored.state), updatedAtMs: now() };
    try {
      await store.save(pipelineId, released, stored.version);
      return released;
    } catch (error) {
      if (!(error instanceof StateConflictError) || attempt === ATTEMPTS) throw error;
    }
  }
}
