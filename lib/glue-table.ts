// A Glue table over one pipeline's landed data, so Athena (or Spark, Trino, Redshift Spectrum) can query a
// window the moment it lands: Hive-style partitions `date` and `hour` found by partition projection (no
// crawler, no MSCK REPAIR), columns and SerDe matching the pipeline's format and value settings.
//
// The table's location is the topic's folder. Athena treats objects whose names start with '_' or '.' as
// hidden, so the table never reads `_manifest.json`; errors objects live outside the folder.
import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ColumnType, type DeclaredColumn } from '../src/core/parquet-schema.js';
import { OutputFormat, ValueFormat, writtenAsJson } from '../src/core/value-format.js';

/** Properties of `PipelineGlueTable`. */
export interface PipelineGlueTableProps {
  /** The bucket the pipeline lands in. */
  readonly bucket: s3.IBucket;
  /** The key folder of the pipeline's data objects, ending in `/` (`<prefix>/topic=<topic>/`). */
  readonly dataFolder: string;
  /** The Glue database's name: lowercase letters, digits and `_`. Created when no other table made it. */
  readonly databaseName: string;
  /** The table's name: lowercase letters, digits and `_`. */
  readonly tableName: string;
  /** What the data objects are. */
  readonly format: OutputFormat;
  /** How record keys are read. */
  readonly keyFormat: ValueFormat;
  /** How record values are read. */
  readonly valueFormat: ValueFormat;
  /** Typed columns taken from JSON values (Parquet only). */
  readonly columns: readonly DeclaredColumn[];
  /**
   * The KMS key the bucket's objects are encrypted with, granted to readers.
   * @default - none (S3-managed encryption)
   */
  readonly bucketEncryptionKey?: kms.IKey;
}

/**
 * How far back the `date` partition projection reaches. Athena enumerates the projected partitions a
 * query does not filter out; a bounded range keeps an unfiltered query's listing small.
 */
export const PROJECTION_DATE_RANGE = 'NOW-2YEARS,NOW';

const PARQUET_STORAGE = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
};

// Gzipped objects are read by their .gz suffix. The OpenX SerDe matches JSON keys case-insensitively;
// mapping.* names the camelCase keys of the NDJSON row for the snake_case columns.
const NDJSON_STORAGE = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  serdeInfo: {
    serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
    parameters: {
      'case.insensitive': 'TRUE',
      'mapping.timestamp_iso': 'timestampiso',
      'mapping.key_encoding': 'keyencoding',
      'mapping.value_encoding': 'valueencoding',
    },
  },
};

const GLUE_TYPES: Readonly<Record<ColumnType, string>> = {
  [ColumnType.STRING]: 'string',
  [ColumnType.BIGINT]: 'bigint',
  [ColumnType.DOUBLE]: 'double',
  [ColumnType.BOOLEAN]: 'boolean',
  [ColumnType.TIMESTAMP]: 'timestamp',
  [ColumnType.JSON]: 'string',
};

type Column = glue.CfnTable.ColumnProperty;

function fieldColumns(name: 'key' | 'value', format: ValueFormat, parquet: boolean): Column[] {
  if (parquet && format === ValueFormat.BINARY) return [{ name, type: 'binary' }];
  // NDJSON: base64 text for binary, the JSON text for json (the OpenX SerDe reads a nested value as text).
  if (parquet && writtenAsJson(format)) return [{ name, type: 'string', comment: 'JSON text' }];
  return [
    { name, type: 'string' },
    {
      name: `${name}_encoding`,
      type: 'string',
      comment: 'utf8, base64 or json; null when the field is null',
    },
  ];
}

/** The table's columns, in the data's order (partition columns apart). */
export function glueColumns(
  format: OutputFormat,
  keyFormat: ValueFormat,
  valueFormat: ValueFormat,
  columns: readonly DeclaredColumn[],
): Column[] {
  const parquet = format === OutputFormat.PARQUET;
  const header = parquet
    ? 'array<struct<key:string,value:string,value_encoding:string>>'
    : 'array<struct<key:string,value:string,valueencoding:string>>';
  return [
    { name: 'topic', type: 'string' },
    { name: 'partition', type: 'int' },
    { name: 'offset', type: 'bigint' },
    parquet
      ? { name: 'timestamp', type: 'timestamp', comment: 'record timestamp, UTC' }
      : { name: 'timestamp', type: 'bigint', comment: 'record timestamp, epoch milliseconds' },
    ...(parquet
      ? []
      : [{ name: 'timestamp_iso', type: 'string', comment: 'record timestamp, ISO-8601 UTC' }]),
    ...fieldColumns('key', keyFormat, parquet),
    ...fieldColumns('value', valueFormat, parquet),
    { name: 'headers', type: header },
    ...columns.map((c) => ({ name: c.name, type: GLUE_TYPES[c.type], comment: `value field ${c.path}` })),
  ];
}

/**
 * A Glue table (and, once per name, its database) over one pipeline's data, partitioned by `date` and
 * `hour` with Athena partition projection.
 */
export class PipelineGlueTable extends Construct {
  /** The table's name. */
  readonly tableName: string;
  /** The database's name. */
  readonly databaseName: string;
  /** The table resource. */
  readonly table: glue.CfnTable;

  private readonly props: PipelineGlueTableProps;

  constructor(scope: Construct, id: string, props: PipelineGlueTableProps) {
    super(scope, id);
    this.props = props;
    this.tableName = props.tableName;
    this.databaseName = props.databaseName;
    const stack = Stack.of(this);
    const database = databaseFor(stack, props.databaseName);

    const location = `s3://${props.bucket.bucketName}/${props.dataFolder}`;
    const parquet = props.format === OutputFormat.PARQUET;
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: stack.account,
      databaseName: props.databaseName,
      tableInput: {
        name: props.tableName,
        description: `Kafka records landed by kafka-batch-puller under ${props.dataFolder}`,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: parquet ? 'parquet' : 'json',
          'projection.enabled': 'true',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': PROJECTION_DATE_RANGE,
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': `${location}date=\${date}/hour=\${hour}/`,
        },
        partitionKeys: [
          { name: 'date', type: 'string', comment: "the window start's UTC date, yyyy-MM-dd" },
          { name: 'hour', type: 'int', comment: "the window start's UTC hour" },
        ],
        storageDescriptor: {
          location,
          columns: glueColumns(props.format, props.keyFormat, props.valueFormat, props.columns),
          ...(parquet ? PARQUET_STORAGE : NDJSON_STORAGE),
        },
      },
    });
    this.table.node.addDependency(database);
  }

  /**
   * Lets `grantee` query the table: read its definition in the Glue Data Catalog and its data objects
   * (decrypting them with the bucket's key, when it has one). Athena also needs its own permissions and
   * a results location, which are the workgroup's.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName?: string) => glueArn(stack, resource, resourceName);
    const catalog = iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetTables',
        'glue:GetPartition',
        'glue:GetPartitions',
      ],
      resourceArns: [
        arn('catalog'),
        arn('database', this.databaseName),
        arn('table', `${this.databaseName}/${this.tableName}`),
      ],
    });
    const data = this.props.bucket.grantRead(grantee, `${this.props.dataFolder}*`);
    const key = this.props.bucketEncryptionKey;
    const decrypt = key && !this.props.bucket.encryptionKey ? [key.grantDecrypt(grantee)] : [];
    return decrypt.reduce((grant, next) => grant.combine(next), catalog.combine(data));
  }
}

/** The ARN of a Glue resource of `stack`: its catalog, a database, a table, a registry, a schema. */
export function glueArn(stack: Stack, resource: string, resourceName?: string): string {
  return stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
}

/** The stack's Glue database of this name, created by the first table that asks for it. */
export function databaseFor(stack: Stack, name: string): glue.CfnDatabase {
  const id = `GlueDatabase-${name}`;
  const existing = stack.node.tryFindChild(id);
  if (existing instanceof glue.CfnDatabase) return existing;
  return new glue.CfnDatabase(stack, id, {
    catalogId: stack.account,
    databaseInput: {
      name,
      description: 'Kafka topics landed in S3 by kafka-batch-puller',
    },
  });
}

/** A Glue name from free text: lowercase letters, digits and `_`. */
export function glueNameOf(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return /^[a-z]/.test(name) ? name : `t_${name}`;
}
