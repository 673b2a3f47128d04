// Which message of a .proto file a Glue-framed Protobuf payload holds. Pure: no I/O.
//
// AWS's serializers (`MessageIndexFinder` in aws-glue-schema-registry) number every message the file
// declares, nested ones included, by sorting their full names (`pkg.Outer.Inner`) lexicographically;
// the payload's message index is the position of its message in that order. protoc gives each map field
// a nested message of its own (`MapFieldEntry`), which takes a position too: protobufjs has no such
// type, so its name is worked out here as protoc writes it, to keep every other position right.
import protobuf from 'protobufjs';
import { readGlueMessageIndex } from './glue-wire-format.js';
import { type MessageNaming, typesOf } from './protobuf-reader.js';
import { schemaIdText } from './registry-json.js';
import { FormatMismatch } from './value-format.js';

/** A message of the file in Glue's order: a type that decodes, or the full name of a map field's entry. */
export type GlueNumberedMessage = protobuf.Type | string;

/** protoc's name for a map field's entry message: the field name in CamelCase, then `Entry`. */
export function mapEntryName(fieldName: string): string {
  const camel = fieldName.replace(/(?:^|_)([^_]?)/g, (_, next: string) => next.toUpperCase());
  return `${camel}Entry`;
}

/** The full name Java's descriptors give: without protobufjs's leading dot. */
const fullNameOf = (type: protobuf.Type): string => type.fullName.replace(/^\./, '');

/**
 * The messages of a file in the order Glue's message indexes count them, from the file's own top-level
 * messages (imported files' messages are not counted).
 */
export function glueMessageOrder(topLevel: readonly protobuf.Type[]): GlueNumberedMessage[] {
  const named: [string, GlueNumberedMessage][] = [];
  const visit = (type: protobuf.Type) => {
    const fullName = fullNameOf(type);
    named.push([fullName, type]);
    for (const field of type.fieldsArray) {
      if (field instanceof protobuf.MapField) {
        const entry = `${fullName}.${mapEntryName(field.name)}`;
        named.push([entry, entry]);
      }
    }
    for (const nested of typesOf(type)) visit(nested);
  };
  for (const type of topLevel) visit(type);
  // Java compares strings by UTF-16 code units, as JavaScript's < does (not localeCompare).
  named.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return named.map(([, message]) => message);
}

/** Glue's naming of a payload's message: one index into the file's messages in Glue's order. */
export const byGlueMessageIndex: MessageNaming = (topLevel, versionId) => {
  const order = glueMessageOrder(topLevel);
  return (payload, what) => {
    const read = readGlueMessageIndex(payload, String(versionId));
    if (read instanceof FormatMismatch) return read;
    const named = order[read.index];
    if (named === undefined) {
      return new FormatMismatch(
        `the ${what}'s message index ${read.index} names no message of Protobuf schema ${schemaIdText(versionId)} (it numbers ${order.length})`,
      );
    }
    if (typeof named === 'string') {
      return new FormatMismatch(
        `the ${what}'s message index ${read.index} names ${named}, a map field's entry, not a message of Protobuf schema ${schemaIdText(versionId)}`,
      );
    }
    return { type: named, message: read.message };
  };
};
