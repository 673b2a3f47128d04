// Reads Protobuf payloads with their registry schema (a .proto file), as the JSON registry-json.ts
// describes, and gives the column type of the values (value-shape.ts). Pure: no I/O. protobufjs parses
// the .proto text and decodes; its ProtoJSON extension writes the well-known types (Timestamp, Duration,
// wrappers, Struct, Any); a converter built once per message type writes the rest with the .proto's own
// field names and every field present.
//
// A file declares several messages and a payload names its own. A compiled schema's columns are those of
// one of them, the file's first top-level message (what Confluent's serializers name by default), and
// it reads only payloads of that message; its `readAny`, which writes JSON, reads any. Another version
// of the file is read by field numbers: its payload's message, decoded as this file's message of the
// same full name.
//
// A registry returns a schema as .proto text when it was registered so, and Confluent's returns text
// whatever the client registered; others (Apicurio) return it as registered, and Confluent's own
// serializers register a base64 FileDescriptorProto. Both are read.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import protojson from 'protobufjs/ext/protojson.js';
import type { RegisteredSchema, SchemaId } from '../ports.js';
import {
  type CompiledSchema,
  type DecodedJson,
  decodedDocument,
  jsonBytes,
  jsonFloat,
  type PayloadReader,
  referencesInOrder,
  schemaIdText,
  setField,
} from './registry-json.js';
import { readMessageIndexes } from './registry-wire-format.js';
import { FormatMismatch } from './value-format.js';
import type { ValueShape } from './value-shape.js';

/**
 * Field names as the .proto writes them (protobufjs would camelCase them otherwise), and every comment
 * before a declaration kept as its documentation (not only `/** ... *\/` and `///` ones).
 */
const PARSE_OPTIONS = { keepCase: true, alternateCommentMode: true } as const;

/** The well-known types whose proto3 JSON is not an object of their fields. */
const WELL_KNOWN = new Set(
  [
    'Any',
    'Duration',
    'Empty',
    'FieldMask',
    'ListValue',
    'Struct',
    'Timestamp',
    'Value',
    'BoolValue',
    'BytesValue',
    'DoubleValue',
    'FloatValue',
    'Int32Value',
    'Int64Value',
    'StringValue',
    'UInt32Value',
    'UInt64Value',
  ].map((name) => `.google.protobuf.${name}`),
);

const SIXTY_FOUR_BIT = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

type Message = Record<string, unknown>;
type Convert = (value: never) => DecodedJson;

/** The converter of one value of `field` (an element, for a repeated or map field). */
function singularConverter(field: protobuf.Field, built: Map<protobuf.Type, Convert>): Convert {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageConverter(resolved, built);
  if (resolved instanceof protobuf.Enum) {
    if (resolved.fullName === '.google.protobuf.NullValue') return () => null;
    // A number the enum does not name (a newer producer's value) stays a number.
    return ((n: number) => resolved.valuesById[n] ?? n) as Convert;
  }
  if (SIXTY_FOUR_BIT.has(field.type)) return ((n: { toString(): string }) => n.toString()) as Convert;
  if (field.type === 'float' || field.type === 'double') return jsonFloat as Convert;
  if (field.type === 'bytes') return jsonBytes as Convert;
  return ((value: DecodedJson) => value) as Convert;
}

/** A map's keys as proto3 JSON has them: strings, 64-bit ones (held by protobufjs as hashes) as digits. */
function mapKeyText(field: protobuf.MapField): (key: string) => string {
  if (!SIXTY_FOUR_BIT.has(field.keyType)) return (key) => key;
  const unsigned = field.keyType === 'uint64' || field.keyType === 'fixed64';
  return (key) => protobuf.util.longFromHash(key, unsigned).toString();
}

/** How one field of a message is written: every field, unset ones as their default or null. */
function fieldConverter(
  field: protobuf.Field,
  built: Map<protobuf.Type, Convert>,
): (m: Message) => DecodedJson {
  const name = field.name;
  const one = singularConverter(field, built);
  if (field instanceof protobuf.MapField) {
    const keyText = mapKeyText(field);
    return (message) => {
      const map = (message[name] ?? {}) as Record<string, never>;
      const out: Record<string, DecodedJson> = {};
      for (const key of Object.keys(map)) setField(out, keyText(key), one(map[key] as never));
      return out;
    };
  }
  if (field.repeated) return (message) => ((message[name] ?? []) as never[]).map(one);
  // A oneof member or proto3 `optional` field that was not sent, and an unset message field, are null.
  const hasPresence = field.partOf !== null || field.resolvedType instanceof protobuf.Type;
  return (message) => {
    const value = message[name];
    if (hasPresence && (!Object.hasOwn(message, name) || value === null || value === undefined)) return null;
    return one(value as never);
  };
}

/** The converter of `type`'s messages; `built` holds those made so far (a message may contain itself). */
function messageConverter(type: protobuf.Type, built: Map<protobuf.Type, Convert>): Convert {
  const known = built.get(type);
  if (known) return known;
  if (WELL_KNOWN.has(type.fullName)) {
    const convert = ((message: Message) => protojson.toJson(type, message) as DecodedJson) as Convert;
    built.set(type, convert);
    return convert;
  }
  let fields: [string, (m: Message) => DecodedJson][] = [];
  const convert = ((message: Message) => {
    const out: Record<string, DecodedJson> = {};
    for (const [name, field] of fields) setField(out, name, field(message));
    return out;
  }) as Convert;
  built.set(type, convert);
  fields = type.fieldsArray.map((field) => [field.name, fieldConverter(field, built)]);
  return convert;
}

/** The messages declared directly in `namespace` (a file's package, or a message), in declared order. */
export const typesOf = (namespace: protobuf.NamespaceBase): protobuf.Type[] =>
  namespace.nestedArray.filter((nested): nested is protobuf.Type => nested instanceof protobuf.Type);

/** A file as a registry may hold it: .proto text, or a base64 FileDescriptorProto. */
type ProtoFile =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'descriptor'; readonly file: descriptor.IFileDescriptorProto };

/** Base64 alone: .proto text always has spaces or semicolons, which base64 has not. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function protoFileOf(text: string): ProtoFile {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed)) return { kind: 'text', text };
  const decoded = descriptor.FileDescriptorProto.decode(Buffer.from(trimmed, 'base64'));
  return { kind: 'descriptor', file: decoded as unknown as descriptor.IFileDescriptorProto };
}

/** The well-known types `imports` names, from protobufjs's own copies (registries do not hold them). */
function addWellKnown(root: protobuf.Root, imports: readonly string[], added: Set<string>): void {
  for (const imported of imports) {
    const common = protobuf.common.get(imported);
    if (common !== null && !added.has(imported)) {
      added.add(imported);
      root.addJSON(common.nested ?? {});
    }
  }
}

/** Adds `file` to `root`; `added` holds the files already in it. */
function addFile(root: protobuf.Root, file: ProtoFile, added: Set<string>): void {
  if (file.kind === 'descriptor') {
    // Type by type rather than Root.fromDescriptor, which resolves before the well-known types are in.
    const proto = file.file;
    if (proto.syntax === 'editions') throw new Error('a descriptor of a Protobuf editions file is not read');
    const context = { edition: proto.syntax === 'proto3' ? 'proto3' : 'proto2', keepCase: true };
    const home = proto.package ? root.define(proto.package) : root;
    for (const message of proto.messageType ?? []) home.add(protobuf.Type.fromDescriptor(message, context));
    for (const values of proto.enumType ?? []) home.add(protobuf.Enum.fromDescriptor(values, context));
    addWellKnown(root, proto.dependency ?? [], added);
    return;
  }
  const parsed = protobuf.parse(file.text, root, PARSE_OPTIONS);
  addWellKnown(root, [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])], added);
}

/** The full names of the file's own top-level messages, in the order it declares them. */
function topLevelNames(file: ProtoFile): string[] {
  if (file.kind === 'descriptor') {
    const prefix = file.file.package ? `${file.file.package}.` : '';
    return (file.file.messageType ?? []).map((message) => `${prefix}${message.name}`);
  }
  const alone = protobuf.parse(file.text, new protobuf.Root(), PARSE_OPTIONS);
  const home = alone.package ? alone.root.lookup(alone.package) : alone.root;
  return typesOf(home as protobuf.Namespace).map((type) => type.fullName);
}

/** A payload's message: its type, and the message's bytes after what named it. */
export interface SelectedMessage {
  readonly type: protobuf.Type;
  readonly message: Buffer;
}

/** Picks the message a payload holds among its file's, or says why the payload names none. */
export type MessageSelector = (payload: Buffer, what: 'key' | 'value') => SelectedMessage | FormatMismatch;

/**
 * How a wire format names a payload's message: builds, once per schema, the selector of a file from the
 * file's own top-level messages (in the order the file declares them).
 */
export type MessageNaming = (topLevel: readonly protobuf.Type[], schemaId: SchemaId) => MessageSelector;

/**
 * Confluent's naming: the payload's message indexes, the first among the file's own top-level messages,
 * each next among the nested messages of the one before.
 */
export const byConfluentIndexes: MessageNaming = (topLevel, schemaId) => (payload, what) => {
  const framed = readMessageIndexes(payload, schemaId);
  if (framed instanceof FormatMismatch) return framed;
  let type: protobuf.Type | undefined;
  let candidates = topLevel;
  for (const index of framed.indexes) {
    type = candidates[index];
    if (type === undefined) {
      return new FormatMismatch(
        `the ${what}'s message indexes [${framed.indexes.join(', ')}] name no message of Protobuf schema ${schemaIdText(schemaId)}`,
      );
    }
    candidates = typesOf(type);
  }
  return { type: type as protobuf.Type, message: framed.message };
};

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The file's own top-level messages, in its order, or why the schema cannot be read. */
function compileFile(schema: RegisteredSchema, schemaId: SchemaId): protobuf.Type[] | string {
  try {
    const root = new protobuf.Root();
    const added = new Set<string>();
    for (const reference of referencesInOrder(schema)) {
      if (protobuf.common.get(reference.name) !== null || added.has(reference.name)) continue;
      added.add(reference.name);
      addFile(root, protoFileOf(reference.schema.text), added);
    }
    const file = protoFileOf(schema.text);
    addFile(root, file, added);
    root.resolveAll();
    // The file's own messages, in its order, found in the root that holds its imports.
    return topLevelNames(file).map((name) => root.lookupType(name));
  } catch (error) {
    return `Protobuf schema ${schemaIdText(schemaId)} cannot be read: ${errorText(error)}`;
  }
}

/** A message's name as a reason gives it: its full name without protobufjs's leading dot. */
const nameOf = (type: protobuf.Type): string => type.fullName.slice(1);

/** Decodes a selected message with `type` (the payload's own, or a reader's of the same name). */
function decodeMessage(
  type: protobuf.Type,
  bytes: Buffer,
  convert: Convert,
  failure: () => string,
): ReturnType<PayloadReader> {
  let message: Message;
  try {
    message = type.decode(bytes) as unknown as Message;
  } catch (error) {
    return new FormatMismatch(`${failure()}: ${errorText(error)}`);
  }
  return decodedDocument(convert(message as never));
}

const JSON_SHAPE: ValueShape = { kind: 'json' };
const UNSIGNED_64: ValueShape = { kind: 'decimal', precision: 20, scale: 0 };

/** The column type of each scalar: unsigned 32-bit ones need a long, unsigned 64-bit ones 20 digits. */
const SCALAR_SHAPES: Readonly<Record<string, ValueShape>> = {
  int32: { kind: 'int' },
  sint32: { kind: 'int' },
  sfixed32: { kind: 'int' },
  uint32: { kind: 'long' },
  fixed32: { kind: 'long' },
  int64: { kind: 'long' },
  sint64: { kind: 'long' },
  sfixed64: { kind: 'long' },
  uint64: UNSIGNED_64,
  fixed64: UNSIGNED_64,
  float: { kind: 'float' },
  double: { kind: 'double' },
  bool: { kind: 'boolean' },
  string: { kind: 'string' },
  bytes: { kind: 'binary' },
};

/** The well-known types whose proto3 JSON is one value of a column type (the others are JSON). */
const WELL_KNOWN_SHAPES: ReadonlyMap<string, ValueShape> = new Map(
  Object.entries({
    Timestamp: { kind: 'timestamp', unit: 'micros' },
    // `"1.5s"`: no column type of Iceberg's holds a duration.
    Duration: { kind: 'string' },
    // The paths, comma-separated.
    FieldMask: { kind: 'string' },
    DoubleValue: SCALAR_SHAPES.double,
    FloatValue: SCALAR_SHAPES.float,
    Int64Value: SCALAR_SHAPES.int64,
    UInt64Value: SCALAR_SHAPES.uint64,
    Int32Value: SCALAR_SHAPES.int32,
    UInt32Value: SCALAR_SHAPES.uint32,
    BoolValue: SCALAR_SHAPES.bool,
    StringValue: SCALAR_SHAPES.string,
    BytesValue: SCALAR_SHAPES.bytes,
  }).map(([name, shape]) => [`.google.protobuf.${name}`, shape as ValueShape]),
);

/** The column type of one value of `field` (an element, for a repeated or map field). */
function singularShape(field: protobuf.Field, open: Set<protobuf.Type>): ValueShape {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageShape(resolved, open);
  if (resolved instanceof protobuf.Enum)
    return resolved.fullName === '.google.protobuf.NullValue' ? JSON_SHAPE : { kind: 'string' };
  return SCALAR_SHAPES[field.type] ?? JSON_SHAPE;
}

function fieldShape(field: protobuf.Field, open: Set<protobuf.Type>): ValueShape {
  const one = singularShape(field, open);
  if (field instanceof protobuf.MapField) return { kind: 'map', value: one };
  return field.repeated ? { kind: 'list', element: one } : one;
}

/** The column type of `type`'s messages; `open` holds the messages being shaped (one met again recurses). */
function messageShape(type: protobuf.Type, open: Set<protobuf.Type>): ValueShape {
  if (WELL_KNOWN.has(type.fullName)) return WELL_KNOWN_SHAPES.get(type.fullName) ?? JSON_SHAPE;
  // A message inside itself has no finite column type: from there on it is JSON.
  if (open.has(type)) return JSON_SHAPE;
  open.add(type);
  // A oneof's members are fields like the others: the unset ones are null.
  const fields = type.fieldsArray.map((field) => ({
    name: field.name,
    shape: fieldShape(field, open),
    ...(field.comment ? { doc: field.comment } : {}),
  }));
  open.delete(type);
  return { kind: 'struct', fields };
}

/** A compiled Protobuf schema; its own class so that `readAs` knows a writer of its kind. */
class CompiledProtobuf implements CompiledSchema {
  readonly shape: ValueShape;
  /** Writes a decoded `message` as its JSON. */
  readonly convert: Convert;

  /**
   * `message` is the message whose columns it gives; `select` finds a payload's message in its file;
   * `variants` holds the file's messages compiled so far, shared by them all.
   */
  constructor(
    readonly message: protobuf.Type,
    private readonly select: MessageSelector,
    private readonly schemaId: SchemaId,
    private readonly variants = new Map<string, CompiledProtobuf>(),
  ) {
    variants.set(nameOf(message), this);
    this.convert = messageConverter(message, new Map());
    this.shape = messageShape(message, new Set());
  }

  readonly read: PayloadReader = (payload, what) => this.decode(payload, what, this);

  readonly readAny: PayloadReader = (payload, what) => {
    const selected = this.select(payload, what);
    if (selected instanceof FormatMismatch) return selected;
    const { message, convert } = this.variantOf(selected.type);
    return decodeMessage(
      message,
      selected.message,
      convert,
      () => `the ${what} cannot be read as ${nameOf(message)} of ${this}`,
    );
  };

  readAs(writer: CompiledSchema): PayloadReader | string {
    const refused = `${this} cannot read values written with ${writer}`;
    if (!(writer instanceof CompiledProtobuf)) return `${refused}: it is not a Protobuf schema`;
    if (writer.message.fullName !== this.message.fullName)
      return `${refused}: its values are ${nameOf(writer.message)}, not ${nameOf(this.message)}`;
    return (payload, what) => this.decode(payload, what, writer);
  }

  messageOf(payload: Buffer): string | undefined {
    const selected = this.select(payload, 'value');
    return selected instanceof FormatMismatch ? undefined : nameOf(selected.type);
  }

  forMessage(name: string): CompiledSchema | string {
    let type: protobuf.Type;
    try {
      type = this.message.root.lookupType(`.${name}`);
    } catch {
      return `${this} declares no message ${name}`;
    }
    return this.variantOf(type);
  }

  /** This file compiled for the values of `type`, one of its messages (each compiled once). */
  private variantOf(type: protobuf.Type): CompiledProtobuf {
    return (
      this.variants.get(nameOf(type)) ?? new CompiledProtobuf(type, this.select, this.schemaId, this.variants)
    );
  }

  /** How messages name it: `Protobuf schema id 7`. */
  toString(): string {
    return `Protobuf schema ${schemaIdText(this.schemaId)}`;
  }

  /** Reads a payload of `writer`'s message (named as `writer`'s file names it) as this schema's message. */
  private decode(payload: Buffer, what: 'key' | 'value', writer: CompiledProtobuf) {
    const selected = writer.select(payload, what);
    if (selected instanceof FormatMismatch) return selected;
    if (selected.type !== writer.message) {
      return new FormatMismatch(
        `the ${what} is a ${nameOf(selected.type)}, but the columns of ${writer} are those of ${nameOf(writer.message)}`,
      );
    }
    const written = writer === this ? '' : `, written with ${writer},`;
    return decodeMessage(
      this.message,
      selected.message,
      this.convert,
      () => `the ${what}${written} cannot be read as ${nameOf(this.message)} of ${this}`,
    );
  }
}

/**
 * Compiles a Protobuf schema registered as `schemaId`, or says why it cannot be. Its values are its
 * file's first top-level message: `shape` is that message's, and `read` refuses a payload that names
 * another (saying which); `forMessage` compiles it for another message of the file, the one
 * `messageOf` finds a payload names. `naming` says how a payload names its message.
 */
export function compileProtobuf(
  schema: RegisteredSchema,
  schemaId: SchemaId,
  naming: MessageNaming = byConfluentIndexes,
): (CompiledSchema & { readonly readAny: PayloadReader }) | string {
  const topLevel = compileFile(schema, schemaId);
  if (typeof topLevel === 'string') return topLevel;
  const [message] = topLevel;
  if (message === undefined) return `Protobuf schema ${schemaIdText(schemaId)} declares no message`;
  return new CompiledProtobuf(message, naming(topLevel, schemaId), schemaId);
}
