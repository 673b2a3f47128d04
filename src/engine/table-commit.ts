// Finalize's table step: commits a closed window to the pipeline's table (an Iceberg table) as one
// snapshot, after the manifest is written and before the state is saved. A finalize that dies after the
// commit leaves the window pending; the next attempt writes the same manifest and commits again, and the
// table, which already holds the window in its history, commits nothing (see WindowTable). So each
// window is in the table once, and no window the state calls closed is missing from it.
import type { FinishedPart, PendingBatch } from '../core/pipeline-state.js';
import { bySchemaId, RegistryDecoder, type ValueSchema, valueSchemaKey } from '../core/registry-decoder.js';
import { decodedWithRegistry, OutputFormat } from '../core/value-format.js';
import type { ValueShape } from '../core/value-shape.js';
import type { TableCommitOutcome } from '../ports.js';
import { learnSchemas } from './schema-lookups.js';
import type { StepContext } from './step-types.js';

/**
 * The shapes of the window's typed value columns, one per schema its parts follow, in schema id order;
 * undefined when the pipeline's values are not typed. The schemas are looked up again (their shapes are
 * not stored with the parts), and each was readable when its part was written.
 */
async function valueShapesOf(
  ctx: StepContext,
  parts: readonly FinishedPart[],
): Promise<ValueShape[] | undefined> {
  const { config, schemas } = ctx;
  if (config.format !== OutputFormat.PARQUET || !decodedWithRegistry(config.valueFormat)) return undefined;
  // Each schema (and Protobuf message) once, oldest id first: the union's fields come in version order.
  const bySchema = new Map<string, ValueSchema>();
  for (const { valueSchema: id, valueMessage: message } of parts) {
    if (id === undefined) continue;
    const schema = { id, ...(message ? { message } : {}) };
    bySchema.set(valueSchemaKey(schema), schema);
  }
  const valueSchemas = [...bySchema.values()].sort(
    (a, b) => bySchemaId(a.id, b.id) || (a.message ?? '').localeCompare(b.message ?? ''),
  );
  if (valueSchemas.length === 0) return [];
  if (schemas === undefined) throw new Error('typed values need a schema source');
  const decoder = new RegistryDecoder(config);
  const ids = [...new Set(valueSchemas.map((schema) => schema.id))];
  await learnSchemas(decoder, schemas, ids);
  return valueSchemas.map((schema) => decoder.valuesOf(schema).shape);
}

/** Commits the sealed window `pending` to the pipeline's table; undefined when it has no table. */
export async function commitToTable(
  ctx: StepContext,
  pipelineId: string,
  pending: PendingBatch,
): Promise<TableCommitOutcome | undefined> {
  if (ctx.table === undefined) return undefined;
  const valueShapes = await valueShapesOf(ctx, pending.parts);
  return ctx.table.commitWindow({
    pipelineId,
    startMs: pending.windowStartMs,
    endMs: pending.windowEndMs,
    endOffsets: pending.endOffsets ?? {},
    parts: pending.parts,
    ...(valueShapes ? { valueShapes } : {}),
  });
}
