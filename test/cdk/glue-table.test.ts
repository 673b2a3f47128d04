// Each pipeline's Glue table: over the topic's folder, partitioned by date and hour with Athena partition
// projection, columns and SerDe matching the format and value settings; and who may read it.
import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller } from '../../lib/kafka-batch-puller.js';
import { KafkaSecurityMode } from '../../lib/kafka-security.js';
import { ColumnType } from '../../src/core/parquet-schema.js';
import { OutputFormat, ValueFormat } from '../../src/core/value-format.js';
import { ACCOUNT, newStack, REGION, statementsOf } from './support.js';

function pullerIn(stack = newStack()) {
  return {
    stack,
    puller: new KafkaBatchPuller(stack, 'Puller', {
      brokers: ['broker-1:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    }),
  };
}

const projection = {
  'projection.enabled': 'true',
  'projection.date.type': 'date',
  'projection.date.format': 'yyyy-MM-dd',
  'projection.date.range': 'NOW-2YEARS,NOW',
  'projection.date.interval': '1',
  'projection.date.interval.unit': 'DAYS',
  'projection.hour.type': 'integer',
  'projection.hour.range': '0,23',
  'projection.hour.digits': '2',
};

describe('Glue table', () => {
  it('puts a Parquet pipeline with JSON values and declared columns under one database, with projection', () => {
    const { stack, puller } = pullerIn();
    const pipeline = puller.addPipeline('Orders', {
      topic: 'shop.orders-v1',
      outputPrefix: 'lake/raw',
      format: OutputFormat.PARQUET,
      valueFormat: ValueFormat.JSON,
      columns: [
        { name: 'order_id', type: ColumnType.STRING, path: 'id' },
        { name: 'amount', type: ColumnType.DOUBLE, path: 'total.amount' },
        { name: 'placed_at', type: ColumnType.TIMESTAMP, path: 'at' },
        { name: 'meta', type: ColumnType.JSON, path: 'meta' },
      ],
    });
    puller.addPipeline('Payments', { topic: 'payments' });
    const template = Template.fromStack(stack);
    const bucket = stack.resolve(puller.bucket.bucketName);

    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: ACCOUNT,
      DatabaseInput: Match.objectLike({ Name: 'kafka_batch_puller' }),
    });
    template.resourceCountIs('AWS::Glue::Table', 2);
    template.hasResourceProperties('AWS::Glue::Table', {
      CatalogId: ACCOUNT,
      DatabaseName: 'kafka_batch_puller',
      TableInput: Match.objectLike({
        Name: 'lake_raw_shop_orders_v1',
        TableType: 'EXTERNAL_TABLE',
        Parameters: {
          EXTERNAL: 'TRUE',
          classification: 'parquet',
          ...projection,
          'storage.location.template': {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's own placeholders, not JavaScript's
            'Fn::Join': ['', ['s3://', bucket, '/lake/raw/topic=shop.orders-v1/date=${date}/hour=${hour}/']],
          },
        },
        PartitionKeys: [
          Match.objectLike({ Name: 'date', Type: 'string' }),
          Match.objectLike({ Name: 'hour', Type: 'int' }),
        ],
        StorageDescriptor: Match.objectLike({
          Location: { 'Fn::Join': ['', ['s3://', bucket, '/lake/raw/topic=shop.orders-v1/']] },
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          Columns: [
            { Name: 'topic', Type: 'string' },
            { Name: 'partition', Type: 'int' },
            { Name: 'offset', Type: 'bigint' },
            Match.objectLike({ Name: 'timestamp', Type: 'timestamp' }),
            { Name: 'key', Type: 'string' },
            Match.objectLike({ Name: 'key_encoding', Type: 'string' }),
            Match.objectLike({ Name: 'value', Type: 'string' }),
            { Name: 'headers', Type: 'array<struct<key:string,value:string,value_encoding:string>>' },
            Match.objectLike({ Name: 'order_id', Type: 'string' }),
            Match.objectLike({ Name: 'amount', Type: 'double' }),
            Match.objectLike({ Name: 'placed_at', Type: 'timestamp' }),
            Match.objectLike({ Name: 'meta', Type: 'string' }),
          ],
        }),
      }),
    });
    // The function is told the same settings the table describes.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          OUTPUT_FORMAT: 'parquet',
          VALUE_FORMAT: 'json',
          KEY_FORMAT: 'string',
          COMPRESSION: 'snappy',
          VALUE_COLUMNS:
            'order_id:string:id,amount:double:total.amount,placed_at:timestamp:at,meta:json:meta',
        }),
      },
    });
    expect(pipeline.glueTable?.tableName).toBe('lake_raw_shop_orders_v1');
  });

  it('reads NDJSON with the OpenX SerDe, mapping camelCase keys, and binary Parquet values as binary', () => {
    const { stack, puller } = pullerIn();
    puller.addPipeline('Orders', { topic: 'orders' });
    puller.addPipeline('Images', {
      topic: 'images',
      format: OutputFormat.PARQUET,
      valueFormat: ValueFormat.BINARY,
      glueDatabaseName: 'media',
      glueTableName: 'image_events',
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'orders',
        Parameters: Match.objectLike({ classification: 'json', ...projection }),
        StorageDescriptor: Match.objectLike({
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            Parameters: {
              'case.insensitive': 'TRUE',
              'mapping.timestamp_iso': 'timestampiso',
              'mapping.key_encoding': 'keyencoding',
              'mapping.value_encoding': 'valueencoding',
            },
          },
          Columns: Match.arrayWith([
            Match.objectLike({ Name: 'timestamp', Type: 'bigint' }),
            Match.objectLike({ Name: 'timestamp_iso', Type: 'string' }),
            Match.objectLike({ Name: 'value_encoding', Type: 'string' }),
            { Name: 'headers', Type: 'array<struct<key:string,value:string,valueencoding:string>>' },
          ]),
        }),
      }),
    });
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'media',
      TableInput: Match.objectLike({
        Name: 'image_events',
        StorageDescriptor: Match.objectLike({
          Columns: Match.arrayWith([{ Name: 'value', Type: 'binary' }]),
        }),
      }),
    });
    template.resourceCountIs('AWS::Glue::Database', 2);
  });

  it('is left out when glueTable is false', () => {
    const { stack, puller } = pullerIn();
    const pipeline = puller.addPipeline('Orders', { topic: 'orders', glueTable: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Glue::Table', 0);
    template.resourceCountIs('AWS::Glue::Database', 0);
    expect(pipeline.glueTable).toBeUndefined();
  });

  it('grants readers the catalog entries and the data folder only', () => {
    const { stack, puller } = pullerIn();
    const pipeline = puller.addPipeline('Orders', { topic: 'orders', outputPrefix: 'raw' });
    const reader = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.glueTable?.grantRead(reader);
    const statements = statementsOf(Template.fromStack(stack), reader);
    const glueArn = (resource: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:glue:${REGION}:${ACCOUNT}:${resource}`]],
    });
    expect(statements).toContainEqual({
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetTables',
        'glue:GetPartition',
        'glue:GetPartitions',
      ],
      resources: [
        glueArn('catalog'),
        glueArn('database/kafka_batch_puller'),
        glueArn('table/kafka_batch_puller/raw_orders'),
      ],
    });
    const s3Statement = statements.find((s) => s.actions.includes('s3:GetObject*'));
    expect(JSON.stringify(s3Statement?.resources)).toContain('/raw/topic=orders/*');
    expect(JSON.stringify(s3Statement?.resources)).not.toContain('errors');
  });

  it('names the prop of every bad format setting', () => {
    const { puller } = pullerIn();
    expect(() =>
      puller.addPipeline('Orders', {
        topic: 'orders',
        valueFormat: 'xml' as ValueFormat,
        columns: [{ name: 'Bad', type: ColumnType.STRING, path: 'x' }],
        glueTableName: 'Orders-Table',
      }),
    ).toThrow(
      [
        "valueFormat must be one of string, json, binary, confluent, glue, got 'xml'",
        'columns needs format parquet and valueFormat json, confluent or glue',
        "columns: column name 'Bad' must be lowercase letters, digits and '_', starting with a letter",
        "glueTableName must be lowercase letters, digits and '_', starting with a letter, got 'Orders-Table'",
      ].join('\n  - '),
    );
    expect(() => puller.addPipeline('Snappy', { topic: 'snappy', compression: 'snappy' })).toThrow(
      'compression must be gzip, zstd or none when format is ndjson (got snappy)',
    );
    puller.addPipeline('A', { topic: 'a.b' });
    expect(() => puller.addPipeline('B', { topic: 'a_b' })).toThrow(
      "glueTableName 'a_b' is already used in database 'kafka_batch_puller' by pipeline 'A'",
    );
  });

  it('passes cdk-nag', () => {
    const { stack, puller } = pullerIn();
    puller.addPipeline('Orders', {
      topic: 'orders',
      format: OutputFormat.PARQUET,
      valueFormat: ValueFormat.JSON,
    });
    Aspects.of(stack).add(new AwsSolutionsChecks());
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
    expect(findings).toEqual([]);
  });
});
