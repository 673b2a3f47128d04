// The window rule as pure logic: table-driven cases with a fake clock.
import { describe, expect, it } from 'vitest';
import { floorToInterval, Placement, WindowTracker } from '../../src/core/window-rule.js';
import type { SourceRecord } from '../../src/ports.js';

const window = { startMs: 60_000, endMs: 120_000 };
const rule = { allowedLatenessMs: 5_000, futureToleranceMs: 3_600_000 };
const record = (offset: number, timestampMs: number, partition = 0): SourceRecord => ({
  partition,
  offset: String(offset),
  timestampMs,
  key: null,
  value: null,
  headers: [],
});

describe('floorToInterval', () => {
  it.each([
    [0, 60_000, 0],
    [59_999, 60_000, 0],
    [60_000, 60_000, 60_000],
    [-1, 60_000, -60_000],
  ])('floors %i to %i-ms windows as %i', (ms, interval, expected) => {
    expect(floorToInterval(ms, interval)).toBe(expected);
  });
});

describe('WindowTracker.take', () => {
  it.each([
    { name: 'in window', ts: 60_000, placement: Placement.IN_WINDOW },
    { name: 'last ms of the window', ts: 119_999, placement: Placement.IN_WINDOW },
    { name: 'before the window (late)', ts: 1_000, placement: Placement.LATE },
    { name: 'no timestamp', ts: -1, placement: Placement.BAD_TIMESTAMP },
    { name: 'beyond the future tolerance', ts: 200_000 + 3_600_001, placement: Placement.BAD_TIMESTAMP },
  ])('places a record $name as $placement', ({ ts, placement }) => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], rule);
    expect(tracker.take(0, [record(0, ts)], '1', 200_000)).toEqual([{ record: record(0, ts), placement }]);
  });

  it('ends the partition at the first record at or past the end, leaving it and all after it', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '5' }], rule);
    const placed = tracker.take(0, [record(5, 61_000), record(6, 120_000), record(7, 62_000)], '8', 130_000);
    expect(placed.map((p) => p.record.offset)).toEqual(['5']);
    expect(tracker.isDone(0)).toBe(true);
    expect(tracker.nextOffset(0)).toBe('6');
    expect(tracker.take(0, [record(7, 62_000)], '8', 130_000)).toEqual([]);
  });

  it('treats a record past the end as bad when replaying recorded end offsets', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], rule);
    const placed = tracker.take(0, [record(0, 130_000)], '1', 100_000, true);
    expect(placed[0]?.placement).toBe(Placement.BAD_TIMESTAMP);
    expect(tracker.isDone(0)).toBe(false);
  });

  it('skips offsets already taken and moves past control records', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '3' }], rule);
    expect(tracker.take(0, [record(2, 61_000), record(3, 61_000)], '6', 100_000)).toHaveLength(1);
    expect(tracker.nextOffset(0)).toBe('6');
  });
});

describe('WindowTracker idle close', () => {
  it('closes a caught-up partition once its empty polls carry its clock to the end', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], {
      ...rule,
      allowedLatenessMs: 1e9,
    });
    tracker.take(0, [record(0, 100_000)], '1', 100_000);
    tracker.noteEnds(0, '1');
    const polls: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      tracker.noteEmptyPoll(0, 5_000);
      polls.push(tracker.isDone(0));
    }
    // 100 s + 4 polls of 5 s reaches the 120 s end.
    expect(polls).toEqual([false, false, false, true, true]);
  });

  it('does not advance the clock of a partition that is not caught up', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], {
      ...rule,
      allowedLatenessMs: 1e9,
    });
    tracker.noteEnds(0, '10');
    for (let i = 0; i < 100; i++) tracker.noteEmptyPoll(0, 5_000);
    expect(tracker.isDone(0)).toBe(false);
  });

  it('lets the wall clock carry a caught-up partition past a window that ended long ago', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], rule);
    tracker.noteEnds(0, '0');
    tracker.noteWallClock(124_999);
    expect(tracker.isDone(0)).toBe(false);
    tracker.noteWallClock(125_000);
    expect(tracker.isDone(0)).toBe(true);
  });

  it('closes a partition on its own record, and an idle one only when the wall clock passes the end', () => {
    const tracker = new WindowTracker(
      window,
      [0, 1].map((partition) => ({ partition, nextOffset: '0' })),
      rule,
    );
    tracker.take(0, [record(0, 130_000)], '1', 130_000);
    expect([tracker.isDone(0), tracker.isDone(1)]).toEqual([true, false]);
    tracker.noteEnds(1, '0');
    tracker.noteWallClock(200_000);
    expect([tracker.isDone(0), tracker.isDone(1)]).toEqual([true, true]);
    expect(tracker.endOffsets()).toEqual({ '0': '0', '1': '0' });
  });
});

describe('WindowTracker while a transaction is open', () => {
  /** Partition 0 read to its last stable offset 1, a transaction open from there to the high watermark 3. */
  function heldBack(allowedLatenessMs: number): WindowTracker {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], {
      ...rule,
      allowedLatenessMs,
    });
    tracker.take(0, [record(0, 100_000)], '1', 121_000);
    tracker.noteEnds(0, '1', '3');
    return tracker;
  }

  it('keeps the window open through empty polls: the transaction’s records may belong to it', () => {
    const tracker = heldBack(1e9);
    for (let i = 0; i < 100; i++) tracker.noteEmptyPoll(0, 5_000);
    expect([tracker.isReadToStableEnd(0), tracker.isCaughtUp(0), tracker.isDone(0)]).toEqual([
      true,
      false,
      false,
    ]);
    expect(tracker.lag()).toBe(2);
  });

  it('closes the window once the wall clock passes its end by the allowed lateness', () => {
    const tracker = heldBack(30_000);
    tracker.noteWallClock(149_999);
    expect(tracker.isDone(0)).toBe(false);
    tracker.noteWallClock(150_000);
    expect(tracker.isDone(0)).toBe(true);
  });

  it('goes back to idle closing once the transaction is decided', () => {
    const tracker = heldBack(1e9);
    // Committed: the record at 1 is delivered, the marker at 2 stepped over.
    tracker.take(0, [record(1, 101_000)], '3', 121_000);
    tracker.noteEnds(0, '3', '3');
    for (let i = 0; i < 3; i++) tracker.noteEmptyPoll(0, 5_000);
    expect(tracker.isDone(0)).toBe(false);
    tracker.noteEmptyPoll(0, 5_000);
    expect(tracker.isDone(0)).toBe(true);
  });

  it('skips no window on account of a partition whose transaction is open', () => {
    const tracker = new WindowTracker(
      window,
      [0, 1].map((partition) => ({ partition, nextOffset: '0' })),
      rule,
    );
    tracker.take(0, [record(0, 600_500)], '1', 1e9);
    tracker.noteEnds(1, '0', '2');
    tracker.noteWallClock(1e9);
    expect(tracker.isDone(1)).toBe(true);
    expect(tracker.nextWindowStartMs(60_000, 1e9)).toBe(120_000);
  });

  it('takes a high watermark asked before the stable offset moved past it as the stable offset', () => {
    const tracker = heldBack(1e9);
    tracker.noteEnds(0, '5', '4');
    tracker.take(0, [], '4', 121_000);
    expect([tracker.isReadToStableEnd(0), tracker.isCaughtUp(0)]).toEqual([false, false]);
    tracker.take(0, [], '5', 121_000);
    expect([tracker.isReadToStableEnd(0), tracker.isCaughtUp(0)]).toEqual([true, true]);
  });
});

describe('WindowTracker.nextWindowStartMs', () => {
  it('skips to the window of the earliest ending record when every partition ended on one', () => {
    const tracker = new WindowTracker(
      window,
      [0, 1].map((partition) => ({ partition, nextOffset: '0' })),
      rule,
    );
    tracker.take(0, [record(0, 600_500)], '1', 1e9);
    tracker.take(1, [record(0, 900_000, 1)], '1', 1e9);
    expect(tracker.nextWindowStartMs(60_000, 1e9)).toBe(600_000);
  });

  it('does not skip past what the wall clock has not closed', () => {
    const tracker = new WindowTracker(window, [{ partition: 0, nextOffset: '0' }], rule);
    tracker.take(0, [record(0, 600_500)], '1', 400_000);
    expect(tracker.nextWindowStartMs(60_000, 305_000)).toBe(300_000);
  });

  it('does not skip while a partition is neither ended nor read to its end', () => {
    const tracker = new WindowTracker(
      window,
      [0, 1].map((partition) => ({ partition, nextOffset: '0' })),
      rule,
    );
    tracker.take(0, [record(0, 600_500)], '1', 1e9);
    tracker.noteEnds(1, '5');
    expect(tracker.nextWindowStartMs(60_000, 1e9)).toBe(120_000);
  });
});
