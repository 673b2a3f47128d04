// The column type a registry schema gives the values it decodes: one tree that the Parquet schema
// (parquet-schema.ts), the cells of each row (value-cells.ts) and the Iceberg table (table-schema.ts)
// are all made from, so the three never disagree. Pure: no I/O.
//
// Every field, list element and map value may be null: a data lake table adds fields across schema
// versions and Iceberg can only add optional ones, and a null is how a reader sees a field the value's
// own version does not have.

/** A type that holds one value, named as in Iceberg. */
export type PrimitiveShape =
  | { readonly kind: 'string' }
  /** Any JSON value (a union of several types, a recursive type, google.protobuf.Struct), as JSON text. */
  | { readonly kind: 'json' }
  | { readonly kind: 'boolean' }
  /** 32-bit signed. */
  | { readonly kind: 'int' }
  /** 64-bit signed. */
  | { readonly kind: 'long' }
  | { readonly kind: 'float' }
  | { readonly kind: 'double' }
  | { readonly kind: 'binary' }
  /** A calendar date, days since 1970-01-01. */
  | { readonly kind: 'date' }
  /** An instant, stored in UTC at this precision. */
  | { readonly kind: 'timestamp'; readonly unit: 'millis' | 'micros' }
  /** An exact decimal: `precision` digits in all (at most 38), `scale` of them after the point. */
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number };

/** One field of a struct. */
export interface ShapeField {
  readonly name: string;
  readonly shape: ValueShape;
  /** The schema's documentation of the field, when it has one. */
  readonly doc?: string;
}

/** A type that holds other values. */
export type NestedShape =
  | { readonly kind: 'struct'; readonly fields: readonly ShapeField[] }
  | { readonly kind: 'list'; readonly element: ValueShape }
  /** Keys are text, as JSON's object keys are. */
  | { readonly kind: 'map'; readonly value: ValueShape };

/** The column type of a decoded value (or of one of its fields). */
export type ValueShape = PrimitiveShape | NestedShape;

/** The most digits a decimal column holds (Iceberg's and Parquet's fixed-length limit readers share). */
export const MAX_DECIMAL_PRECISION = 38;

/** A shape as one line of text, for messages and comparisons: `struct<id:long,tags:list<string>>`. */
export function shapeText(shape: ValueShape): string {
  switch (shape.kind) {
    case 'struct':
      return `struct<${shape.fields.map((f) => `${f.name}:${shapeText(f.shape)}`).join(',')}>`;
    case 'list':
      return `list<${shapeText(shape.element)}>`;
    case 'map':
      return `map<string,${shapeText(shape.value)}>`;
    case 'timestamp':
      return `timestamp(${shape.unit})`;
    case 'decimal':
      return `decimal(${shape.precision},${shape.scale})`;
    default:
      return shape.kind;
  }
}

/**
 * `shape` with every struct of no fields (an Avro record or Protobuf message without any) made a `json`
 * column: Parquet has no empty groups, and such a value is `{}` either way.
 */
export function writableShape(shape: ValueShape): ValueShape {
  switch (shape.kind) {
    case 'struct':
      return shape.fields.length === 0
        ? { kind: 'json' }
        : { kind: 'struct', fields: shape.fields.map((f) => ({ ...f, shape: writableShape(f.shape) })) };
    case 'list':
      return { kind: 'list', element: writableShape(shape.element) };
    case 'map':
      return { kind: 'map', value: writableShape(shape.value) };
    default:
      return shape;
  }
}
