// Releasing the lease after a run failed. The write that failed may have been applied (an answer lost
// after the write), so the version this run last knew cannot be trusted: read the item again and
// release it only while this run still holds it, so a failed run never blocks the next one.
import { withoutLease } from '../core/lease.js';
import { StateConflictError } from '../errors.js';
import type { StateStore } from '../ports.js';

/** Attempts at read-then-release when another write slips in between. */
const ATTEMPTS = 3;

/** Clears `runId`'s lease on the stored item, keeping everything else stored. Resolves false when it held none. */
export async function releaseLeaseAfterFailure(
  store: StateStore,
  pipelineId: string,
  runId: string,
  now: () => number,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const stored = await store.load(pipelineId);
    if (stored === undefined || stored.state.lease?.owner !== runId) return false;
    try {
      await store.save(pipelineId, { ...withoutLease(stored.state), updatedAtMs: now() }, stored.version);
      return true;
    } catch (error) {
      if (!(error instanceof StateConflictError) || attempt === ATTEMPTS) throw error;
    }
  }
}
