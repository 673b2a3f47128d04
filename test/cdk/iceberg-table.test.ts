// A pipeline whose windows are Iceberg snapshots: its Glue database, the variables that point the function
// at Glue's Iceberg REST endpoint and at the table's location in its data folder, and exactly the catalog
// calls a commit makes, on exactly its catalog, database and table.
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller } from '../../lib/kafka-batch-puller.js';
import { KafkaSecurityMode } from '../../lib/kafka-security.js';
import { TableFormat } from '../../src/core/setting-rules.js';
import { OutputFormat } from '../../src/core/value-format.js';
import { ACCOUNT, newStack, REGION, statementsOf } from './support.js';

function icebergPipeline() {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  const pipeline = puller.addPipeline('Orders', {
    topic: 'shop.orders',
    outputPrefix: 'lake/raw',
    format: OutputFormat.PARQUET,
    tableFormat: TableFormat.ICEBERG,
    glueDatabaseName: 'lake',
  });
  return {
    stack,
    puller,
    pipeline,
    /** Synthesizes the stack: after it, nothing more may be added to it. */
    get template() {
      return Template.fromStack(stack);
    },
  };
}

const glueArn = (resource: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:glue:${REGION}:${ACCOUNT}:${resource}`]],
});

describe('Iceberg table', () => {
  it("creates the table's database, and no Hive-style table in its place", () => {
    const { template, pipeline } = icebergPipeline();
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'lake' } });
    template.resourceCountIs('AWS::Glue::Table', 0);
    expect(pipeline.glueTable).toBeUndefined();
    expect(pipeline.icebergTable?.tableName).toBe('lake_raw_shop_orders');
  });

  it("points the function at Glue's catalog, the table, and a location in the pipeline's data folder", () => {
    const { template, stack, puller } = icebergPipeline();
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    const variables = fn?.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables).toMatchObject({
      TABLE_FORMAT: 'iceberg',
      ICEBERG_SIGNING_SERVICE: 'glue',
      ICEBERG_WAREHOUSE: ACCOUNT,
      ICEBERG_NAMESPACE: 'lake',
      ICEBERG_TABLE: 'lake_raw_shop_orders',
      ICEBERG_TABLE_LOCATION: {
        'Fn::Join': [
          '',
          ['s3://', stack.resolve(puller.bucket.bucketName), '/lake/raw/topic=shop.orders/_iceberg'],
        ],
      },
    });
    // The endpoint follows from the signing service and the function's region.
    expect(variables.ICEBERG_CATALOG_URL).toBeUndefined();
  });

  it('grants exactly the catalog calls a commit makes, on its catalog, database and table only', () => {
    const { template, pipeline } = icebergPipeline();
    const glue = statementsOf(template, pipeline.role).filter((s) =>
      s.actions.some((a) => a.startsWith('glue:')),
    );
    const catalog = glueArn('catalog');
    const database = glueArn('database/lake');
    const table = glueArn('table/lake/lake_raw_shop_orders');
    expect(glue).toEqual([
      { actions: ['glue:GetCatalog'], resources: [catalog] },
      { actions: ['glue:GetDatabase'], resources: [catalog, database] },
      {
        actions: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
        resources: [catalog, database, table],
      },
    ]);
  });

  it("lets a reader read the table's definition and its data folder, and change nothing", () => {
    const { stack, pipeline } = icebergPipeline();
    const reader = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.icebergTable?.grantRead(reader);
    const actions = statementsOf(Template.fromStack(stack), reader).flatMap((s) => s.actions);
    expect(actions).toEqual(
      expect.arrayContaining(['glue:GetTable', 'glue:GetDatabase', 's3:GetObject*', 's3:List*']),
    );
    expect(actions.filter((a) => /Create|Update|Put|Delete/.test(a))).toEqual([]);
  });

  it('grants no catalog call to a pipeline without the table format', () => {
    const stack = newStack();
    const puller = new KafkaBatchPuller(stack, 'Puller', {
      brokers: ['broker-1:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    });
    const pipeline = puller.addPipeline('Orders', { topic: 'orders', format: OutputFormat.PARQUET });
    const actions = statementsOf(Template.fromStack(stack), pipeline.role).flatMap((s) => s.actions);
    expect(actions.filter((a) => a.startsWith('glue:'))).toEqual([]);
  });

  it('refuses a second pipeline whose Iceberg table takes a Hive-style table name', () => {
    const stack = newStack();
    const puller = new KafkaBatchPuller(stack, 'Puller', {
      brokers: ['broker-1:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    });
    puller.addPipeline('Hive', { topic: 'orders', glueTableName: 'orders' });
    expect(() =>
      puller.addPipeline('Iceberg', {
        topic: 'orders',
        outputPrefix: 'other',
        format: OutputFormat.PARQUET,
        tableFormat: TableFormat.ICEBERG,
        glueTableName: 'orders',
      }),
    ).toThrow(/glueTableName 'orders' is already used in database 'kafka_batch_puller' by pipeline 'Hive'/);
  });
});
