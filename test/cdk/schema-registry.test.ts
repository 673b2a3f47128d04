// The puller's schema registry: the pipelines that decode `confluent` keys or values get its URL and its
// login secret's ARN (never the login), and only their roles may read that secret; the others get
// neither. Bad registry props are refused at synth, naming the prop.
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller } from '../../lib/kafka-batch-puller.js';
import { KafkaSecurityMode } from '../../lib/kafka-security.js';
import type { PullerPipeline } from '../../lib/puller-pipeline.js';
import { OutputFormat, ValueFormat } from '../../src/core/value-format.js';
import { newStack, statementsOf } from './support.js';

const URL = 'https://registry.example.com:8081';

function pullerWithRegistry() {
  const stack = newStack();
  const key = new kms.Key(stack, 'RegistryKey', { enableKeyRotation: true });
  const secret = new secretsmanager.Secret(stack, 'RegistryLogin', { encryptionKey: key });
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    schemaRegistryUrl: URL,
    schemaRegistrySecret: secret,
  });
  const decoding = puller.addPipeline('Orders', { topic: 'orders', valueFormat: ValueFormat.CONFLUENT });
  const plain = puller.addPipeline('Clicks', { topic: 'clicks', valueFormat: ValueFormat.JSON });
  return { stack, key, secret, decoding, plain, template: Template.fromStack(stack) };
}

function variablesOf(template: Template, pipeline: PullerPipeline): Record<string, unknown> {
  const id = Stack.of(pipeline).getLogicalId(pipeline.lambdaFunction.node.defaultChild as CfnElement);
  return template.toJSON().Resources[id].Properties.Environment.Variables;
}

describe("the puller's schema registry", () => {
  it('gives the decoding pipeline the URL and the secret ARN, and the other pipeline neither', () => {
    const { stack, secret, decoding, plain, template } = pullerWithRegistry();
    expect(variablesOf(template, decoding)).toMatchObject({
      VALUE_FORMAT: 'confluent',
      SCHEMA_REGISTRY_URL: URL,
      SCHEMA_REGISTRY_SECRET_ARN: stack.resolve(secret.secretArn),
    });
    expect(variablesOf(template, plain)).not.toHaveProperty('SCHEMA_REGISTRY_URL');
    expect(variablesOf(template, plain)).not.toHaveProperty('SCHEMA_REGISTRY_SECRET_ARN');
  });

  it('lets only the decoding pipeline read the login secret, and decrypt it through Secrets Manager', () => {
    const { stack, key, secret, decoding, plain, template } = pullerWithRegistry();
    const secretReads = (pipeline: PullerPipeline) =>
      statementsOf(template, pipeline.role).filter((s) =>
        s.actions.includes('secretsmanager:GetSecretValue'),
      );
    expect(secretReads(decoding)).toEqual([
      { actions: ['secretsmanager:GetSecretValue'], resources: [stack.resolve(secret.secretFullArn)] },
    ]);
    expect(secretReads(plain)).toEqual([]);
    expect(statementsOf(template, decoding.role)).toContainEqual({
      actions: ['kms:Decrypt'],
      resources: [stack.resolve(key.keyArn)],
      conditions: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
  });

  it("lets a glue pipeline read its registry's schema versions only, and tells it the registry's name", () => {
    const stack = newStack();
    const puller = new KafkaBatchPuller(stack, 'Puller', {
      brokers: ['broker-1:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
      glueSchemaRegistryName: 'orders-registry',
    });
    const decoding = puller.addPipeline('Orders', { topic: 'orders', valueFormat: ValueFormat.GLUE });
    const plain = puller.addPipeline('Clicks', { topic: 'clicks' });
    const template = Template.fromStack(stack);
    const glueReads = (pipeline: PullerPipeline) =>
      statementsOf(template, pipeline.role).filter((s) => s.actions.includes('glue:GetSchemaVersion'));
    const arn = (resource: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:glue:eu-west-1:123456789012:${resource}`]],
    });
    expect(glueReads(decoding)).toEqual([
      {
        actions: ['glue:GetSchemaVersion'],
        resources: [arn('registry/orders-registry'), arn('schema/orders-registry/*')],
      },
    ]);
    expect(glueReads(plain)).toEqual([]);
    expect(variablesOf(template, decoding)).toMatchObject({
      VALUE_FORMAT: 'glue',
      GLUE_SCHEMA_REGISTRY_NAME: 'orders-registry',
    });
    expect(variablesOf(template, plain)).not.toHaveProperty('GLUE_SCHEMA_REGISTRY_NAME');
  });

  it('makes no Hive-style table for Parquet values typed by the registry, whose columns only an Iceberg table can follow', () => {
    const stack = newStack();
    const puller = new KafkaBatchPuller(stack, 'Puller', {
      brokers: ['broker-1:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
      glueSchemaRegistryName: 'orders-registry',
    });
    const typed = puller.addPipeline('Orders', {
      topic: 'orders',
      valueFormat: ValueFormat.GLUE,
      format: OutputFormat.PARQUET,
    });
    const ndjson = puller.addPipeline('Refunds', { topic: 'refunds', valueFormat: ValueFormat.GLUE });
    const tables = Template.fromStack(stack).findResources('AWS::Glue::Table');
    expect(typed.glueTable).toBeUndefined();
    expect(ndjson.glueTable).toBeDefined();
    expect(Object.values(tables).map((t) => t.Properties.TableInput.Name)).toEqual(['refunds']);
  });

  it.each<[{ schemaRegistryUrl?: string; schemaRegistrySecret?: string }, RegExp]>([
    [{ schemaRegistryUrl: 'registry:8081' }, /schemaRegistryUrl must be an http:\/\/ or https:\/\/ URL/],
    [
      { schemaRegistrySecret: 'login' },
      /schemaRegistrySecret and schemaRegistrySecretEncryptionKey need schemaRegistryUrl/,
    ],
  ])('refuses %j, naming the prop', (props, message) => {
    const stack = newStack();
    const secret =
      props.schemaRegistrySecret === undefined
        ? {}
        : {
            schemaRegistrySecret: secretsmanager.Secret.fromSecretNameV2(
              stack,
              'S',
              props.schemaRegistrySecret,
            ),
          };
    expect(
      () =>
        new KafkaBatchPuller(stack, 'Puller', {
          brokers: ['broker-1:9092'],
          kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
          ...(props.schemaRegistryUrl ? { schemaRegistryUrl: props.schemaRegistryUrl } : {}),
          ...secret,
        }),
    ).toThrow(message);
  });
});
