// The Iceberg table a pipeline's Parquet parts make up: its schema, partition spec and properties. Pure.
//
// Field ids stick to column names: a table that exists keeps the ids its schema gives each name, and a
// column new to it gets the next unused id (the table's last-column-id plus one), so a declared column
// added between windows evolves the schema and never takes another column's id. A column whose type
// changed is refused: Iceberg would read the old files' values as the new type.
//
// The parts carry no Parquet field ids, so the table maps Parquet columns to fields by name
// (`schema.name-mapping.default`), the mapping Iceberg defines for files written without ids (Spark,
// Trino, Athena, pyiceberg read by it).
//
// Unpartitioned: a window's parts hold its late records, whose timestamps fall before the window, so no
// hour or day transform of `timestamp` holds for every row of a part, and Iceberg trusts a data file's
// partition value when it prunes. Each data file instead carries bounds on `timestamp`, `partition` and
// `offset` (see data-files.ts), which readers prune by as they would by partition: a part spans about
// one window. Partitioning by the window needs a window column in the parts, which they do not have yet.
import { ColumnType, type DeclaredColumn, type ParquetLayout } from '../core/parquet-schema.js';
import { ValueFormat, writtenAsJson } from '../core/value-format.js';
import type { IcebergPrimitive, IcebergSchema, IcebergStruct, IcebergType, PartitionSpec } from './ports.js';

/** The table property that maps the parts' column names to field ids. */
export const NAME_MAPPING_PROPERTY = 'schema.name-mapping.default';

/** The partition spec of every table this puller creates: unpartitioned (see the file's comment). */
export const UNPARTITIONED: PartitionSpec = { 'spec-id': 0, fields: [] };

/** A type before ids are given: lists and structs name their parts, ids come from assignIds. */
type Shape =
  | IcebergPrimitive
  | { readonly list: Shape; readonly elementRequired: boolean }
  | { readonly struct: readonly ShapeField[] };

interface ShapeField {
  readonly name: string;
  readonly required: boolean;
  readonly shape: Shape;
}

const field = (name: string, shape: Shape, required = false): ShapeField => ({ name, required, shape });

function keyOrValue(name: 'key' | 'value', format: ValueFormat): ShapeField[] {
  if (format === ValueFormat.BINARY) return [field(name, 'binary')];
  // A registry-decoded value is written as a JSON value is: its JSON text.
  if (writtenAsJson(format)) return [field(name, 'string')];
  return [field(name, 'string'), field(`${name}_encoding`, 'string')];
}

function declaredShape(column: DeclaredColumn): IcebergPrimitive {
  switch (column.type) {
    case ColumnType.BIGINT:
      return 'long';
    case ColumnType.DOUBLE:
      return 'double';
    case ColumnType.BOOLEAN:
      return 'boolean';
    case ColumnType.TIMESTAMP:
      return 'timestamptz';
    default:
      return 'string';
  }
}

/** The columns of a Parquet part (see parquet-schema.ts), in file order, as Iceberg fields without ids. */
function wantedFields(layout: ParquetLayout): ShapeField[] {
  return [
    field('topic', 'string', true),
    field('partition', 'int', true),
    field('offset', 'long', true),
    field('timestamp', 'timestamptz', true),
    ...keyOrValue('key', layout.keyFormat),
    ...keyOrValue('value', layout.valueFormat),
    field(
      'headers',
      {
        list: {
          struct: [field('key', 'string', true), field('value', 'string'), field('value_encoding', 'string')],
        },
        elementRequired: true,
      },
      true,
    ),
    ...layout.columns.map((column) => field(column.name, declaredShape(column))),
  ];
}

/** Gives a shape ids depth-first from `next`, as Iceberg assigns them to a new table's columns. */
function assignIds(shape: Shape, next: () => number): IcebergType {
  if (typeof shape === 'string') return shape;
  if ('list' in shape) {
    const elementId = next();
    return {
      type: 'list',
      'element-id': elementId,
      element: assignIds(shape.list, next),
      'element-required': shape.elementRequired,
    };
  }
  const ids = shape.struct.map(() => next());
  return {
    type: 'struct',
    fields: shape.struct.map((f, i) => ({
      id: ids[i] as number,
      name: f.name,
      required: f.required,
      type: assignIds(f.shape, next),
    })),
  };
}

/** A type's structure without its ids, to compare a wanted column with a table's. */
function signatureOf(type: IcebergType): string {
  if (typeof type === 'string') return type;
  if (type.type === 'list') return `list<${signatureOf(type.element)}${type['element-required'] ? '' : '?'}>`;
  return `struct<${type.fields.map((f) => `${f.name}:${signatureOf(f.type)}${f.required ? '' : '?'}`).join(',')}>`;
}

function shapeSignature(shape: Shape): string {
  let id = 0;
  return signatureOf(assignIds(shape, () => ++id));
}

/** The schema a table should have for a layout, and whether it differs from the table's current one. */
export interface SchemaPlan {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
  /** True when the schema adds columns to the table's current one (a new schema id). */
  readonly evolved: boolean;
}

/** A table's current schema and the highest field id it ever assigned. */
export interface CurrentSchema {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
}

/**
 * The schema for `layout`: a new table's, or `current` with the columns it lacks added.
 * @returns the problems instead when a column the layout writes has another type in `current`, or is
 * optional in the layout but required in the table (its nulls would break the table's contract).
 */
export function planTableSchema(layout: ParquetLayout, current?: CurrentSchema): SchemaPlan | string[] {
  let lastId = current?.lastColumnId ?? 0;
  const next = () => ++lastId;
  const existing = new Map(current?.schema.fields.map((f) => [f.name, f]) ?? []);
  const problems: string[] = [];
  const missing: ShapeField[] = [];
  for (const wanted of wantedFields(layout)) {
    const found = existing.get(wanted.name);
    if (found === undefined) {
      if (current && wanted.required) problems.push(`required column '${wanted.name}' is missing`);
      missing.push(wanted);
      continue;
    }
    const want = shapeSignature(wanted.shape);
    const have = signatureOf(found.type);
    if (want !== have)
      problems.push(`column '${wanted.name}' is ${have} in the table, but ${want} is written`);
    else if (found.required && !wanted.required)
      problems.push(`column '${wanted.name}' is required in the table, but may be null as written`);
  }
  if (problems.length > 0) return problems;
  // A struct's own fields first, then what they nest: the order Iceberg gives a new table's ids in.
  const { fields: added } = assignIds({ struct: missing }, next) as IcebergStruct;
  const schemaId = current ? current.schema['schema-id'] + (added.length > 0 ? 1 : 0) : 0;
  return {
    schema: { type: 'struct', 'schema-id': schemaId, fields: [...(current?.schema.fields ?? []), ...added] },
    lastColumnId: lastId,
    evolved: current !== undefined && added.length > 0,
  };
}

interface MappedField {
  readonly 'field-id': number;
  readonly names: readonly string[];
  readonly fields?: readonly MappedField[];
}

function mappingOf(type: IcebergType): MappedField[] | undefined {
  if (typeof type === 'string') return undefined;
  if (type.type === 'list') {
    const fields = mappingOf(type.element);
    return [{ 'field-id': type['element-id'], names: ['element'], ...(fields ? { fields } : {}) }];
  }
  return type.fields.map((f) => {
    const fields = mappingOf(f.type);
    return { 'field-id': f.id, names: [f.name], ...(fields ? { fields } : {}) };
  });
}

/** The name mapping of a schema: each Parquet column name to its field id, nested fields included. */
export function nameMappingOf(schema: IcebergSchema): string {
  return JSON.stringify(mappingOf(schema));
}

/** The properties of a table this puller creates. */
export function tablePropertiesFor(schema: IcebergSchema): Record<string, string> {
  return {
    'format-version': '2',
    'write.format.default': 'parquet',
    [NAME_MAPPING_PROPERTY]: nameMappingOf(schema),
  };
}
