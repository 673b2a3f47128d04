// Makes the table a pipeline appends to exist and fit its columns: creates it (and its namespace) when
// missing, adds the columns it lacks as a new schema, and refuses a table whose columns have other types.
import type { ParquetLayout } from '../core/parquet-schema.js';
import { CommitConflictError, TableSchemaMismatchError } from './iceberg-errors.js';
import type { LoadedTable, TableCatalog, TableIdentifier } from './ports.js';
import {
  NAME_MAPPING_PROPERTY,
  nameMappingOf,
  planTableSchema,
  tablePropertiesFor,
  UNPARTITIONED,
} from './table-schema.js';

/** Schema evolutions tried before giving up on writers that keep changing the table's schema. */
const EVOLVE_ATTEMPTS = 5;

/**
 * The table, created or evolved so that it holds every column `layout` writes.
 * @param location where a table created here keeps its metadata; @default - the catalog's choice
 * @throws TableSchemaMismatchError when a column it writes has another type in the table.
 */
export async function ensureTable(
  catalog: TableCatalog,
  table: TableIdentifier,
  layout: ParquetLayout,
  location?: string,
): Promise<LoadedTable> {
  let loaded = await catalog.loadTable(table);
  if (loaded === undefined) {
    await catalog.createNamespaceIfMissing(table.namespace);
    const plan = planTableSchema(layout);
    if (Array.isArray(plan)) throw new TableSchemaMismatchError(table, plan);
    loaded = await catalog.createTableIfMissing(table, {
      schema: plan.schema,
      partitionSpec: UNPARTITIONED,
      properties: tablePropertiesFor(plan.schema),
      ...(location === undefined ? {} : { location }),
    });
  }
  for (let attempt = 1; ; attempt++) {
    const { metadata } = loaded;
    const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
    if (schema === undefined) throw new TableSchemaMismatchError(table, ['its current schema is missing']);
    const plan = planTableSchema(layout, { schema, lastColumnId: metadata['last-column-id'] });
    if (Array.isArray(plan)) throw new TableSchemaMismatchError(table, plan);
    // A catalog gives a new table's fields ids of its own choosing, so the mapping is checked against the
    // schema it made, and set again where it differs.
    const mapping = nameMappingOf(plan.schema);
    if (!plan.evolved && metadata.properties?.[NAME_MAPPING_PROPERTY] === mapping) return loaded;
    const setMapping = { action: 'set-properties', updates: { [NAME_MAPPING_PROPERTY]: mapping } } as const;
    try {
      return await catalog.commitTable(table, {
        requirements: [
          { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
          { type: 'assert-current-schema-id', 'current-schema-id': schema['schema-id'] },
          { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': metadata['last-column-id'] },
        ],
        updates: plan.evolved
          ? [
              { action: 'add-schema', schema: plan.schema, 'last-column-id': plan.lastColumnId },
              // -1: the schema this commit adds.
              { action: 'set-current-schema', 'schema-id': -1 },
              setMapping,
            ]
          : [setMapping],
      });
    } catch (error) {
      if (!(error instanceof CommitConflictError) || attempt >= EVOLVE_ATTEMPTS) throw error;
      const reloaded = await catalog.loadTable(table);
      if (reloaded === undefined) throw error;
      loaded = reloaded;
    }
  }
}
