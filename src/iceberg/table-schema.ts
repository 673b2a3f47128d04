// The Iceberg table a pipeline's Parquet parts make up: its schema, partition spec and properties. Pure.
//
// Field ids stick to column names: a table that exists keeps the ids its schema gives each name, and a
// column new to it gets the next unused id (the table's last-column-id plus one), so a declared column
// added between windows evolves the schema and never takes another column's id. A column whose type
// changed is refused: Iceberg would read the old files' values as the new type.
//
// A registry-decoded value with a shape (see value-shape.ts) is one nested column whose type grows as
// its schema gets new versions: a field new at any depth is added (optional, with a fresh id), a field
// only older versions have stays, and a type widens the way Iceberg's schema evolution allows (int to
// long, float to double, a decimal to more digits), since Iceberg reads older files' narrower values as
// the wider type. Any other change is refused, naming the field's path.
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
import { declaredShape, type ParquetLayout } from '../core/parquet-schema.js';
import { decodedWithRegistry, ValueFormat, writtenAsJson } from '../core/value-format.js';
import type { ValueShape } from '../core/value-shape.js';
import type {
  IcebergDecimal,
  IcebergField,
  IcebergPrimitive,
  IcebergSchema,
  IcebergType,
  PartitionSpec,
} from './ports.js';

/** The table property that maps the parts' column names to field ids. */
export const NAME_MAPPING_PROPERTY = 'schema.name-mapping.default';

/** The partition spec of every table this puller creates: unpartitioned (see the file's comment). */
export const UNPARTITIONED: PartitionSpec = { 'spec-id': 0, fields: [] };

/** A type before ids are given: lists, maps and structs name their parts, ids come from assignIds. */
type Wanted =
  | IcebergPrimitive
  | { readonly list: Wanted; readonly elementRequired: boolean }
  /** Keys are strings. */
  | { readonly map: Wanted; readonly valueRequired: boolean }
  | { readonly struct: readonly WantedField[] };

interface WantedField {
  readonly name: string;
  readonly required: boolean;
  readonly shape: Wanted;
  readonly doc?: string;
  /**
   * Whether the table's type may grow to hold this one (fields added at any depth, types widened)
   * rather than having to equal it: a shaped value's, whose schema has versions.
   */
  readonly grows?: boolean;
}

const field = (name: string, shape: Wanted, required = false): WantedField => ({ name, required, shape });

/** The Iceberg type of a value shape: every field, list element and map value optional. */
function wantedOfShape(shape: ValueShape): Wanted {
  switch (shape.kind) {
    case 'struct':
      return {
        struct: shape.fields.map((f) => ({
          name: f.name,
          required: false,
          shape: wantedOfShape(f.shape),
          ...(f.doc === undefined ? {} : { doc: f.doc }),
        })),
      };
    case 'list':
      return { list: wantedOfShape(shape.element), elementRequired: false };
    case 'map':
      return { map: wantedOfShape(shape.value), valueRequired: false };
    case 'json':
      return 'string';
    // Iceberg's timestamptz is microseconds; it reads a Parquet column of milliseconds as well.
    case 'timestamp':
      return 'timestamptz';
    case 'decimal':
      return `decimal(${shape.precision}, ${shape.scale})`;
    default:
      return shape.kind;
  }
}

function keyOrValue(name: 'key' | 'value', layout: ParquetLayout): WantedField[] {
  const format = name === 'key' ? layout.keyFormat : layout.valueFormat;
  if (name === 'value' && layout.valueShape !== undefined && decodedWithRegistry(format)) {
    // Null: no part of the window has a value column (every value was null); the table keeps its own.
    if (layout.valueShape === null) return [];
    return [{ ...field(name, wantedOfShape(layout.valueShape)), grows: true }];
  }
  if (format === ValueFormat.BINARY) return [field(name, 'binary')];
  // A registry-decoded value without a shape is written as a JSON value is: its JSON text.
  if (writtenAsJson(format)) return [field(name, 'string')];
  return [field(name, 'string'), field(`${name}_encoding`, 'string')];
}

/** The columns of a Parquet part (see parquet-schema.ts), in file order, as Iceberg fields without ids. */
function wantedFields(layout: ParquetLayout): WantedField[] {
  return [
    field('topic', 'string', true),
    field('partition', 'int', true),
    field('offset', 'long', true),
    field('timestamp', 'timestamptz', true),
    ...keyOrValue('key', layout),
    ...keyOrValue('value', layout),
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
    ...layout.columns.map((column) => field(column.name, wantedOfShape(declaredShape(column.type)))),
  ];
}

/**
 * Gives a shape ids from `next` as Iceberg assigns them to a new table's columns: a struct's own fields
 * first, then what each of them nests; a list's element, a map's key and value, then what they nest.
 */
function assignIds(shape: Wanted, next: () => number): IcebergType {
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
  if ('map' in shape) {
    const keyId = next();
    const valueId = next();
    return {
      type: 'map',
      'key-id': keyId,
      key: 'string',
      'value-id': valueId,
      value: assignIds(shape.map, next),
      'value-required': shape.valueRequired,
    };
  }
  return { type: 'struct', fields: assignFieldIds(shape.struct, next) };
}

function assignFieldIds(fields: readonly WantedField[], next: () => number): IcebergField[] {
  const ids = fields.map(() => next());
  return fields.map((f, i) => ({
    id: ids[i] as number,
    name: f.name,
    required: f.required,
    type: assignIds(f.shape, next),
    ...(f.doc === undefined ? {} : { doc: f.doc }),
  }));
}

/** Precision and scale of a decimal type, spelled with or without the space after the comma. */
function decimalOf(type: string): { precision: number; scale: number } | undefined {
  const match = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  return match ? { precision: Number(match[1]), scale: Number(match[2]) } : undefined;
}

/** A primitive as Iceberg's writers spell it, so `decimal(9,2)` and `decimal(9, 2)` compare equal. */
function primitiveText(type: string): string {
  const decimal = decimalOf(type);
  return decimal ? (`decimal(${decimal.precision}, ${decimal.scale})` satisfies IcebergDecimal) : type;
}

/** Whether Iceberg's schema evolution may widen a column of type `from` to `to` (and read old files as it). */
function promotes(from: string, to: string): boolean {
  if (from === 'int') return to === 'long';
  if (from === 'float') return to === 'double';
  const a = decimalOf(from);
  const b = decimalOf(to);
  return a !== undefined && b !== undefined && a.scale === b.scale && b.precision > a.precision;
}

/** A type's structure without its ids, to compare a wanted column with a table's. */
function signatureOf(type: IcebergType): string {
  if (typeof type === 'string') return primitiveText(type);
  const optional = (required: boolean) => (required ? '' : '?');
  if (type.type === 'list') return `list<${signatureOf(type.element)}${optional(type['element-required'])}>`;
  if (type.type === 'map')
    return `map<${signatureOf(type.key)},${signatureOf(type.value)}${optional(type['value-required'])}>`;
  return `struct<${type.fields.map((f) => `${f.name}:${signatureOf(f.type)}${optional(f.required)}`).join(',')}>`;
}

function wantedSignature(shape: Wanted): string {
  let id = 0;
  return signatureOf(assignIds(shape, () => ++id));
}

/** What merging a wanted type into a table's collects: its problems, and whether the table's type grew. */
interface Merge {
  readonly next: () => number;
  readonly problems: string[];
  grew: boolean;
}

/** `value` itself is a column, anything under it a field. */
const named = (path: string) => `${path.includes('.') ? 'field' : 'column'} '${path}'`;

/**
 * The table's type `have`, grown to hold `want`: fields added, primitives widened. A narrower primitive
 * written into a wider column is kept as the table's: it reads the way older files do.
 */
function mergeType(have: IcebergType, want: Wanted, path: string, merge: Merge): IcebergType {
  const refuse = () => {
    merge.problems.push(
      `${named(path)} is ${signatureOf(have)} in the table, but ${wantedSignature(want)} is written`,
    );
    return have;
  };
  if (typeof want === 'string') {
    if (typeof have !== 'string') return refuse();
    if (primitiveText(have) === want || promotes(want, have)) return have;
    if (!promotes(have, want)) return refuse();
    merge.grew = true;
    return want;
  }
  if (typeof have === 'string') return refuse();
  if ('list' in want) {
    if (have.type !== 'list') return refuse();
    if (have['element-required'] && !want.elementRequired) mayBeNull(`${path}.element`, merge);
    return { ...have, element: mergeType(have.element, want.list, `${path}.element`, merge) };
  }
  if ('map' in want) {
    if (have.type !== 'map' || have.key !== 'string') return refuse();
    if (have['value-required'] && !want.valueRequired) mayBeNull(`${path}.value`, merge);
    return { ...have, value: mergeType(have.value, want.map, `${path}.value`, merge) };
  }
  if (have.type !== 'struct') return refuse();
  return { ...have, fields: mergeFields(have.fields, want.struct, path, merge) };
}

function mayBeNull(path: string, merge: Merge): void {
  merge.problems.push(`${named(path)} is required in the table, but may be null as written`);
}

/**
 * A struct's fields grown to hold `wanted`'s: the table's own first, in its order, then the ones it
 * lacks. New fields take their ids before the ones nested deeper do, as a new table's would.
 */
function mergeFields(
  have: readonly IcebergField[],
  wanted: readonly WantedField[],
  path: string,
  merge: Merge,
): IcebergField[] {
  const haveNames = new Set(have.map((f) => f.name));
  const added = assignFieldIds(
    wanted.filter((f) => !haveNames.has(f.name)),
    merge.next,
  );
  if (added.length > 0) merge.grew = true;
  const byName = new Map(wanted.map((f) => [f.name, f]));
  const kept = have.map((f) => {
    const want = byName.get(f.name);
    const fieldPath = `${path}.${f.name}`;
    // A field only older versions have stays, null in the files that do not write it.
    if (want === undefined) {
      if (f.required) merge.problems.push(`${named(fieldPath)} is required in the table, but is not written`);
      return f;
    }
    if (f.required && !want.required) mayBeNull(fieldPath, merge);
    return { ...f, type: mergeType(f.type, want.shape, fieldPath, merge) };
  });
  return [...kept, ...added];
}

/** The schema a table should have for a layout, and whether it differs from the table's current one. */
export interface SchemaPlan {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
  /** True when the schema adds columns or fields to the table's current one, or widens a type (a new schema id). */
  readonly evolved: boolean;
}

/** A table's current schema and the highest field id it ever assigned. */
export interface CurrentSchema {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
}

/**
 * The schema for `layout`: a new table's, or `current` with the columns it lacks added and a shaped
 * value's type grown (see the file's comment).
 * @returns the problems instead when a column the layout writes has another type in `current`, or is
 * optional in the layout but required in the table (its nulls would break the table's contract).
 */
export function planTableSchema(layout: ParquetLayout, current?: CurrentSchema): SchemaPlan | string[] {
  let lastId = current?.lastColumnId ?? 0;
  const merge: Merge = { next: () => ++lastId, problems: [], grew: false };
  const existing = new Map(current?.schema.fields.map((f) => [f.name, f]) ?? []);
  const missing: WantedField[] = [];
  const growing: WantedField[] = [];
  for (const wanted of wantedFields(layout)) {
    const found = existing.get(wanted.name);
    if (found === undefined) {
      if (current && wanted.required) merge.problems.push(`required column '${wanted.name}' is missing`);
      missing.push(wanted);
      continue;
    }
    if (wanted.grows) {
      if (found.required && !wanted.required) mayBeNull(wanted.name, merge);
      growing.push(wanted);
      continue;
    }
    const want = wantedSignature(wanted.shape);
    const have = signatureOf(found.type);
    if (want !== have)
      merge.problems.push(`column '${wanted.name}' is ${have} in the table, but ${want} is written`);
    else if (found.required && !wanted.required) mayBeNull(wanted.name, merge);
  }
  // A struct's own fields first, then what they nest: the order Iceberg gives a new table's ids in.
  const added = assignFieldIds(missing, merge.next);
  const grown = new Map(
    growing.map((wanted) => {
      const found = existing.get(wanted.name) as IcebergField;
      return [wanted.name, { ...found, type: mergeType(found.type, wanted.shape, wanted.name, merge) }];
    }),
  );
  if (merge.problems.length > 0) return merge.problems;
  const evolved = current !== undefined && (added.length > 0 || merge.grew);
  const kept = (current?.schema.fields ?? []).map((f) => grown.get(f.name) ?? f);
  const schemaId = current ? current.schema['schema-id'] + (evolved ? 1 : 0) : 0;
  return {
    schema: { type: 'struct', 'schema-id': schemaId, fields: [...kept, ...added] },
    lastColumnId: lastId,
    evolved,
  };
}

interface MappedField {
  readonly 'field-id': number;
  readonly names: readonly string[];
  readonly fields?: readonly MappedField[];
}

function mapped(id: number, name: string, type: IcebergType): MappedField {
  const fields = mappingOf(type);
  return { 'field-id': id, names: [name], ...(fields ? { fields } : {}) };
}

/** The mapping of what a type nests, named as Parquet's LIST and MAP groups name their parts. */
function mappingOf(type: IcebergType): MappedField[] | undefined {
  if (typeof type === 'string') return undefined;
  if (type.type === 'list') return [mapped(type['element-id'], 'element', type.element)];
  if (type.type === 'map')
    return [mapped(type['key-id'], 'key', type.key), mapped(type['value-id'], 'value', type.value)];
  return type.fields.map((f) => mapped(f.id, f.name, f.type));
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
