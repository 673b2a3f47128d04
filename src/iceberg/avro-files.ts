// Iceberg's manifest files and manifest lists, format version 2, as Avro object container files, with
// avsc. Each Avro field carries its Iceberg `field-id`, which Iceberg readers match fields by.
//
// Written by hand from the spec's tables (https://iceberg.apache.org/spec/#manifests): the schemas keep
// the fields this puller fills or must copy; optional fields left out read as null. Longs are BigInts
// (snapshot ids are 63-bit), through avsc's documented LongType hook.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import avro from 'avsc';

/** avsc's long as a BigInt, exact to 64 bits (avsc's own long refuses numbers past 2^53). */
const BIG_LONG = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

const typeOf = (schema: object) =>
  avro.Type.forSchema(schema as avro.Schema, { registry: { long: BIG_LONG } });

/** A schema with the Avro type that reads and writes it (avsc's own schema export drops the field ids). */
const withType = (schema: object) => ({ schema, type: typeOf(schema) });

const optional = (name: string, fieldId: number, type: unknown) => ({
  name,
  type: ['null', type],
  default: null,
  'field-id': fieldId,
});

/** Iceberg's map with int keys: an Avro array of key/value records marked as a map. */
const intMap = (recordName: string, keyId: number, valueId: number, valueType: string) => ({
  type: 'array',
  logicalType: 'map',
  items: {
    type: 'record',
    name: recordName,
    fields: [
      { name: 'key', type: 'int', 'field-id': keyId },
      { name: 'value', type: valueType, 'field-id': valueId },
    ],
  },
});

/** The manifest entry schema of an unpartitioned table (its partition tuple is an empty struct). */
const MANIFEST_ENTRY = withType({
  type: 'record',
  name: 'manifest_entry',
  fields: [
    { name: 'status', type: 'int', 'field-id': 0 },
    optional('snapshot_id', 1, 'long'),
    optional('sequence_number', 3, 'long'),
    optional('file_sequence_number', 4, 'long'),
    {
      name: 'data_file',
      'field-id': 2,
      type: {
        type: 'record',
        name: 'r2',
        fields: [
          { name: 'content', type: 'int', 'field-id': 134 },
          { name: 'file_path', type: 'string', 'field-id': 100 },
          { name: 'file_format', type: 'string', 'field-id': 101 },
          { name: 'partition', type: { type: 'record', name: 'r102', fields: [] }, 'field-id': 102 },
          { name: 'record_count', type: 'long', 'field-id': 103 },
          { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
          optional('value_counts', 109, intMap('k119_v120', 119, 120, 'long')),
          optional('null_value_counts', 110, intMap('k121_v122', 121, 122, 'long')),
          optional('lower_bounds', 125, intMap('k126_v127', 126, 127, 'bytes')),
          optional('upper_bounds', 128, intMap('k129_v130', 129, 130, 'bytes')),
        ],
      },
    },
  ],
});

/** The manifest list entry schema (`manifest_file`). Aliases read the names older writers used. */
const MANIFEST_FILE = withType({
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', default: 0, 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', aliases: ['added_data_files_count'], type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', aliases: ['existing_data_files_count'], type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', aliases: ['deleted_data_files_count'], type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    optional('partitions', 507, {
      type: 'array',
      'element-id': 508,
      items: {
        type: 'record',
        name: 'r508',
        fields: [
          { name: 'contains_null', type: 'boolean', 'field-id': 509 },
          optional('contains_nan', 518, 'boolean'),
          optional('lower_bound', 510, 'bytes'),
          optional('upper_bound', 511, 'bytes'),
        ],
      },
    }),
    optional('key_metadata', 519, 'bytes'),
  ],
});

/** A data file's entry in a manifest (status ADDED; snapshot id and sequence numbers inherited). */
export interface DataFileEntry {
  /** Full location (s3://bucket/key). */
  readonly path: string;
  readonly records: number;
  readonly bytes: number;
  /** Per field id: values in the file (nulls included). */
  readonly valueCounts: ReadonlyMap<number, number>;
  /** Per field id: nulls in the file. */
  readonly nullCounts: ReadonlyMap<number, number>;
  /** Per field id: the least value, in Iceberg's single-value binary form. */
  readonly lowerBounds: ReadonlyMap<number, Buffer>;
  /** Per field id: the greatest value, in Iceberg's single-value binary form. */
  readonly upperBounds: ReadonlyMap<number, Buffer>;
}

/** One entry of a manifest list, as read or written. Longs are BigInts. */
export interface ManifestListEntry {
  readonly manifest_path: string;
  readonly manifest_length: bigint;
  readonly partition_spec_id: number;
  readonly content: number;
  readonly sequence_number: bigint;
  readonly min_sequence_number: bigint;
  readonly added_snapshot_id: bigint;
  readonly added_files_count: number;
  readonly existing_files_count: number;
  readonly deleted_files_count: number;
  readonly added_rows_count: bigint;
  readonly existing_rows_count: bigint;
  readonly deleted_rows_count: bigint;
  readonly partitions: readonly unknown[] | null;
  readonly key_metadata: Buffer | null;
}

const entries = <V>(map: ReadonlyMap<number, V>) => [...map].map(([key, value]) => ({ key, value }));

/** Iceberg's file metadata keys, as Avro's header wants them (bytes). */
const headerOf = (metadata: Record<string, string>) =>
  Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value)]));

/** The header of an Avro object container file (Avro spec, "Object Container Files"). */
const CONTAINER_HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const AVRO_LONG = avro.Type.forSchema('long');

/**
 * An Avro container file of `records`, in one deflated block. Framed here rather than by avsc's
 * BlockEncoder, which writes the schema as avsc exports it, without Iceberg's field ids.
 */
function encodeFile(
  file: ReturnType<typeof withType>,
  records: readonly object[],
  metadata: Record<string, string>,
) {
  const sync = randomBytes(16);
  const header = CONTAINER_HEADER.toBuffer({
    magic: Buffer.from('Obj\x01', 'latin1'),
    meta: headerOf({ ...metadata, 'avro.schema': JSON.stringify(file.schema), 'avro.codec': 'deflate' }),
    sync,
  });
  if (records.length === 0) return header;
  const block = deflateRawSync(Buffer.concat(records.map((record) => file.type.toBuffer(record))));
  return Buffer.concat([
    header,
    AVRO_LONG.toBuffer(records.length),
    AVRO_LONG.toBuffer(block.length),
    block,
    sync,
  ]);
}

/** What a manifest's header says about the table (Iceberg readers take the schema and spec from it). */
export interface ManifestHeader {
  readonly schemaJson: string;
  readonly schemaId: number;
  readonly partitionSpecJson: string;
  readonly partitionSpecId: number;
}

/** A manifest listing `files` as added, for an unpartitioned table. */
export function encodeManifest(header: ManifestHeader, files: readonly DataFileEntry[]): Buffer {
  const records = files.map((file) => ({
    status: 1,
    snapshot_id: null,
    sequence_number: null,
    file_sequence_number: null,
    data_file: {
      content: 0,
      file_path: file.path,
      file_format: 'PARQUET',
      partition: {},
      record_count: BigInt(file.records),
      file_size_in_bytes: BigInt(file.bytes),
      value_counts: entries(file.valueCounts).map(({ key, value }) => ({ key, value: BigInt(value) })),
      null_value_counts: entries(file.nullCounts).map(({ key, value }) => ({ key, value: BigInt(value) })),
      lower_bounds: entries(file.lowerBounds),
      upper_bounds: entries(file.upperBounds),
    },
  }));
  return encodeFile(MANIFEST_ENTRY, records, {
    schema: header.schemaJson,
    'schema-id': String(header.schemaId),
    'partition-spec': header.partitionSpecJson,
    'partition-spec-id': String(header.partitionSpecId),
    'format-version': '2',
    content: 'data',
  });
}

/** A manifest list of `manifests`, for snapshot `snapshotId`. */
export function encodeManifestList(
  snapshot: {
    readonly snapshotId: string;
    readonly parentId: string | undefined;
    readonly sequenceNumber: number;
  },
  manifests: readonly ManifestListEntry[],
): Buffer {
  return encodeFile(MANIFEST_FILE, manifests, {
    'snapshot-id': snapshot.snapshotId,
    'parent-snapshot-id': snapshot.parentId ?? 'null',
    'sequence-number': String(snapshot.sequenceNumber),
    'format-version': '2',
  });
}

/** The entries of a manifest list any v2 writer wrote, read into this module's schema. */
export function decodeManifestList(file: Buffer): Promise<ManifestListEntry[]> {
  const decoder = new avro.streams.BlockDecoder({
    readerSchema: MANIFEST_FILE.type,
    parseHook: (schema: avro.Schema) => typeOf(schema as object),
  });
  const out: ManifestListEntry[] = [];
  return new Promise((resolve, reject) => {
    decoder.on('data', (entry: ManifestListEntry) => out.push(entry));
    decoder.on('end', () => resolve(out));
    decoder.on('error', reject);
    const input = new PassThrough();
    input.on('error', reject);
    input.pipe(decoder);
    input.end(file);
  });
}
