// Which shard reads which partitions: pure rule, no services.
import { describe, expect, it } from 'vitest';
import { assignPartitions, type PartitionWork } from '../../src/core/shard-assignment.js';

const loadOf = (work: readonly PartitionWork[], partitions: readonly number[]) =>
  partitions.reduce((sum, p) => sum + (work.find((w) => w.partition === p)?.records ?? 0), 0);

/** A deterministic spread of lags (no Math.random: a failure must reproduce). */
function lags(count: number, seed: number): PartitionWork[] {
  let x = seed;
  return Array.from({ length: count }, (_, partition) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return { partition, records: x % 10_000 };
  });
}

/** The smallest possible largest load, by trying every assignment (small inputs only). */
function bestMakespan(work: readonly PartitionWork[], shards: number): number {
  let best = Number.POSITIVE_INFINITY;
  const loads = new Array<number>(shards).fill(0);
  const place = (index: number): void => {
    if (index === work.length) {
      best = Math.min(best, Math.max(...loads));
      return;
    }
    for (let shard = 0; shard < shards; shard++) {
      loads[shard] = (loads[shard] ?? 0) + (work[index]?.records ?? 0);
      place(index + 1);
      loads[shard] = (loads[shard] ?? 0) - (work[index]?.records ?? 0);
    }
  };
  place(0);
  return best;
}

describe('assignPartitions', () => {
  it('gives every partition to exactly one shard, each shard in ascending order', () => {
    for (const shards of [1, 2, 3, 7, 16]) {
      const work = lags(12, shards);
      const tasks = assignPartitions(work, shards);
      expect(tasks).toHaveLength(shards);
      expect(tasks.flat().sort((a, b) => a - b)).toEqual(work.map((w) => w.partition));
      for (const task of tasks) expect(task).toEqual([...task].sort((a, b) => a - b));
    }
  });

  it('balances by lag, not by count: a heavy partition gets a shard of its own', () => {
    const work = [
      { partition: 0, records: 10 },
      { partition: 1, records: 10 },
      { partition: 2, records: 1_000 },
      { partition: 3, records: 10 },
    ];
    expect(assignPartitions(work, 2)).toEqual([[2], [0, 1, 3]]);
  });

  it('stays within 4/3 of the best balance (longest processing time first)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const work = lags(8, seed);
      const shards = 3;
      const loads = assignPartitions(work, shards).map((task) => loadOf(work, task));
      expect(Math.max(...loads), `seed ${seed}`).toBeLessThanOrEqual((4 / 3) * bestMakespan(work, shards));
    }
  });

  it('is deterministic: the same lags in any order give the same plan', () => {
    const work = lags(9, 42);
    const shuffled = [...work].reverse();
    expect(assignPartitions(shuffled, 4)).toEqual(assignPartitions(work, 4));
    // Ties (equal lags) fall to the lower partition and the lower shard.
    const even = [0, 1, 2, 3].map((partition) => ({ partition, records: 5 }));
    expect(assignPartitions(even, 2)).toEqual([
      [0, 2],
      [1, 3],
    ]);
  });

  it('spreads idle partitions too, rather than piling them on one shard', () => {
    const idle = [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, records: 0 }));
    expect(assignPartitions(idle, 3).map((task) => task.length)).toEqual([2, 2, 2]);
  });

  it('gives shards beyond the number of partitions nothing', () => {
    const tasks = assignPartitions(
      [
        { partition: 0, records: 3 },
        { partition: 1, records: 7 },
      ],
      5,
    );
    expect(tasks).toEqual([[1], [0], [], [], []]);
  });

  it('refuses a shard count that is not a whole number of at least 1', () => {
    for (const shards of [0, -1, 1.5, Number.NaN]) {
      expect(() => assignPartitions([{ partition: 0, records: 1 }], shards)).toThrow(RangeError);
    }
  });
});
