// The state item of one pipeline, and its validation when read back. Pure: no I/O.
import { z } from 'zod';

const offset = z.string().regex(/^\d+$/, { error: 'an offset must be a decimal string' });
const offsetMap = z.record(z.string().regex(/^\d+$/), offset);

const partSchema = z.object({
  partition: z.number().int().min(0),
  sequence: z.number().int().min(0),
  key: z.string().min(1),
  firstOffset: offset,
  nextOffset: offset,
  records: z.number().int().min(0),
  lateRecords: z.number().int().min(0),
  errorRecords: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string(),
  minTimestampMs: z.number().nullable(),
  maxTimestampMs: z.number().nullable(),
  errorsKey: z.string().nullable(),
  errorsBytes: z.number().int().min(0),
  errorsSha256: z.string().nullable(),
  /**
   * The schema (Confluent id or Glue version id) whose shape the part's typed `value` column has: what
   * the window's Iceberg commit puts together its value column from. Absent for other parts.
   */
  valueSchema: z.union([z.number().int().min(0), z.string().min(1)]).optional(),
  /** The message of `valueSchema`'s Protobuf file the part's values hold (absent for Avro and JSON Schema). */
  valueMessage: z.string().min(1).optional(),
});

/**
 * The pending window as the pipeline's item records it: its bounds and start offsets. What its shards
 * record as they go (each partition's parts and end) lives in one share item per partition (see
 * partition-share.ts), so the pipeline's item stays small whatever the partition count.
 */
const pendingSchema = z.object({
  /**
   * Names the window's share items. Absent in items written before shares had items of their own: those
   * kept their parts and ends inline (the fields below), which are still read, never written.
   */
  id: z.string().min(1).optional(),
  windowStartMs: z.number().int(),
  windowEndMs: z.number().int(),
  startOffsets: offsetMap,
  endOffsets: offsetMap.nullable().optional(),
  closedAtMs: z.number().int().nullable().optional(),
  parts: z.array(partSchema).optional(),
  /**
   * The window's ends as finalize fixed them, before its manifest: what every retry of finalize builds
   * the manifest from. A partition absent here ends where it starts (nothing to read, or nothing read).
   */
  sealed: z.object({ endOffsets: offsetMap, closedAtMs: z.number().int() }).optional(),
});

const stateSchema = z.object({
  pipelineId: z.string().min(1),
  topic: z.string().min(1),
  groupId: z.string().min(1),
  nextWindowStartMs: z.number().int().nullable(),
  offsets: offsetMap,
  pending: pendingSchema.nullable(),
  lease: z.object({ owner: z.string().min(1), expiresAtMs: z.number().int() }).nullable(),
  /**
   * The output layout every window of this pipeline is written in (absent in items written before it was
   * recorded): a change under an existing pipeline would split its output across two layouts.
   */
  output: z.object({ prefix: z.string(), format: z.string(), compression: z.string() }).optional(),
  /**
   * The topic the saved offsets were read from: its cluster's id and its own (absent in items written
   * before they were recorded; either is absent where the brokers do not say). Offsets mean nothing in
   * another topic's log.
   */
  topicIdentity: z.object({ clusterId: z.string().optional(), topicId: z.string().optional() }).optional(),
  lastClosedWindow: z
    .object({
      startMs: z.number().int(),
      endMs: z.number().int(),
      closedAtMs: z.number().int(),
      manifestKey: z.string(),
      records: z.number().int().min(0),
      /**
       * Where the last window that moved offsets started: the group's committed offsets until the commit
       * after its close (a window that moves none commits nothing).
       */
      startOffsets: offsetMap.optional(),
    })
    .nullable(),
  windowsClosed: z.number().int().min(0),
  /**
   * The consumer group's committed offsets, of the partitions where a plan found them behind the saved
   * ones: commits were lost (a consumer in the group, a missing permission), and the group holds these
   * until one goes through. Absent while the group mirrors the state.
   */
  committedBehind: offsetMap.optional(),
  updatedAtMs: z.number().int(),
});

/** The output layout a state records. */
export type OutputLayout = NonNullable<PipelineState['output']>;

/** The schema of a finished part, shared with the share items that record parts. */
export const finishedPartSchema = partSchema;
/** The schema of an offset (a decimal string), shared with the share items. */
export const offsetSchema = offset;

/**
 * Offsets `[from, to)` of one partition that retention deleted from under a pending window before any
 * writer read them: the window's reading of the partition resumed at `to`.
 */
export interface RetentionGap {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/** A finished part object: one partition's records of one window, from `firstOffset` up to `nextOffset`. */
export type FinishedPart = z.infer<typeof partSchema>;
/** A window whose objects are being written, as the pipeline's item records it. Cleared with the boundary. */
export type PendingWindow = z.infer<typeof pendingSchema>;
/**
 * A pending window with what its shares recorded, put together for the partitions a step works on:
 * each one's end (once recorded), its finished parts, and the window's close time (with its first end).
 */
export interface PendingBatch {
  readonly id: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly startOffsets: Readonly<Record<string, string>>;
  readonly endOffsets: Readonly<Record<string, string>> | null;
  readonly closedAtMs: number | null;
  readonly parts: readonly FinishedPart[];
  /** Ranges retention deleted before they were read, in the order recorded; absent when none. */
  readonly retentionGaps?: readonly RetentionGap[];
}
/** Everything a run needs to continue where the last one stopped. */
export type PipelineState = z.infer<typeof stateSchema>;

/** The state item's key: one item per consumer group and topic. */
export function pipelineIdOf(groupId: string, topic: string): string {
  return `${groupId}|${topic}`;
}

/** The state of a pipeline that has never run. */
export function newPipelineState(groupId: string, topic: string, nowMs: number): PipelineState {
  return {
    pipelineId: pipelineIdOf(groupId, topic),
    topic,
    groupId,
    nextWindowStartMs: null,
    offsets: {},
    pending: null,
    lease: null,
    lastClosedWindow: null,
    windowsClosed: 0,
    updatedAtMs: nowMs,
  };
}

/** Checks a stored item; returns the problems found, or the state. */
export function parsePipelineState(
  item: unknown,
): { ok: true; state: PipelineState } | { ok: false; problems: string[] } {
  const parsed = stateSchema.safeParse(item);
  if (parsed.success) return { ok: true, state: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`),
  };
}
