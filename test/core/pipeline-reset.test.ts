// What a reset writes: the offsets it moves to, where the next window starts, and the state item after
// it. Pure.
import { describe, expect, it } from 'vitest';
import { movedOffsets } from '../../src/core/committed-offsets.js';
import {
  type ResetTarget,
  recordedIntervalMs,
  resetBoundary,
  resetOffsets,
  resetState,
} from '../../src/core/pipeline-reset.js';
import { newPipelineState, type PipelineState } from '../../src/core/pipeline-state.js';

const MINUTE = 60_000;
const bounds = [
  { partition: 0, low: '10', high: '100' },
  { partition: 1, low: '0', high: '50' },
];
const saved = { '0': '80', '1': '40' };

describe('resetOffsets', () => {
  it.each<[string, ResetTarget, Record<string, string>]>([
    ['earliest', { kind: 'earliest' }, { '0': '10', '1': '0' }],
    ['latest', { kind: 'latest' }, { '0': '100', '1': '50' }],
    [
      'offsets, keeping the partitions not named',
      { kind: 'offsets', offsets: new Map([[0, '20']]) },
      { '0': '20', '1': '40' },
    ],
    [
      'a time, at the end where no record is that late',
      { kind: 'time', timestampMs: 0 },
      { '0': '55', '1': '50' },
    ],
  ])('moves to %s', (_name, target, expected) => {
    expect(resetOffsets(target, bounds, saved, new Map([[0, '55']]))).toEqual({
      offsets: expected,
      problems: [],
    });
  });

  it('names every offset outside the stored ones, and partitions the topic does not have', () => {
    const target: ResetTarget = {
      kind: 'offsets',
      offsets: new Map([
        [0, '5'],
        [1, '51'],
        [7, '1'],
      ]),
    };

    expect(resetOffsets(target, bounds, saved).problems).toEqual([
      'partition 7: the topic has no such partition',
      'partition 0: offset 5 is outside the stored offsets 10 to 100',
      'partition 1: offset 51 is outside the stored offsets 0 to 50',
    ]);
  });
});

describe('resetBoundary', () => {
  const before = 10 * MINUTE;

  it.each<[string, ResetTarget, number | null, number | undefined, number | null]>([
    [
      'a time starts the window holding it',
      { kind: 'time', timestampMs: 3.5 * MINUTE },
      before,
      undefined,
      3 * MINUTE,
    ],
    ['a time may move forward', { kind: 'time', timestampMs: 12 * MINUTE }, before, undefined, 12 * MINUTE],
    ['records brought back start their window', { kind: 'earliest' }, before, 4.2 * MINUTE, 4 * MINUTE],
    ['a move forward keeps the boundary', { kind: 'latest' }, before, 15 * MINUTE, before],
    ['nothing to read keeps the boundary', { kind: 'latest' }, before, undefined, before],
    [
      'a pipeline with no boundary yet takes the first record',
      { kind: 'earliest' },
      null,
      4.2 * MINUTE,
      4 * MINUTE,
    ],
    ['or none', { kind: 'earliest' }, null, undefined, null],
  ])('%s', (_name, target, boundaryBefore, first, expected) => {
    expect(resetBoundary(target, boundaryBefore, MINUTE, first)).toBe(expected);
  });
});

describe('resetState', () => {
  const state: PipelineState = {
    ...newPipelineState('g', 't', 0),
    nextWindowStartMs: 10 * MINUTE,
    offsets: saved,
    pending: { id: 'p1', windowStartMs: 10 * MINUTE, windowEndMs: 11 * MINUTE, startOffsets: saved },
    committedBehind: { '0': '70' },
    lastClosedWindow: {
      startMs: 9 * MINUTE,
      endMs: 10 * MINUTE,
      closedAtMs: 10 * MINUTE,
      manifestKey: 'k',
      records: 3,
      startOffsets: { '0': '70', '1': '30' },
    },
  };
  const change = {
    offsets: { '0': '20', '1': '0' },
    nextWindowStartMs: 3 * MINUTE,
    committed: new Map([
      [0, '80'],
      [1, '40'],
    ]),
    topicIdentity: { clusterId: 'c', topicId: 't2' },
    nowMs: 12 * MINUTE,
  };

  it('moves the offsets and the boundary, clears the pending window and records the new topic', () => {
    expect(resetState(state, change)).toMatchObject({
      offsets: change.offsets,
      nextWindowStartMs: 3 * MINUTE,
      pending: null,
      topicIdentity: change.topicIdentity,
      updatedAtMs: 12 * MINUTE,
    });
  });

  it('accepts the group where it was until the reset commits, and then only the new offsets', () => {
    const before = resetState(state, change);
    const after = resetState(state, {
      ...change,
      committed: new Map([
        [0, '20'],
        [1, '0'],
      ]),
    });

    expect(movedOffsets(before, change.committed)).toEqual([]);
    expect(after.committedBehind).toBeUndefined();
    expect(
      movedOffsets(
        after,
        new Map([
          [0, '20'],
          [1, '0'],
        ]),
      ),
    ).toEqual([]);
    expect(movedOffsets(after, new Map([[0, '33']]))).toHaveLength(1);
  });

  it('reads the interval from the last closed window, else the pending one', () => {
    expect(recordedIntervalMs(state)).toBe(MINUTE);
    expect(recordedIntervalMs({ ...state, lastClosedWindow: null })).toBe(MINUTE);
    expect(recordedIntervalMs({ ...state, lastClosedWindow: null, pending: null })).toBeUndefined();
  });
});
