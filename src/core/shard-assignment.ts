// Which shard reads which partitions of a window. Pure: no I/O.
//
// Partitions go to shards by the records each must read (its lag), largest first, each to the shard
// with the least work so far (the classic longest-processing-time rule: within 4/3 of the best
// balance). Ties fall to the lower partition and the lower shard, so the same lags give the same plan.

/** One partition's work in a window. */
export interface PartitionWork {
  readonly partition: number;
  /** Records between where reading resumes and where it must end (or the high watermark). */
  readonly records: number;
}

/**
 * Splits `work` among `shards` shards; returns each shard's partitions in ascending order. Shards
 * beyond the number of partitions get none. Every partition goes to exactly one shard, even one with
 * nothing to read: its shard still decides where its share of the window ends.
 */
export function assignPartitions(work: readonly PartitionWork[], shards: number): number[][] {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be a whole number ≥ 1 (got ${shards})`);
  const bins = Array.from({ length: shards }, () => ({ partitions: [] as number[], load: 0 }));
  const ordered = [...work].sort((a, b) => b.records - a.records || a.partition - b.partition);
  for (const { partition, records } of ordered) {
    // Equal work: the shard with fewer partitions, so that idle partitions spread too.
    const best = bins.reduce((a, b) =>
      b.load < a.load || (b.load === a.load && b.partitions.length < a.partitions.length) ? b : a,
    );
    best.partitions.push(partition);
    best.load += Math.max(0, records);
  }
  return bins.map((bin) => bin.partitions.sort((a, b) => a - b));
}
