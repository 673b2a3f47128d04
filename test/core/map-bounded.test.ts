// Bounded concurrency: never more calls in flight than the limit, answers in order, first failure wins.
import { describe, expect, it } from 'vitest';
import { mapBounded } from '../../src/core/map-bounded.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('mapBounded', () => {
  it('keeps at most the limit in flight and answers in the order of the items', async () => {
    let inFlight = 0;
    let most = 0;
    const answers = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < n; i++) await tick();
      inFlight--;
      return n * 10;
    });
    expect(answers).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(most).toBe(3);
  });

  it('rejects with the first failure and starts no call after it', async () => {
    const started: number[] = [];
    const mapping = mapBounded([0, 1, 2, 3, 4], 1, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('item 1 failed');
      return n;
    });
    await expect(mapping).rejects.toThrow('item 1 failed');
    expect(started).toEqual([0, 1]);
  });

  it('answers an empty list at once', async () => {
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
  });
});
