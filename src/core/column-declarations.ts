// Declared columns as a setting: `name:type:path` entries separated by commas, one definition for the
// Lambda's variable, the CLI's flag and the construct's prop. Pure: no I/O.
import { ColumnType, type DeclaredColumn, RESERVED_COLUMN_NAMES } from './parquet-schema.js';

const NAME = /^[a-z][a-z0-9_]{0,127}$/;
const PATH = /^[^.\s,:]+(\.[^.\s,:]+)*$/;
const TYPES: readonly string[] = Object.values(ColumnType);

/** Why a declared column is not valid, or undefined when it is. */
export function columnProblem(
  column: DeclaredColumn,
  before: readonly DeclaredColumn[] = [],
): string | undefined {
  if (!NAME.test(column.name)) {
    return `column name '${column.name}' must be lowercase letters, digits and '_', starting with a letter`;
  }
  if (RESERVED_COLUMN_NAMES.includes(column.name)) {
    return `column name '${column.name}' is taken by the envelope or a partition (${RESERVED_COLUMN_NAMES.join(', ')})`;
  }
  if (before.some((other) => other.name === column.name)) return `column '${column.name}' is declared twice`;
  if (!TYPES.includes(column.type)) {
    return `column '${column.name}' has type '${column.type}'; the types are ${TYPES.join(', ')}`;
  }
  if (!PATH.test(column.path)) {
    return `column '${column.name}' has path '${column.path}'; a path is field names joined by '.'`;
  }
  return undefined;
}

/** The setting's text for these columns (what `parseColumns` reads back). */
export function formatColumns(columns: readonly DeclaredColumn[]): string {
  return columns.map((c) => `${c.name}:${c.type}:${c.path}`).join(',');
}

/** Parses `name:type:path,...` (empty: no columns), or says what is wrong. */
export function parseColumns(text: string): DeclaredColumn[] | string {
  const columns: DeclaredColumn[] = [];
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const [name = '', type = '', path = '', ...rest] = entry.split(':');
    if (rest.length > 0 || path === '') return `entry '${entry}' must be name:type:path`;
    const column = { name, type: type as ColumnType, path };
    const problem = columnProblem(column, columns);
    if (problem) return problem;
    columns.push(column);
  }
  return columns;
}
