// Whether the group's committed offsets still mirror the saved state: pure rule, no services.
import { describe, expect, it } from 'vitest';
import { committedBehind, movedOffsets } from '../../src/core/committed-offsets.js';
import { newPipelineState, type PipelineState } from '../../src/core/pipeline-state.js';

function stateAt(offsets: Record<string, string>, lastStart?: Record<string, string>): PipelineState {
  return {
    ...newPipelineState('g', 't', 0),
    offsets,
    lastClosedWindow: {
      startMs: 0,
      endMs: 60_000,
      closedAtMs: 61_000,
      manifestKey: 'k',
      records: 1,
      ...(lastStart ? { startOffsets: lastStart } : {}),
    },
  };
}

describe('movedOffsets', () => {
  it('accepts the saved offsets, and the last window start a death before the commit leaves', () => {
    const state = stateAt({ '0': '20', '1': '30' }, { '0': '10', '1': '30' });
    expect(
      movedOffsets(
        state,
        new Map([
          [0, '20'],
          [1, '30'],
        ]),
      ),
    ).toEqual([]);
    expect(
      movedOffsets(
        state,
        new Map([
          [0, '10'],
          [1, '30'],
        ]),
      ),
    ).toEqual([]);
  });

  it('names every partition moved back or forward by hand', () => {
    const state = stateAt({ '0': '20', '1': '30' }, { '0': '10', '1': '25' });
    expect(
      movedOffsets(
        state,
        new Map([
          [0, '0'],
          [1, '40'],
        ]),
      ),
    ).toEqual([
      { partition: 0, saved: '20', committed: '0' },
      { partition: 1, saved: '30', committed: '40' },
    ]);
  });

  it('ignores partitions the pipeline has not read yet', () => {
    expect(movedOffsets(stateAt({ '0': '20' }, { '0': '10' }), new Map([[5, '7']]))).toEqual([]);
  });

  it('without a recorded window start, refuses only a commit beyond the saved offset', () => {
    const state = stateAt({ '0': '20' });
    expect(movedOffsets(state, new Map([[0, '5']]))).toEqual([]);
    expect(movedOffsets(state, new Map([[0, '21']]))).toEqual([
      { partition: 0, saved: '20', committed: '21' },
    ]);
  });

  it('accepts what the group held at the last plan while commits are lost, and nothing else behind', () => {
    // Saved 30; the last moving window started at 20; commits have failed since the group held 10.
    const state = {
      ...stateAt({ '0': '30', '1': '30' }, { '0': '20', '1': '20' }),
      committedBehind: { '0': '10' },
    };
    expect(movedOffsets(state, new Map([[0, '10']]))).toEqual([]);
    // An operator's reset (earliest, a time, a shift) puts the group where the pipeline never was.
    expect(
      movedOffsets(
        state,
        new Map([
          [0, '0'],
          [1, '10'],
        ]),
      ),
    ).toEqual([
      { partition: 0, saved: '30', committed: '0' },
      { partition: 1, saved: '30', committed: '10' },
    ]);
  });
});

describe('committedBehind', () => {
  it('keeps the committed offsets behind those being saved, and nothing when the group mirrors them', () => {
    const committed = new Map([
      [0, '10'],
      [1, '30'],
      [7, '3'],
    ]);
    expect(committedBehind({ '0': '30', '1': '30' }, committed)).toEqual({ '0': '10' });
    expect(committedBehind({ '0': '10', '1': '30' }, committed)).toBeUndefined();
    // Retention raised a saved offset past what the group holds: the group stays there until a commit.
    expect(committedBehind({ '0': '15', '1': '30' }, committed)).toEqual({ '0': '10' });
  });
});
