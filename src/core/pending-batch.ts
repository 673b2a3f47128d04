// The pending batch's bookkeeping: what shards record in it, and what finalize checks before it writes
// a manifest. Pure: no I/O.
//
// A partition's parts are cut by size from where its share of the window starts, so they are the same
// whoever writes them, as long as the share ends at the same offset. That is why a share's end offset is
// recorded once (the first writer wins, later writers adopt it) before its last part is written.
import type { WindowBounds } from './key-layout.js';
import type { PartitionShare } from './partition-share.js';
import type { FinishedPart, PendingBatch, PendingWindow, PipelineState } from './pipeline-state.js';

/** A window as recorded pending before any of its objects is written; `id` names its share items. */
export function newPendingWindow(
  window: WindowBounds,
  startOffsets: Readonly<Record<string, string>>,
  id: string,
): PendingWindow {
  return { id, windowStartMs: window.startMs, windowEndMs: window.endMs, startOffsets: { ...startOffsets } };
}

/** The pending window's bounds. */
export function pendingWindow(pending: PendingWindow | PendingBatch): WindowBounds {
  return { startMs: pending.windowStartMs, endMs: pending.windowEndMs };
}

/** The recorded end offset of `partition`'s share, if one is recorded. */
export function recordedEnd(pending: PendingBatch | null, partition: number): string | undefined {
  return pending?.endOffsets?.[String(partition)];
}

/** Whether any partition's end is recorded: the window has begun to close and must not be given up. */
export function hasRecordedEnd(pending: PendingBatch | null): boolean {
  return Object.keys(pending?.endOffsets ?? {}).length > 0;
}

/** The furthest of `offsets` (undefined when there are none). */
function furthest(offsets: Iterable<string | undefined>): string | undefined {
  let far: string | undefined;
  for (const offset of offsets) {
    if (offset !== undefined && (far === undefined || BigInt(offset) > BigInt(far))) far = offset;
  }
  return far;
}

/**
 * Where a partition's reading resumes in a window: after its last finished part or the last range
 * retention deleted under it, or else at the window's start offset (undefined when none is known).
 */
export function resumeOffset(
  pending: PendingBatch | null,
  startOffsets: Readonly<Record<string, string>>,
  partition: number,
): string | undefined {
  return furthest([
    startOffsets[String(partition)],
    ...(pending?.parts ?? []).filter((part) => part.partition === partition).map((part) => part.nextOffset),
    ...(pending?.retentionGaps ?? []).filter((gap) => gap.partition === partition).map((gap) => gap.to),
  ]);
}

/** Where reading of `share` resumes: see resumeOffset. */
function shareResume(share: PartitionShare, startOffset: string | undefined): string | undefined {
  return furthest([
    startOffset,
    ...share.parts.map((part) => part.nextOffset),
    ...(share.retentionGaps ?? []).map((gap) => gap.to),
  ]);
}

/** `partition`'s finished parts, in sequence order. */
export function partsOf(pending: PendingBatch | null, partition: number): FinishedPart[] {
  return (pending?.parts ?? [])
    .filter((part) => part.partition === partition)
    .sort((a, b) => a.sequence - b.sequence);
}

/** Why a part cannot be recorded: the same key is recorded with other bytes. */
export class PartMismatch {
  constructor(
    readonly recorded: FinishedPart,
    readonly offered: FinishedPart,
  ) {}
}

/**
 * Why a part cannot be recorded although no other part holds its key: it reaches past the end its share
 * recorded (its writer read further than the one whose end holds: late records arrived in between), or
 * it covers offsets a plan recorded as deleted by retention (its writer read them before they went).
 * Either way its bytes are not the window's, and its writer has lost to another.
 */
export class PartRefused {
  constructor(
    readonly offered: FinishedPart,
    readonly reason: string,
  ) {}
}

/**
 * `share` with `part` recorded. A part already recorded under the same key with the same bytes (a
 * second writer of the same slice) leaves it as it is; with other bytes it is a PartMismatch; a part
 * past the share's recorded end, or over a retention gap, is a PartRefused.
 */
export function withPart(
  share: PartitionShare,
  part: FinishedPart,
): PartitionShare | PartMismatch | PartRefused {
  const recorded = share.parts.find((p) => p.key === part.key);
  if (recorded) {
    const same =
      recorded.sha256 === part.sha256 &&
      recorded.bytes === part.bytes &&
      recorded.nextOffset === part.nextOffset &&
      recorded.errorsSha256 === part.errorsSha256;
    return same ? share : new PartMismatch(recorded, part);
  }
  const named = `part ${part.sequence} of partition ${part.partition} (offsets ${part.firstOffset} to ${part.nextOffset})`;
  if (share.endOffset !== null && BigInt(part.nextOffset) > BigInt(share.endOffset)) {
    return new PartRefused(part, `${named} reaches past the partition's recorded end ${share.endOffset}`);
  }
  const gap = share.retentionGaps?.find(
    (g) => BigInt(part.firstOffset) < BigInt(g.to) && BigInt(part.nextOffset) > BigInt(g.from),
  );
  if (gap) {
    return new PartRefused(
      part,
      `${named} covers offsets ${gap.from} to ${gap.to}, which retention deleted before the window's plan resumed it past them`,
    );
  }
  return { ...share, parts: [...share.parts, part] };
}

/**
 * `share` with the offsets retention deleted under it recorded as a gap: when its reading would resume
 * below `lowWatermark` (the partition's first stored offset) and it has records left to read. The gap
 * runs from where reading would resume to the low watermark, or to the recorded end if that comes first
 * (what lies past the end belongs to later windows). Undefined when there is nothing to record.
 */
export function withRetentionGap(
  share: PartitionShare,
  startOffset: string | undefined,
  lowWatermark: string,
):
  | { readonly share: PartitionShare; readonly gap: { readonly from: string; readonly to: string } }
  | undefined {
  const resume = shareResume(share, startOffset);
  if (resume === undefined) return undefined;
  const low = BigInt(lowWatermark);
  const to = share.endOffset !== null && BigInt(share.endOffset) < low ? BigInt(share.endOffset) : low;
  if (BigInt(resume) >= to) return undefined;
  const gap = { from: resume, to: to.toString() };
  return { share: { ...share, retentionGaps: [...(share.retentionGaps ?? []), gap] }, gap };
}

/** The answer to recording an end: the share and the end that holds now, or why it cannot be recorded. */
export type EndRecording =
  | { readonly share: PartitionShare; readonly end: string }
  | { readonly partsReach: string };

/**
 * `share` with its end offset recorded, unless one is already: the first writer wins, and the answer
 * carries the end that holds. The share's close time is recorded with its end. An end below what the
 * recorded parts already cover is refused (`partsReach`): another writer read further, and it will
 * record its own end.
 */
export function withEnd(
  share: PartitionShare,
  startOffset: string | undefined,
  endOffset: string,
  nowMs: number,
): EndRecording {
  if (share.endOffset !== null) return { share, end: share.endOffset };
  const reached = shareResume(share, startOffset);
  if (reached !== undefined && BigInt(reached) > BigInt(endOffset)) return { partsReach: reached };
  return { share: { ...share, endOffset, closedAtMs: nowMs }, end: endOffset };
}

/**
 * What keeps the window from closing: partitions with no recorded end, and parts that do not follow one
 * another from the start offset to the end. Empty when finalize may write the manifest.
 */
export function closingProblems(pending: PendingBatch, partitions: readonly number[]): string[] {
  const problems: string[] = [];
  for (const partition of partitions) {
    const end = recordedEnd(pending, partition);
    if (end === undefined) {
      problems.push(`partition ${partition}: no end offset recorded`);
      continue;
    }
    let next = pending.startOffsets[String(partition)];
    // Reading resumed after each range retention deleted: the parts go on from its end.
    const gaps = (pending.retentionGaps ?? []).filter(
      (gap) => gap.partition === partition && BigInt(gap.to) > BigInt(gap.from),
    );
    const skipGaps = () => {
      for (let gap = gaps.find((g) => g.from === next); gap; gap = gaps.find((g) => g.from === next))
        next = gap.to;
    };
    skipGaps();
    for (const [index, part] of partsOf(pending, partition).entries()) {
      if (part.sequence !== index) problems.push(`partition ${partition}: part ${index} is missing`);
      if (next !== undefined && part.firstOffset !== next) {
        problems.push(
          `partition ${partition}: part ${part.sequence} starts at ${part.firstOffset}, not at ${next}`,
        );
      }
      next = part.nextOffset;
      skipGaps();
    }
    // Offsets after the last part may hold only transaction markers; none may lie past the end.
    if (next !== undefined && BigInt(next) > BigInt(end)) {
      problems.push(`partition ${partition}: parts reach ${next}, past the recorded end ${end}`);
    }
  }
  return problems;
}

/** The state a shard or finalize may write to: the attempt still holds the lease, on the same window. */
export function attemptProblem(
  state: PipelineState,
  attemptId: string,
  window: WindowBounds,
): string | undefined {
  if (state.lease?.owner !== attemptId)
    return `the lease is held by ${state.lease?.owner ?? 'nobody'}, not by attempt ${attemptId}`;
  const pending = state.pending;
  if (!pending || pending.windowStartMs !== window.startMs || pending.windowEndMs !== window.endMs) {
    return `the pending window is ${pending ? `${pending.windowStartMs}-${pending.windowEndMs}` : 'none'}, not ${window.startMs}-${window.endMs}`;
  }
  return undefined;
}

/** The ends finalize fixes before it writes a manifest. */
export type Seal = NonNullable<PendingWindow['sealed']>;

/**
 * The seal of a window every partition of which is done: each partition's recorded end, or its start
 * when none is recorded (a shard records nothing for a partition it found nothing in, so a window of
 * quiet partitions costs no write per partition); only ends past their start are kept. The close time
 * is the earliest recorded, or `nowMs`.
 */
export function sealOf(pending: PendingBatch, partitions: readonly number[], nowMs: number): Seal {
  const endOffsets: Record<string, string> = {};
  for (const partition of partitions) {
    const end = recordedEnd(pending, partition);
    if (end !== undefined && end !== pending.startOffsets[String(partition)])
      endOffsets[String(partition)] = end;
  }
  return { endOffsets, closedAtMs: pending.closedAtMs ?? nowMs };
}

/**
 * `pending` as `seal` fixed it: every partition's end, and only the parts within it. A part beyond its
 * partition's sealed end was recorded by a writer that read more after the seal (late records); those
 * records belong to the next window, and its object is listed by no manifest.
 */
export function sealedBatch(pending: PendingBatch, seal: Seal, partitions: readonly number[]): PendingBatch {
  const endOffsets: Record<string, string> = {};
  for (const partition of partitions) {
    const key = String(partition);
    const end = seal.endOffsets[key] ?? pending.startOffsets[key];
    if (end !== undefined) endOffsets[key] = end;
  }
  const parts = pending.parts.filter((part) => {
    const end = endOffsets[String(part.partition)];
    return end !== undefined && BigInt(part.nextOffset) <= BigInt(end);
  });
  return { ...pending, endOffsets, closedAtMs: seal.closedAtMs, parts };
}
