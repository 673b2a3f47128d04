// Teaches a registry decoder the schemas it needs, looked up through the pipeline's schema source: what
// a shard does before it encodes a batch, and what finalize does before it commits typed values.
import { mapBounded } from '../core/map-bounded.js';
import type { RegistryDecoder } from '../core/registry-decoder.js';
import type { SchemaId, SchemaSource } from '../ports.js';

/** Schemas looked up at once: a batch or a window rarely names more than a few. */
const SCHEMA_LOOKUPS_AT_ONCE = 8;

/**
 * Looks up `ids` (at most a few at a time) and has `decoder` learn each, in the order given, whenever
 * its answer came. A registry that cannot answer throws here, before the decoder learns any of them.
 */
export async function learnSchemas(
  decoder: RegistryDecoder,
  source: SchemaSource,
  ids: readonly SchemaId[],
): Promise<void> {
  const schemas = await mapBounded(ids, SCHEMA_LOOKUPS_AT_ONCE, (id) => source.schemaById(id));
  for (const [i, id] of ids.entries()) decoder.learn(id, schemas[i]);
}
