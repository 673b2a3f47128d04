// Whether the consumer group's committed offsets still mirror the saved state. Pure: no I/O.
// The engine commits the saved offsets right after saving them, so a committed offset is either the
// saved one or, when a run died between the save and the commit, the start of the last window that
// moved offsets (later windows that moved none commit nothing). Anything else was moved outside the
// puller.
import type { PipelineState } from './pipeline-state.js';

/** A partition whose committed offset the puller did not write. */
export interface MovedOffset {
  readonly partition: number;
  readonly saved: string;
  readonly committed: string;
}

/** The partitions whose committed offset is neither the saved one nor the last moving window's start. */
export function movedOffsets(state: PipelineState, committed: ReadonlyMap<number, string>): MovedOffset[] {
  const moved: MovedOffset[] = [];
  const lastStart = state.lastClosedWindow?.startOffsets;
  for (const [partition, offset] of committed) {
    const saved = state.offsets[String(partition)];
    // A partition the pipeline has not read yet has no saved offset to compare with.
    if (saved === undefined || offset === saved) continue;
    if (lastStart === undefined) {
      // State written before start offsets were recorded: only a commit beyond the saved offset is sure.
      if (BigInt(offset) > BigInt(saved)) moved.push({ partition, saved, committed: offset });
      continue;
    }
    if (offset !== (lastStart[String(partition)] ?? offset))
      moved.push({ partition, saved, committed: offset });
  }
  return moved.sort((a, b) => a.partition - b.partition);
}
