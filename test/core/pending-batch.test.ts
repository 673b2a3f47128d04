// The pending batch's bookkeeping across shards: pure rules, no services.
import { describe, expect, it } from 'vitest';
import {
  assemblePending,
  emptyShare,
  inlineShares,
  type PartitionShare,
  pendingIdOf,
} from '../../src/core/partition-share.js';
import {
  attemptProblem,
  closingProblems,
  hasRecordedEnd,
  newPendingWindow,
  PartMismatch,
  PartRefused,
  partsOf,
  resumeOffset,
  withEnd,
  withPart,
  withRetentionGap,
} from '../../src/core/pending-batch.js';
import type { FinishedPart, PendingBatch, PendingWindow } from '../../src/core/pipeline-state.js';
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

const WINDOW_RECORD: PendingWindow = newPendingWindow(WINDOW, { '0': '100', '1': '0' }, 'pending-1');

/** A window's shares, as the store would hold them: one per partition. */
type Shares = ReadonlyMap<number, PartitionShare>;

const shareOf = (shares: Shares, partition: number) => shares.get(partition) ?? emptyShare(partition);

function recorded(shares: Shares, ...parts: FinishedPart[]): Shares {
  const next = new Map(shares);
  for (const p of parts) {
    const share = withPart(shareOf(next, p.partition), p);
    if (share instanceof PartMismatch || share instanceof PartRefused)
      throw new Error(`unexpected refusal of ${p.key}`);
    next.set(p.partition, share);
  }
  return next;
}

function ended(shares: Shares, ends: Record<number, number>): Shares {
  const next = new Map(shares);
  for (const [p, end] of Object.entries(ends)) {
    const start = WINDOW_RECORD.startOffsets[p];
    const answer = withEnd(shareOf(next, Number(p)), start, String(end), 1_000);
    if ('partsReach' in answer) throw new Error(`end ${end} of ${p} refused`);
    next.set(Number(p), answer.share);
  }
  return next;
}

/** The pending batch the steps see: the window with its shares put together. */
const batch = (shares: Shares): PendingBatch => assemblePending(WINDOW_RECORD, shares.values());

const fresh = (): Shares => new Map();

describe('withPart', () => {
  it('records a new part, and leaves the share as it is when the same part is recorded again', () => {
    const once = recorded(fresh(), part(0, 0, 100, 150));
    expect(partsOf(batch(once), 0).map((p) => p.key)).toEqual(['t/p0-0.ndjson']);
    // A second writer of the same slice (a retried shard) wrote the same bytes: nothing changes.
    const share = shareOf(once, 0);
    expect(withPart(share, part(0, 0, 100, 150))).toBe(share);
  });

  it('answers a PartMismatch when the same key comes with other bytes or another range', () => {
    const once = shareOf(recorded(fresh(), part(0, 0, 100, 150)), 0);
    const otherBytes = withPart(once, part(0, 0, 100, 150, 'b'));
    expect(otherBytes).toBeInstanceOf(PartMismatch);
    expect((otherBytes as PartMismatch).recorded.sha256).toBe('a0-0');
    expect((otherBytes as PartMismatch).offered.sha256).toBe('b0-0');
    expect(withPart(once, part(0, 0, 100, 149))).toBeInstanceOf(PartMismatch);
    expect(withPart(once, { ...part(0, 0, 100, 150), errorsSha256: 'e' })).toBeInstanceOf(PartMismatch);
  });

  it('answers a PartRefused for a part reaching past the recorded end, and records one up to it', () => {
    const share = shareOf(ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 180 }), 0);
    // A writer that read late records past the end another recorded cut its part further.
    const pastEnd = withPart(share, part(0, 1, 150, 200));
    expect(pastEnd).toBeInstanceOf(PartRefused);
    expect((pastEnd as PartRefused).reason).toBe(
      "part 1 of partition 0 (offsets 150 to 200) reaches past the partition's recorded end 180",
    );
    const last = withPart(share, part(0, 1, 150, 180));
    expect(last).not.toBeInstanceOf(PartRefused);
    expect((last as PartitionShare).parts.map((p) => p.nextOffset)).toEqual(['150', '180']);
  });

  it('moves where the partition resumes to the end of its furthest part', () => {
    const pending = batch(recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 150, 210), part(1, 0, 0, 5)));
    expect(resumeOffset(pending, pending.startOffsets, 0)).toBe('210');
    expect(resumeOffset(pending, pending.startOffsets, 1)).toBe('5');
    expect(resumeOffset(pending, pending.startOffsets, 2)).toBeUndefined();
  });
});

describe('withEnd', () => {
  it('records the first end and the close time; later writers get the recorded end back', () => {
    const first = withEnd(emptyShare(0), '100', '180', 5_000);
    if (!('share' in first)) throw new Error('refused');
    expect(first.end).toBe('180');
    expect(first.share.closedAtMs).toBe(5_000);
    expect(hasRecordedEnd(batch(new Map([[0, first.share]])))).toBe(true);

    const second = withEnd(first.share, '100', '190', 6_000);
    expect(second).toEqual({ share: first.share, end: '180' });

    // Another partition's end is recorded in its own share; the window's close time is the earliest.
    const other = withEnd(emptyShare(1), '0', '7', 4_000);
    if (!('share' in other)) throw new Error('refused');
    const both = batch(
      new Map([
        [0, first.share],
        [1, other.share],
      ]),
    );
    expect(both.endOffsets).toEqual({ '0': '180', '1': '7' });
    expect(both.closedAtMs).toBe(4_000);
  });

  it('refuses an end below what the recorded parts already cover, naming how far they reach', () => {
    const share = shareOf(recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 150, 210)), 0);
    expect(withEnd(share, '100', '200', 1)).toEqual({ partsReach: '210' });
    expect(withEnd(emptyShare(0), '100', '99', 1)).toEqual({ partsReach: '100' });
    // Exactly at the parts' reach is fine: the partition's last part is already written.
    const atReach = withEnd(share, '100', '210', 1);
    expect('share' in atReach && atReach.share.endOffset).toBe('210');
  });
});

/** `shares` with retention having deleted `partition` up to `low` (a plan recording the gap). */
function retained(shares: Shares, partition: number, low: number): Shares {
  const answer = withRetentionGap(
    shareOf(shares, partition),
    WINDOW_RECORD.startOffsets[partition],
    String(low),
  );
  if (!answer) throw new Error(`no gap below ${low} on ${partition}`);
  return new Map(shares).set(partition, answer.share);
}

describe('withRetentionGap', () => {
  it('skips from where reading would resume to the first stored offset, keeping the parts landed', () => {
    const shares = retained(recorded(fresh(), part(0, 0, 100, 150)), 0, 180);
    expect(shareOf(shares, 0).retentionGaps).toEqual([{ from: '150', to: '180' }]);
    const pending = batch(shares);
    expect(resumeOffset(pending, pending.startOffsets, 0)).toBe('180');
    expect(partsOf(pending, 0).map((p) => p.key)).toEqual(['t/p0-0.ndjson']);
  });

  it('stops a gap at the recorded end, and records none where nothing is left to read or nothing is lost', () => {
    const ending = ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 170 });
    expect(shareOf(retained(ending, 0, 200), 0).retentionGaps).toEqual([{ from: '150', to: '170' }]);
    const read = ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 150 });
    expect(withRetentionGap(shareOf(read, 0), '100', '200')).toBeUndefined();
    expect(
      withRetentionGap(shareOf(recorded(fresh(), part(0, 0, 100, 150)), 0), '100', '150'),
    ).toBeUndefined();
    // A quiet partition whose start retention passed: the gap starts at its start.
    expect(withRetentionGap(emptyShare(1), '0', '7')?.gap).toEqual({ from: '0', to: '7' });
  });

  it('refuses a part over a gap: its writer read the deleted records before they went', () => {
    const share = shareOf(retained(recorded(fresh(), part(0, 0, 100, 150)), 0, 180), 0);
    const stale = withPart(share, part(0, 1, 150, 190));
    expect(stale).toBeInstanceOf(PartRefused);
    expect((stale as PartRefused).reason).toContain('covers offsets 150 to 180, which retention deleted');
    expect(withPart(share, part(0, 1, 180, 230))).not.toBeInstanceOf(PartRefused);
  });

  it('lets the window close with its parts on both sides of gaps', () => {
    let shares = retained(recorded(fresh(), part(0, 0, 100, 150)), 0, 180);
    shares = retained(recorded(shares, part(0, 1, 180, 200)), 0, 260);
    shares = ended(recorded(shares, part(0, 2, 260, 300)), { 0: 300 });
    shares = ended(retained(shares, 1, 7), { 1: 9 });
    expect(closingProblems(batch(shares), [0, 1])).toEqual([]);
    // Without the gaps the parts would not follow one another.
    const noGaps = new Map([...shares].map(([p, share]) => [p, { ...share, retentionGaps: [] }]));
    expect(closingProblems(batch(noGaps), [0])).toEqual([
      'partition 0: part 1 starts at 180, not at 150',
      'partition 0: part 2 starts at 260, not at 200',
    ]);
  });
});

describe('closingProblems', () => {
  it('has none when every partition has an end and contiguous parts from its start to it', () => {
    const pending = ended(recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 150, 200), part(1, 0, 0, 9)), {
      0: 200,
      1: 9,
    });
    expect(closingProblems(batch(pending), [0, 1])).toEqual([]);
  });

  it('names a partition with no recorded end', () => {
    const pending = ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 150 });
    expect(closingProblems(batch(pending), [0, 1])).toEqual(['partition 1: no end offset recorded']);
  });

  it('names a gap between parts and a missing sequence number', () => {
    const gap = ended(recorded(fresh(), part(0, 0, 100, 150), part(0, 1, 160, 200)), { 0: 200 });
    expect(closingProblems(batch(gap), [0])).toEqual(['partition 0: part 1 starts at 160, not at 150']);

    const missing = ended(recorded(fresh(), part(0, 0, 100, 150), part(0, 2, 150, 200)), { 0: 200 });
    expect(closingProblems(batch(missing), [0])).toEqual(['partition 0: part 1 is missing']);

    const lateStart = ended(recorded(fresh(), part(0, 0, 101, 150)), { 0: 150 });
    expect(closingProblems(batch(lateStart), [0])).toEqual(['partition 0: part 0 starts at 101, not at 100']);
  });

  it('names parts that reach past the recorded end', () => {
    // The end recorded first, then a part past it: withEnd refuses the other order and withPart this
    // one, so only a share stored before withPart refused it (or edited by hand) holds it.
    const share = shareOf(ended(fresh(), { 0: 140 }), 0);
    const pending: Shares = new Map([[0, { ...share, parts: [part(0, 0, 100, 150)] }]]);
    expect(closingProblems(batch(pending), [0])).toEqual([
      'partition 0: parts reach 150, past the recorded end 140',
    ]);
  });

  it('allows offsets after the last part that hold no records (transaction markers), and empty shares', () => {
    // Parts end at 150, the end is 152: two markers follow the last record.
    const markers = ended(recorded(fresh(), part(0, 0, 100, 150)), { 0: 152 });
    // Partition 1 has markers only: no part at all, its end past its start.
    const markersOnly = ended(markers, { 1: 3 });
    expect(closingProblems(batch(markersOnly), [0, 1])).toEqual([]);
  });
});

describe('attemptProblem', () => {
  const state = {
    ...newPipelineState('g', 't', 0),
    lease: { owner: 'attempt-a', expiresAtMs: 10_000 },
    pending: WINDOW_RECORD,
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

describe('pending window and shares', () => {
  it('keeps the pipeline item free of what shards record: the window names its shares by id', () => {
    expect(WINDOW_RECORD).toEqual({
      id: 'pending-1',
      windowStartMs: WINDOW.startMs,
      windowEndMs: WINDOW.endMs,
      startOffsets: { '0': '100', '1': '0' },
    });
    expect(pendingIdOf(WINDOW_RECORD)).toBe('pending-1');
  });

  it('reads an item of the old layout, whose parts and ends were inline, as the same shares', () => {
    const legacy: PendingWindow = {
      windowStartMs: WINDOW.startMs,
      windowEndMs: WINDOW.endMs,
      startOffsets: { '0': '100', '1': '0' },
      endOffsets: { '0': '150' },
      closedAtMs: 2_000,
      parts: [part(0, 0, 100, 150)],
    };
    // Its shares are named after its start, so every reader of the item agrees on them.
    expect(pendingIdOf(legacy)).toBe('w60000');
    const shares = inlineShares(legacy);
    expect([...shares.keys()]).toEqual([0]);
    expect(shares.get(0)).toEqual({
      partition: 0,
      endOffset: '150',
      closedAtMs: 2_000,
      parts: [part(0, 0, 100, 150)],
    });
    const assembled = assemblePending(legacy, shares.values());
    expect(assembled.endOffsets).toEqual({ '0': '150' });
    expect(closingProblems(assembled, [0])).toEqual([]);
  });
});
