// The two ports an Iceberg commit needs: a catalog that holds the table's current metadata and commits
// changes to it atomically (the Iceberg REST catalog protocol: Amazon S3 Tables, the AWS Glue Data
// Catalog, Apache Iceberg's own server), and the object store the table's metadata files live in.
//
// The shapes are the REST protocol's own JSON (hyphenated keys), kept to the fields this puller reads or
// writes. Snapshot ids are 64-bit and carried as decimal strings, like Kafka offsets elsewhere: a
// JavaScript number would round the ids other writers (Java, Spark, table maintenance) generate.

/** A table's name in the catalog. */
export interface TableIdentifier {
  /** The namespace's levels, outermost first (one level for S3 Tables and Glue). */
  readonly namespace: readonly string[];
  readonly name: string;
}

/** One field of an Iceberg schema or struct. */
export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
  readonly doc?: string;
}

/** An Iceberg struct type. */
export interface IcebergStruct {
  readonly type: 'struct';
  readonly fields: readonly IcebergField[];
}

/** An Iceberg list type. */
export interface IcebergList {
  readonly type: 'list';
  readonly 'element-id': number;
  readonly element: IcebergType;
  readonly 'element-required': boolean;
}

/** An Iceberg map type. Keys are never null; values may be, when `value-required` is false. */
export interface IcebergMap {
  readonly type: 'map';
  readonly 'key-id': number;
  readonly key: IcebergType;
  readonly 'value-id': number;
  readonly value: IcebergType;
  readonly 'value-required': boolean;
}

/**
 * An exact decimal of P digits, S of them after the point. The table spec's JSON writes it
 * `decimal(P, S)`, with the space Iceberg's own writers put after the comma; other writers' metadata
 * may leave the space out, which readers accept (see decimalOf in table-schema.ts).
 */
export type IcebergDecimal = `decimal(${number}, ${number})`;

/** The primitive types this puller's columns map to. */
export type IcebergPrimitive =
  | 'string'
  | 'binary'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'boolean'
  | 'date'
  | 'timestamptz'
  | IcebergDecimal;

/** An Iceberg type, as the REST protocol writes it. */
export type IcebergType = IcebergPrimitive | IcebergStruct | IcebergList | IcebergMap;

/** An Iceberg schema: a struct with an id. */
export interface IcebergSchema extends IcebergStruct {
  readonly 'schema-id': number;
}

/** One field of a partition spec. */
export interface PartitionField {
  readonly 'source-id': number;
  readonly 'field-id': number;
  readonly name: string;
  readonly transform: string;
}

/** A partition spec. */
export interface PartitionSpec {
  readonly 'spec-id': number;
  readonly fields: readonly PartitionField[];
}

/** A snapshot as table metadata lists it. */
export interface Snapshot {
  /** Decimal string (64-bit). */
  readonly 'snapshot-id': string;
  /** Decimal string (64-bit); absent for a table's first snapshot. */
  readonly 'parent-snapshot-id'?: string;
  readonly 'sequence-number': number;
  readonly 'timestamp-ms': number;
  readonly 'manifest-list': string;
  /** `operation` and free-form string properties (Iceberg's own totals, and this puller's window). */
  readonly summary: Readonly<Record<string, string>>;
  readonly 'schema-id'?: number;
}

/** A named reference (branch or tag) to a snapshot. */
export interface SnapshotRef {
  /** Decimal string (64-bit). */
  readonly 'snapshot-id': string;
  readonly type: 'branch' | 'tag';
}

/** The parts of a table's metadata a commit reads. */
export interface TableMetadata {
  readonly 'format-version': number;
  readonly 'table-uuid': string;
  /** The table's base location (s3://...); metadata files go under `<location>/metadata`. */
  readonly location: string;
  readonly 'last-sequence-number': number;
  readonly 'last-column-id': number;
  readonly 'current-schema-id': number;
  readonly schemas: readonly IcebergSchema[];
  readonly 'default-spec-id': number;
  readonly 'partition-specs': readonly PartitionSpec[];
  readonly 'last-partition-id': number;
  readonly properties?: Readonly<Record<string, string>>;
  readonly 'current-snapshot-id'?: string | null;
  readonly snapshots?: readonly Snapshot[];
  readonly refs?: Readonly<Record<string, SnapshotRef>>;
}

/** A table as the catalog returned it. */
export interface LoadedTable {
  readonly metadataLocation: string;
  readonly metadata: TableMetadata;
}

/** What a new table is made of. */
export interface NewTable {
  readonly schema: IcebergSchema;
  readonly partitionSpec: PartitionSpec;
  readonly properties: Readonly<Record<string, string>>;
  /** Where the table's metadata is kept (`s3://bucket/path`). @default - the catalog's choice */
  readonly location?: string;
}

/** A condition the catalog checks before applying a commit (the REST protocol's TableRequirement). */
export type TableRequirement =
  | { readonly type: 'assert-table-uuid'; readonly uuid: string }
  /** `snapshot-id` null: the ref must not exist yet (the table's first snapshot). */
  | { readonly type: 'assert-ref-snapshot-id'; readonly ref: string; readonly 'snapshot-id': string | null }
  | { readonly type: 'assert-current-schema-id'; readonly 'current-schema-id': number }
  | { readonly type: 'assert-last-assigned-field-id'; readonly 'last-assigned-field-id': number };

/** A change a commit makes (the REST protocol's TableUpdate, the kinds this puller uses). */
export type TableUpdate =
  | { readonly action: 'add-snapshot'; readonly snapshot: Snapshot }
  | {
      readonly action: 'set-snapshot-ref';
      readonly 'ref-name': string;
      readonly type: 'branch';
      readonly 'snapshot-id': string;
    }
  | { readonly action: 'remove-snapshot-ref'; readonly 'ref-name': string }
  | { readonly action: 'set-properties'; readonly updates: Readonly<Record<string, string>> }
  | { readonly action: 'remove-properties'; readonly removals: readonly string[] }
  | { readonly action: 'add-schema'; readonly schema: IcebergSchema; readonly 'last-column-id': number }
  | { readonly action: 'set-current-schema'; readonly 'schema-id': number };

/** One atomic commit: every requirement holds and every update applies, or nothing changes. */
export interface TableCommit {
  readonly requirements: readonly TableRequirement[];
  readonly updates: readonly TableUpdate[];
}

/**
 * An Iceberg catalog, as the REST protocol defines it. A commit either applies whole or not at all.
 */
export interface TableCatalog {
  /** The table's current metadata, or undefined when the table does not exist. */
  loadTable(table: TableIdentifier): Promise<LoadedTable | undefined>;
  /** Creates the namespace; one that already exists is left as it is. */
  createNamespaceIfMissing(namespace: readonly string[]): Promise<void>;
  /** Creates the table, or returns the one that already exists under the name (as it is). */
  createTableIfMissing(table: TableIdentifier, definition: NewTable): Promise<LoadedTable>;
  /**
   * Applies `commit` atomically and returns the new metadata.
   * @throws CommitConflictError when a requirement no longer holds (another writer committed first).
   * @throws CommitStateUnknownError when no answer came back (5xx, timeout, lost connection): the commit
   * may or may not have been applied.
   */
  commitTable(table: TableIdentifier, commit: TableCommit): Promise<LoadedTable>;
}

/** Reads and writes a table's metadata files (manifests, manifest lists) by their full location. */
export interface MetadataFiles {
  /** The file's bytes. */
  read(location: string): Promise<Buffer>;
  /** Writes a new file; locations are never reused, so this is a plain put. */
  write(location: string, body: Buffer): Promise<void>;
}
