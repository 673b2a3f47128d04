// Compiles JSON Schema registry schemas: a payload is the JSON text itself (`readJson`, written as it was
// produced, see registry-json.ts), and the schema gives the column type of its values (value-shape.ts).
// Pure: no I/O.
//
// Only what a column type can hold is mapped: objects with `properties`, maps (`additionalProperties`),
// arrays of one `items` schema, the primitive types, `type: [X, "null"]`, and local `$ref`s. Anything a
// value may take several shapes of (`oneOf`, several types, no type) is JSON. References to other
// registry subjects are JSON too.
import type { RegisteredSchema, SchemaId } from '../ports.js';
import {
  type CompiledSchema,
  type DecodedJson,
  decodedDocument,
  type PayloadReader,
  schemaIdText,
  setField,
} from './registry-json.js';
import { FormatMismatch, readJson } from './value-format.js';
import type { ShapeField, ValueShape } from './value-shape.js';

/** A schema, or a schema's subschema: a JSON object (`true` and `false` are schemas too, of anything). */
type SchemaNode = Readonly<Record<string, unknown>>;

const isNode = (value: unknown): value is SchemaNode =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const JSON_SHAPE: ValueShape = { kind: 'json' };

/** Keywords whose subschemas may declare more of an object's properties or an array's items. */
const COMPOSITIONS = ['allOf', 'anyOf', 'oneOf'] as const;

/**
 * The subschema a local `$ref` names (`#`, `#/definitions/N`, `#/$defs/N`, any JSON pointer into the
 * document), or undefined for one elsewhere.
 */
function localTarget(root: SchemaNode, ref: string): SchemaNode | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let at: unknown = root;
  for (const token of ref.slice(2).split('/')) {
    let key: string;
    try {
      key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (!isNode(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return isNode(at) ? at : undefined;
}

/** The one type a schema's values take besides null, or undefined when it names none or several. */
function singleType(type: unknown): string | undefined {
  if (typeof type === 'string') return type;
  if (!Array.isArray(type)) return undefined;
  const others = type.filter((name) => name !== 'null');
  return others.length === 1 && typeof others[0] === 'string' ? others[0] : undefined;
}

/** The column type of `node`'s values; `open` holds the `$ref` targets being shaped (one met again recurses). */
function shapeOf(node: unknown, root: SchemaNode, open: Set<SchemaNode>): ValueShape {
  if (!isNode(node)) return JSON_SHAPE;
  if (typeof node.$ref === 'string') {
    const target = localTarget(root, node.$ref);
    // A type inside itself has no finite column type: from there on it is JSON.
    if (target === undefined || open.has(target)) return JSON_SHAPE;
    open.add(target);
    const shape = shapeOf(target, root, open);
    open.delete(target);
    return shape;
  }
  const type = singleType(node.type);
  switch (type) {
    case 'object':
    case 'array':
      if (COMPOSITIONS.some((keyword) => keyword in node)) return JSON_SHAPE;
      return type === 'object' ? objectShape(node, root, open) : arrayShape(node, root, open);
    case 'string':
      if (node.format === 'date-time') return { kind: 'timestamp', unit: 'micros' };
      return node.format === 'date' ? { kind: 'date' } : { kind: 'string' };
    case 'integer':
      return { kind: 'long' };
    case 'number':
      return { kind: 'double' };
    case 'boolean':
      return { kind: 'boolean' };
    default:
      return JSON_SHAPE;
  }
}

function objectShape(node: SchemaNode, root: SchemaNode, open: Set<SchemaNode>): ValueShape {
  if (isNode(node.properties)) {
    const fields = Object.entries(node.properties).map(([name, property]): ShapeField => {
      const shape = shapeOf(property, root, open);
      const doc = isNode(property) ? property.description : undefined;
      return typeof doc === 'string' ? { name, shape, doc } : { name, shape };
    });
    return { kind: 'struct', fields };
  }
  // Keys the schema does not name, each holding a value of one schema.
  if (isNode(node.additionalProperties))
    return { kind: 'map', value: shapeOf(node.additionalProperties, root, open) };
  return JSON_SHAPE;
}

function arrayShape(node: SchemaNode, root: SchemaNode, open: Set<SchemaNode>): ValueShape {
  // `items` as an array (a tuple, before draft 2020-12) gives each position its own type.
  return isNode(node.items) ? { kind: 'list', element: shapeOf(node.items, root, open) } : JSON_SHAPE;
}

/** `value` with only the properties `shape`'s structs declare, at every depth. */
function declaredOnly(value: DecodedJson, shape: ValueShape): DecodedJson {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value))
    return shape.kind === 'list' ? value.map((item) => declaredOnly(item, shape.element)) : value;
  const object = value as { readonly [field: string]: DecodedJson };
  if (shape.kind === 'map') {
    const kept: Record<string, DecodedJson> = {};
    for (const [key, item] of Object.entries(object)) setField(kept, key, declaredOnly(item, shape.value));
    return kept;
  }
  if (shape.kind !== 'struct') return value;
  const kept: Record<string, DecodedJson> = {};
  for (const field of shape.fields)
    if (Object.hasOwn(object, field.name))
      setField(kept, field.name, declaredOnly(object[field.name] as DecodedJson, field.shape));
  return kept;
}

/** A compiled JSON Schema; its own class so that `readAs` knows a writer of its kind. */
class CompiledJsonSchema implements CompiledSchema {
  readonly shape: ValueShape;

  constructor(
    root: unknown,
    private readonly schemaId: SchemaId,
  ) {
    this.shape = isNode(root) ? shapeOf(root, root, new Set([root])) : JSON_SHAPE;
  }

  readonly read: PayloadReader = (payload, what) => {
    const document = readJson(payload, what);
    return document instanceof FormatMismatch ? new FormatMismatch(`${document.reason} (${this})`) : document;
  };

  /**
   * Any version's payload is JSON text, read as this version's value: without the properties this
   * version's objects no longer declare (as Avro's resolution and Protobuf's unknown fields drop a field
   * the reader lacks); the columns check each value's types.
   */
  readAs(writer: CompiledSchema): PayloadReader | string {
    if (!(writer instanceof CompiledJsonSchema))
      return `${this} cannot read values written with ${writer}: it is not a JSON Schema`;
    return (payload, what) => {
      const document = this.read(payload, what);
      if (document instanceof FormatMismatch) return document;
      return decodedDocument(declaredOnly(document.parsed as DecodedJson, this.shape));
    };
  }

  /** How messages name it: `JSON Schema id 7`. */
  toString(): string {
    return `JSON Schema ${schemaIdText(this.schemaId)}`;
  }
}

/** Compiles a JSON Schema registered as `schemaId`, or says why it cannot be (its text is not a schema). */
export function compileJsonSchema(schema: RegisteredSchema, schemaId: SchemaId): CompiledSchema | string {
  let root: unknown;
  try {
    root = JSON.parse(schema.text);
  } catch (error) {
    return `JSON Schema ${schemaIdText(schemaId)} cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!isNode(root) && typeof root !== 'boolean')
    return `JSON Schema ${schemaIdText(schemaId)} cannot be read: it is neither an object nor a boolean`;
  return new CompiledJsonSchema(root, schemaId);
}
