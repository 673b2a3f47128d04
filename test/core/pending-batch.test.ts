// The pending batch's bookkeeping across shards: pure rules, no services.
import { describe, expect, it } from 'vitest';
import {
  attemptProblem,
  closingProblems,
  hasRecordedEnd,
  newPendingBatch,
  PartMismatch,
  partsOf,
  recordedEnd,
  resumeOffset,
  withEnd,
  withPart,
} from '../../src/core/pending-batch.js';
import type { FinishedPart, PendingBatch } from '../../src/core/pipeline-state.js';
import { newPipelineState } from '../../src/core/pipeline-state.js';

const WINDOW = { startMs: 60_000, endMs: 120_000 };

/** A part of `partition` covering [first, next), with a checksum derived from what it covers. */
function part(partition: number, sequence: number, first: number, next: number, sha = 'a'): FinishedPart {
  return {
    partition,
    sequence,
    key: `t/p${partition}-${sequence}.ndjson`,
    firstOffset: String(first),
    nextOffset: String(next),
    records: next - first,
    lateRecords: 0,
    errorRecords: 0,
    bytes: (next - first) * 10,
    sha256: `${sha}${partition}-${sequence}`,
    minTimestampMs: WINDOW.startMs,
    maxTimestampMs: WINDOW.startMs + 1,
    errorsKey: null,
    errorsBytes: 0,
    errorsSha256: null,
  };
}

function recorded(pending: PendingBatch, ...parts: FinishedPart[]): PendingBatch {
  return parts.reduce((batch, p) => {
    const next = withPart(batch, p);
    if (next instanceof PartMismatch) throw new Error(`unexpected mismatch on ${p.key}`);
    return next;
  }, pending);
}

function ended(pending: PendingBatch, ends: Record<number, number>): PendingBatch {
  return Object.entries(ends).reduce((batch, [p, end]) => {
    const answer = withEnd(batch, Number(p), String(end), 1_000);
    if ('partsReach' in answer) throw new Error(`end ${end} of ${p} refused`);
    return answer.pending;
  }, pending);
}

const fresh = () => newPendingBatch(WINDOW, { '0': '100', '1': '0' });

describe('withPart', () => {
  it('records a new part, and leaves the batch as it is when the same part is recorded again', () => {
    const once = recorded(fresh(), part(0, 0, 100, 150));
    expect(partsOf(once, 0).map((p) => p.key)).toEqual(['t/p0-0.ndjson']);
    // A second writer of the same slice (a retried shard) wrote the same bytes: nothing changes.
    expect(withPart(once, part(0, 0, 100, 150))).toBe(once);
  });

  it('answers a PartMismatch when the same key comes with other bytes or another range', () => {
    const once = recorded(fresh(), part(0, 0, 100, 150));
    const otherBytes = withPart(once, part(0, 0, 100, 150, 'b'));
    expect(otherBytes).toBeInstanceOf(PartMismatch);
    expect((otherBytes as PartMismatch).recorded.sha256).toBe('a0-0');
    expect((otherBytes as PartMismatch).offered.sha256).toBe('b0-0');
    expect(withPart(once, part(0, 0, 100, 149))).toBeInstanceOf(PartMismatch);
    expect(withPart(once, { ...part(0, 0, 100, 150), errorsSha256: 'e' })).toBeInstanceOf(PartMismatch);
  });

  it('moves where the partition resumes to the end of its furthest part', () => {
    const pending = recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 150, 210), part(1, 0, 0, 5));
    expect(resumeOffset(pending, pending.startOffsets, 0)).toBe('210');
    expect(resumeOffset(pending, pending.startOffsets, 1)).toBe('5');
    expect(resumeOffset(pending, pending.startOffsets, 2)).toBeUndefined();
  });
});

describe('withEnd', () => {
  it('records the first end and the close time; later writers get the recorded end back', () => {
    const first = withEnd(fresh(), 0, '180', 5_000);
    expect('pending' in first && first.end).toBe('180');
    if (!('pending' in first)) throw new Error('refused');
    expect(first.pending.closedAtMs).toBe(5_000);
    expect(hasRecordedEnd(first.pending)).toBe(true);

    const second = withEnd(first.pending, 0, '190', 6_000);
    expect(second).toEqual({ pending: first.pending, end: '180' });

    // Another partition's end is recorded beside it; the window's close time stays the first one's.
    const other = withEnd(first.pending, 1, '7', 7_000);
    if (!('pending' in other)) throw new Error('refused');
    expect(other.pending.endOffsets).toEqual({ '0': '180', '1': '7' });
    expect(other.pending.closedAtMs).toBe(5_000);
  });

  it('refuses an end below what the recorded parts already cover, naming how far they reach', () => {
    const pending = recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 150, 210));
    expect(withEnd(pending, 0, '200', 1)).toEqual({ partsReach: '210' });
    expect(recordedEnd(pending, 0)).toBeUndefined();
    // Exactly at the parts' reach is fine: the partition's last part is already written.
    const atReach = withEnd(pending, 0, '210', 1);
    expect('pending' in atReach && recordedEnd(atReach.pending, 0)).toBe('210');
  });
});

describe('closingProblems', () => {
  it('has none when every partition has an end and contiguous parts from its start to it', () => {
    const pending = ended(recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 150, 200), part(1, 0, 0, 9)), {
      0: 200,
      1: 9,
    });
    expect(closingProblems(pending, [0, 1])).toEqual([]);
  });

  it('names a partition with no recorded end', () => {
    const pending = ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 150 });
    expect(closingProblems(pending, [0, 1])).toEqual(['partition 1: no end offset recorded']);
  });

  it('names a gap between parts and a missing sequence number', () => {
    const gap = ended(recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 160, 200)), { 0: 200 });
    expect(closingProblems(gap, [0])).toEqual(['partition 0: part 1 starts at 160, not at 150']);

    const missing = ended(recorded(fresh(), part(0, 0, 100, 150), part(0, 2, 150, 200)), { 0: 200 });
    expect(closingProblems(missing, [0])).toEqual(['partition 0: part 1 is missing']);

    const lateStart = ended(recorded(fresh(), part(0, 0, 101, 150)), { 0: 150 });
    expect(closingProblems(lateStart, [0])).toEqual(['partition 0: part 0 starts at 101, not at 100']);
  });

  it('names parts that reach past the recorded end', () => {
    // The end recorded first, then a part past it: withEnd alone would have refused the other order.
    const pending = recorded(ended(fresh(), { 0: 140 }), part(0, 0, 100, 150));
    expect(closingProblems(pending, [0])).toEqual([
      'partition 0: parts reach 150, past the recorded end 140',
    ]);
  });

  it('allows offsets after the last part that hold no records (transaction markers), and empty shares', () => {
    // Parts end at 150, the end is 152: two markers follow the last record.
    const markers = ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 152 });
    // Partition 1 has markers only: no part at all, its end past its start.
    const markersOnly = ended(markers, { 1: 3 });
    expect(closingProblems(markersOnly, [0, 1])).toEqual([]);
  });
});

describe('attemptProblem', () => {
  const state = {
    ...newPipelineState('g', 't', 0),
    lease: { owner: 'attempt-a', expiresAtMs: 10_000 },
    pending: fresh(),
  };

  it('lets the lease holder write to its own window only', () => {
    expect(attemptProblem(state, 'attempt-a', WINDOW)).toBeUndefined();
    expect(attemptProblem(state, 'attempt-a', { startMs: 120_000, endMs: 180_000 })).toMatch(
      /pending window is 60000-120000, not 120000-180000/,
    );
  });

  it('refuses a superseded attempt, and any attempt once the window is closed', () => {
    expect(attemptProblem(state, 'attempt-b', WINDOW)).toMatch(/held by attempt-a, not by attempt attempt-b/);
    expect(attemptProblem({ ...state, pending: null }, 'attempt-a', WINDOW)).toMatch(
      /pending window is none/,
    );
    expect(attemptProblem({ ...state, lease: null }, 'attempt-a', WINDOW)).toMatch(/held by nobody/);
  });
});
