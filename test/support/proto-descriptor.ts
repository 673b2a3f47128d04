// The message descriptors of a .proto file, as @bufbuild/protobuf (Confluent's serializer's library)
// takes them: built from protobufjs's parse of the same text, so a test writes its schema once and
// Confluent's own serializer encodes messages of it. Covers what the tests use: messages, nested
// messages and enums, scalar, enum, message and repeated fields, imports of well-known types.
import { createFileRegistry, type DescMessage, fromBinary, type Registry } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';

/** FieldDescriptorProto.Type of each scalar type name. */
const SCALAR: Readonly<Record<string, number>> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};

const WELL_KNOWN = new Map([
  ['google/protobuf/timestamp.proto', file_google_protobuf_timestamp],
  ['google/protobuf/wrappers.proto', file_google_protobuf_wrappers],
]);

function enumProto(e: protobuf.Enum) {
  return { name: e.name, value: Object.entries(e.values).map(([name, number]) => ({ name, number })) };
}

function messageProto(type: protobuf.Type): object {
  const nested = type.nestedArray;
  return {
    name: type.name,
    field: type.fieldsArray.map((field) => {
      const resolved = field.resolvedType;
      return {
        name: field.name,
        number: field.id,
        label: field.repeated ? 3 : 1,
        type:
          resolved instanceof protobuf.Type
            ? 11
            : resolved instanceof protobuf.Enum
              ? 14
              : SCALAR[field.type],
        ...(resolved ? { typeName: resolved.fullName } : {}),
      };
    }),
    nestedType: nested.filter((n): n is protobuf.Type => n instanceof protobuf.Type).map(messageProto),
    enumType: nested.filter((n): n is protobuf.Enum => n instanceof protobuf.Enum).map(enumProto),
  };
}

/** The descriptors of `text`, a proto3 file named `fileName` with a package. */
export function protoRegistry(text: string, fileName: string): Registry {
  const root = new protobuf.Root();
  const parsed = protobuf.parse(text, root, { keepCase: true });
  for (const imported of parsed.imports ?? []) root.addJSON(protobuf.common.get(imported)?.nested ?? {});
  root.resolveAll();
  const home = root.lookup(parsed.package ?? '') as protobuf.Namespace;
  const file = descriptor.FileDescriptorProto.fromObject({
    name: fileName,
    package: parsed.package,
    dependency: parsed.imports ?? [],
    syntax: 'proto3',
    messageType: home.nestedArray
      .filter((n): n is protobuf.Type => n instanceof protobuf.Type)
      .map(messageProto),
    enumType: home.nestedArray.filter((n): n is protobuf.Enum => n instanceof protobuf.Enum).map(enumProto),
  });
  const bytes = descriptor.FileDescriptorProto.encode(file).finish();
  return createFileRegistry(fromBinary(FileDescriptorProtoSchema, bytes), (name) => WELL_KNOWN.get(name));
}

/** The descriptor of message `name` (package included) in `registry`. */
export function messageDesc(registry: Registry, name: string): DescMessage {
  const desc = registry.getMessage(name);
  if (!desc) throw new Error(`no message ${name}`);
  return desc;
}
