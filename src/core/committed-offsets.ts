// Whether the consumer group's committed offsets still mirror the saved state. Pure: no I/O.
// The engine commits the saved offsets right after saving them, so a committed offset is the saved one,
// or, when a run died between the save and the commit, the start of the last window that moved offsets
// (later windows that moved none commit nothing), or, when commits failed run after run (a consumer in
// the group, a missing permission), what the group held when a plan last looked: each plan records it
// while it is behind the saved offsets. Anything else was moved outside the puller: an operator's reset
// puts the group where the pipeline never was (earliest, latest, a time, a shift).
import type { PipelineState } from './pipeline-state.js';

/** A partition whose committed offset the puller did not write. */
export interface MovedOffset {
  readonly partition: number;
  readonly saved: string;
  readonly committed: string;
}

/**
 * The partitions whose committed offset is none the puller may have left: not the saved one, nor the
 * last moving window's start, nor what the group held at the last plan.
 */
export function movedOffsets(state: PipelineState, committed: ReadonlyMap<number, string>): MovedOffset[] {
  const moved: MovedOffset[] = [];
  const lastStart = state.lastClosedWindow?.startOffsets;
  for (const [partition, offset] of committed) {
    const key = String(partition);
    const saved = state.offsets[key];
    // A partition the pipeline has not read yet has no saved offset to compare with.
    if (saved === undefined || offset === saved || offset === state.committedBehind?.[key]) continue;
    if (lastStart === undefined) {
      // State written before start offsets were recorded: only a commit beyond the saved offset is sure.
      if (BigInt(offset) > BigInt(saved)) moved.push({ partition, saved, committed: offset });
      continue;
    }
    if (offset !== (lastStart[key] ?? offset)) moved.push({ partition, saved, committed: offset });
  }
  return moved.sort((a, b) => a.partition - b.partition);
}

/**
 * What a plan records of the group's committed offsets once it has accepted them: those behind the
 * offsets it saves (see `PipelineState.committedBehind`), or undefined when the group mirrors them.
 */
export function committedBehind(
  saving: Readonly<Record<string, string>>,
  committed: ReadonlyMap<number, string>,
): Record<string, string> | undefined {
  const behind: Record<string, string> = {};
  for (const [partition, offset] of committed) {
    const saved = saving[String(partition)];
    if (saved !== undefined && offset !== saved) behind[String(partition)] = offset;
  }
  return Object.keys(behind).length > 0 ? behind : undefined;
}
