// Finalize's table step: commits a closed window to the pipeline's table (an Iceberg table) as one
// snapshot, after the manifest is written and before the state is saved. A finalize that dies after the
// commit leaves the window pending; the next attempt writes the same manifest and commits again, and the
// table, which already holds the window in its history, commits nothing (see WindowTable). So each
// window is in the table once, and no window the state calls closed is missing from it.
import type { PendingBatch } from '../core/pipeline-state.js';
import type { TableCommitOutcome } from '../ports.js';
import type { StepContext } from './step-types.js';

/** Commits the sealed window `pending` to the pipeline's table; undefined when it has no table. */
export async function commitToTable(
  ctx: StepContext,
  pipelineId: string,
  pending: PendingBatch,
): Promise<TableCommitOutcome | undefined> {
  if (ctx.table === undefined) return undefined;
  return ctx.table.commitWindow({
    pipelineId,
    startMs: pending.windowStartMs,
    endMs: pending.windowEndMs,
    endOffsets: pending.endOffsets ?? {},
    parts: pending.parts,
  });
}
