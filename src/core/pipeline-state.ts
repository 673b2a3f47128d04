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
});

const pendingSchema = z.object({
  windowStartMs: z.number().int(),
  windowEndMs: z.number().int(),
  startOffsets: offsetMap,
  endOffsets: offsetMap.nullable(),
  closedAtMs: z.number().int().nullable(),
  parts: z.array(partSchema),
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
  updatedAtMs: z.number().int(),
});

/** The output layout a state records. */
export type OutputLayout = NonNullable<PipelineState['output']>;

/** A finished part object: one partition's records of one window, from `firstOffset` up to `nextOffset`. */
export type FinishedPart = z.infer<typeof partSchema>;
/** A window whose objects are being written. Recorded before the first object, cleared with the boundary. */
export type PendingBatch = z.infer<typeof pendingSchema>;
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
