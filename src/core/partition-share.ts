// One partition's share of a pending window, as its shards record it: the finished parts and, once
// known, the end offset. Each share is an item of its own beside the pipeline's item, so what a window
// records grows with no single item, and the shards of one attempt (each reading other partitions)
// never write the same item. Pure: no I/O.
import { z } from 'zod';
import {
  type FinishedPart,
  finishedPartSchema,
  offsetSchema,
  type PendingBatch,
  type PendingWindow,
  type RetentionGap,
} from './pipeline-state.js';

/**
 * The attribute of a stored share that holds its expiry (epoch seconds), for a store that drops items
 * by time (DynamoDB's time to live): a closed window's shares are never read again.
 */
export const EXPIRY_ATTRIBUTE = 'expiresAt';

const shareSchema = z.object({
  partition: z.number().int().min(0),
  /** Where the partition's share ends: recorded once, the first writer wins. */
  endOffset: offsetSchema.nullable(),
  /** When the end was recorded: the window's close time is the earliest of its shares'. */
  closedAtMs: z.number().int().nullable(),
  parts: z.array(finishedPartSchema),
  /**
   * Offset ranges retention deleted before any writer read them (see RetentionGap): reading resumed
   * after each. Recorded by a plan in the share itself, so a writer that read from before a gap (and
   * records conditionally on the share's version) sees it.
   */
  retentionGaps: z.array(z.object({ from: offsetSchema, to: offsetSchema })).optional(),
});

/** One partition's recorded share of a pending window. */
export type PartitionShare = z.infer<typeof shareSchema>;

/** Checks a stored share; returns the problems found, or the share. */
export function parsePartitionShare(
  item: unknown,
): { ok: true; share: PartitionShare } | { ok: false; problems: string[] } {
  const parsed = shareSchema.safeParse(item);
  if (parsed.success) return { ok: true, share: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`),
  };
}

/**
 * The key of a partition's share item: under its pipeline's key, so that one condition on the key's
 * prefix (`sharesKeyPattern`) covers both in an IAM policy.
 */
export function shareKey(pipelineId: string, pendingId: string, partition: number): string {
  return `${pipelineId}#${pendingId}#${partition}`;
}

/** Every share item key of `pipelineId`, as an IAM `StringLike` pattern. */
export function sharesKeyPattern(pipelineId: string): string {
  return `${pipelineId}#*`;
}

/** A partition's share before anything is recorded. */
export function emptyShare(partition: number): PartitionShare {
  return { partition, endOffset: null, closedAtMs: null, parts: [] };
}

/**
 * The id of a pending window recorded before its shares had items of their own: derived from its start,
 * so every reader of that item names the same (empty) shares.
 */
export function pendingIdOf(pending: PendingWindow): string {
  return pending.id ?? `w${pending.windowStartMs}`;
}

/** The shares an item of the old layout recorded inline, by partition: read, never written again. */
export function inlineShares(pending: PendingWindow): Map<number, PartitionShare> {
  const shares = new Map<number, PartitionShare>();
  const shareOf = (partition: number) => {
    let share = shares.get(partition);
    if (!share) {
      share = emptyShare(partition);
      shares.set(partition, share);
    }
    return share;
  };
  for (const part of pending.parts ?? []) {
    const share = shareOf(part.partition);
    shares.set(part.partition, { ...share, parts: [...share.parts, part] });
  }
  for (const [partition, end] of Object.entries(pending.endOffsets ?? {})) {
    const share = shareOf(Number(partition));
    shares.set(share.partition, { ...share, endOffset: end, closedAtMs: pending.closedAtMs ?? null });
  }
  return shares;
}

/**
 * The pending batch of `pending` with `shares` recorded: what the steps and the manifest work on. The
 * window's close time is the earliest share's, so every reader that sees all the ends agrees on it.
 */
export function assemblePending(pending: PendingWindow, shares: Iterable<PartitionShare>): PendingBatch {
  const endOffsets: Record<string, string> = {};
  const parts: FinishedPart[] = [];
  const retentionGaps: RetentionGap[] = [];
  let closedAtMs: number | null = null;
  for (const share of shares) {
    parts.push(...share.parts);
    for (const gap of share.retentionGaps ?? []) retentionGaps.push({ partition: share.partition, ...gap });
    if (share.endOffset !== null) endOffsets[String(share.partition)] = share.endOffset;
    if (share.closedAtMs !== null) closedAtMs = Math.min(closedAtMs ?? share.closedAtMs, share.closedAtMs);
  }
  return {
    id: pendingIdOf(pending),
    windowStartMs: pending.windowStartMs,
    windowEndMs: pending.windowEndMs,
    startOffsets: pending.startOffsets,
    endOffsets: Object.keys(endOffsets).length > 0 ? endOffsets : null,
    closedAtMs,
    parts,
    ...(retentionGaps.length > 0 ? { retentionGaps } : {}),
  };
}
