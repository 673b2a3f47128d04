// Where each partition's reading starts in a run. Pure: bounds and saved offsets come in as data.
import type { StartPosition } from '../config.js';
import type { PartitionBounds } from '../ports.js';

/** A saved offset that retention has already deleted past: the records in between are gone. */
export interface RetentionGap {
  readonly partition: number;
  readonly savedOffset: string;
  readonly lowWatermark: string;
}

/** Start offsets for every partition, and the gaps found. */
export interface StartPositions {
  readonly offsets: Record<string, string>;
  readonly gaps: RetentionGap[];
}

/**
 * Every partition's next offset: the saved one when there is one; for a new pipeline, its start
 * position; for a partition added to the topic later, its first offset (all its records are new). A
 * saved offset retention has deleted past is raised to the first stored offset, with the gap noted,
 * except for the partitions of `pendingPartitions`: a pending window reads those from where its shares
 * resume, not from the saved offsets, and its close replaces them (the plan checks retention there).
 */
export function resolveStartPositions(
  saved: Readonly<Record<string, string>>,
  isNewPipeline: boolean,
  bounds: readonly PartitionBounds[],
  start: StartPosition,
  offsetsAtTime: ReadonlyMap<number, string> | undefined,
  pendingPartitions: ReadonlySet<number> = new Set(),
): StartPositions {
  const offsets: Record<string, string> = {};
  const gaps: RetentionGap[] = [];
  for (const { partition, low, high } of bounds) {
    const savedOffset = saved[String(partition)];
    if (savedOffset !== undefined) {
      if (BigInt(savedOffset) < BigInt(low) && !pendingPartitions.has(partition)) {
        gaps.push({ partition, savedOffset, lowWatermark: low });
        offsets[String(partition)] = low;
      } else {
        offsets[String(partition)] = savedOffset;
      }
    } else if (!isNewPipeline || start.kind === 'earliest') {
      offsets[String(partition)] = low;
    } else if (start.kind === 'latest') {
      offsets[String(partition)] = high;
    } else {
      offsets[String(partition)] = offsetsAtTime?.get(partition) ?? high;
    }
  }
  return { offsets, gaps };
}
