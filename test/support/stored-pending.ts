// What a store holds of a pipeline's pending window: the item's window with every partition's share,
// put together as the steps see it.
import { assemblePending } from '../../src/core/partition-share.js';
import type { PendingBatch } from '../../src/core/pipeline-state.js';
import { readShares } from '../../src/engine/attempt-store.js';
import type { StateStore } from '../../src/ports.js';

/** The pending window of `pipelineId` with its recorded shares, or null when none is pending. */
export async function storedPending(store: StateStore, pipelineId: string): Promise<PendingBatch | null> {
  const pending = (await store.load(pipelineId))?.state.pending;
  if (!pending) return null;
  const partitions = Object.keys(pending.startOffsets).map(Number);
  const shares = await readShares(store, pipelineId, pending, partitions);
  return assemblePending(
    pending,
    [...shares.values()].map((known) => known.share),
  );
}
