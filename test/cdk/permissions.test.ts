// The exact IAM permissions of each role, per Kafka security mode: what a run needs and nothing more.
import { Fn, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller, KafkaSecurityMode, type PullerPipeline } from '../../lib/index.js';
import { errorsKey, manifestKey, partKey } from '../../src/core/key-layout.js';
import {
  ACCOUNT,
  CLUSTER_ARN,
  importedVpc,
  newStack,
  REGION,
  type StatementSummary,
  statementsOf,
} from './support.js';

const byActions = (a: StatementSummary, b: StatementSummary) =>
  a.actions.join().localeCompare(b.actions.join());

/** The statements every pipeline's role has, whatever the security mode. */
function baseStatements(
  stack: Stack,
  puller: KafkaBatchPuller,
  pipeline: PullerPipeline,
  prefix = '',
): StatementSummary[] {
  const objects = [
    stack.resolve(puller.bucket.arnForObjects(`${prefix}topic=${pipeline.topic}/*`)),
    stack.resolve(puller.bucket.arnForObjects(`${prefix}errors/topic=${pipeline.topic}/*`)),
  ];
  const pipelineId = `${pipeline.groupId}|${pipeline.topic}`;
  return [
    { actions: ['sqs:SendMessage'], resources: [stack.resolve(puller.failureQueue.queueArn)] },
    {
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [stack.resolve(pipeline.logGroup.logGroupArn)],
    },
    { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: objects },
    { actions: ['s3:GetObject'], resources: objects },
    {
      actions: ['s3:ListBucket'],
      resources: [stack.resolve(puller.bucket.bucketArn)],
      conditions: { StringLike: { 's3:prefix': [`${prefix}topic=${pipeline.topic}/*`] } },
    },
    {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem'],
      resources: [stack.resolve(puller.stateTable.tableArn)],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [pipelineId, `${pipelineId}#*`] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    },
  ];
}

/** Evaluates the few intrinsics an ARN is built from, with the given import values. */
function evaluate(value: unknown, imports: Record<string, string>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => evaluate(item, imports));
  const [fn, args] = Object.entries(value)[0] as [string, unknown];
  const [first, second] = Array.isArray(args) ? args : [];
  switch (fn) {
    case 'Fn::ImportValue':
      return imports[args as string] ?? `unknown import ${args}`;
    case 'Fn::Join':
      return (evaluate(second, imports) as string[]).join(first as string);
    case 'Fn::Split':
      return (evaluate(second, imports) as string).split(first as string);
    case 'Fn::Select':
      return (evaluate(second, imports) as string[])[first as number];
    default:
      return value;
  }
}

describe('permissions with plaintext brokers and no VPC', () => {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  const orders = puller.addPipeline('Orders', { topic: 'orders' });
  const payments = puller.addPipeline('Payments', { topic: 'payments', outputPrefix: 'raw/kafka' });
  const template = Template.fromStack(stack);

  it('lets the function write, read back and list its topic folders, read and put its own state items, log, and report failures: nothing more', () => {
    expect(statementsOf(template, orders.role).sort(byActions)).toEqual(
      baseStatements(stack, puller, orders).sort(byActions),
    );
  });

  it('scopes each pipeline to its own prefix and topic', () => {
    expect(statementsOf(template, payments.role).sort(byActions)).toEqual(
      baseStatements(stack, puller, payments, 'raw/kafka/').sort(byActions),
    );
  });

  it('covers every key the engine writes, and no other topic', () => {
    const patterns = statementsOf(template, payments.role)
      .filter((s) => s.actions.includes('s3:PutObject'))
      .flatMap((s) => s.resources)
      .map((resource) => {
        // { Fn::Join: ['', [<bucket ARN>, '/raw/kafka/topic=payments/*']] } → the key pattern.
        const suffix = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1][1] as string;
        const literal = suffix.slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        return new RegExp(`^${literal}.+$`);
      });
    const window = { startMs: Date.UTC(2026, 0, 31, 9, 0), endMs: Date.UTC(2026, 0, 31, 9, 5) };
    const keys = [
      partKey('raw/kafka', 'payments', window, 3, 0, 'gzip', 'ndjson'),
      errorsKey('raw/kafka', 'payments', window, 3, 0, 'gzip'),
      manifestKey('raw/kafka', 'payments', window),
    ];
    for (const key of keys) expect(patterns.some((p) => p.test(key))).toBe(true);
    expect(patterns.some((p) => p.test(partKey('raw/kafka', 'orders', window, 0, 0, 'gzip', 'ndjson')))).toBe(
      false,
    );
  });

  it('lets the scheduler invoke the function itself (no version or alias) and send to the failure queue', () => {
    const schedulerRole = orders.node.findChild('SchedulerRole') as iam.IRole;
    expect(statementsOf(template, schedulerRole).sort(byActions)).toEqual(
      [
        { actions: ['lambda:InvokeFunction'], resources: [stack.resolve(orders.lambdaFunction.functionArn)] },
        { actions: ['sqs:SendMessage'], resources: [stack.resolve(puller.failureQueue.queueArn)] },
      ].sort(byActions),
    );
  });

  it('grants no wildcard action and no wildcard resource anywhere', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        expect([statement.Action].flat().filter((a: string) => a.includes('*'))).toEqual([]);
        expect([statement.Resource].flat()).not.toContain('*');
      }
    }
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets a downstream reader read one pipeline s batches', () => {
    const readerStack = newStack();
    const readerPuller = new KafkaBatchPuller(readerStack, 'Puller', {
      brokers: ['b:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    });
    const pipeline = readerPuller.addPipeline('Orders', { topic: 'orders' });
    const reader = new iam.Role(readerStack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantReadBatches(reader);
    const resources = statementsOf(Template.fromStack(readerStack), reader).flatMap((s) => s.resources);
    expect(resources).toContainEqual(
      readerStack.resolve(readerPuller.bucket.arnForObjects('topic=orders/*')),
    );
    expect(resources).toContainEqual(
      readerStack.resolve(readerPuller.bucket.arnForObjects('errors/topic=orders/*')),
    );
  });
});

describe('permissions with MSK IAM in a VPC', () => {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b-1.events.abc.c2.kafka.eu-west-1.amazonaws.com:9098'],
    kafkaSecurity: KafkaSecurityMode.MSK_IAM,
    mskClusterArn: CLUSTER_ARN,
    vpc: importedVpc(stack),
  });
  const orders = puller.addPipeline('Orders', { topic: 'orders', groupId: 'orders-to-s3' });
  const template = Template.fromStack(stack);
  const clusterPath = 'events-cluster/0a1b2c3d-1111-2222-3333-444455556666-2';

  it('lets the function connect to the cluster and read only its topic with only its group', () => {
    expect(statementsOf(template, orders.role).sort(byActions)).toEqual(
      [
        ...baseStatements(stack, puller, orders),
        { actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'], resources: [CLUSTER_ARN] },
        {
          actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
          resources: [`arn:aws:kafka:${REGION}:${ACCOUNT}:topic/${clusterPath}/orders`],
        },
        {
          actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
          resources: [`arn:aws:kafka:${REGION}:${ACCOUNT}:group/${clusterPath}/orders-to-s3`],
        },
        {
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        },
      ].sort(byActions),
    );
  });

  it('derives the topic and group ARNs in CloudFormation when the cluster ARN is a token', () => {
    const tokenStack = newStack();
    const tokenPuller = new KafkaBatchPuller(tokenStack, 'Puller', {
      brokers: [Fn.importValue('EventsBrokers')],
      kafkaSecurity: KafkaSecurityMode.MSK_IAM,
      mskClusterArn: Fn.importValue('EventsClusterArn'),
    });
    const pipeline = tokenPuller.addPipeline('Orders', { topic: 'orders', groupId: 'orders-to-s3' });
    const kafka = statementsOf(Template.fromStack(tokenStack), pipeline.role).filter((s) =>
      s.actions[0]?.startsWith('kafka-cluster:'),
    );
    const arns = kafka.map((s) => evaluate(s.resources[0], { EventsClusterArn: CLUSTER_ARN }));
    expect(arns).toEqual([
      CLUSTER_ARN,
      `arn:aws:kafka:${REGION}:${ACCOUNT}:topic/${clusterPath}/orders`,
      `arn:aws:kafka:${REGION}:${ACCOUNT}:group/${clusterPath}/orders-to-s3`,
    ]);
  });
});

describe('permissions with SASL/SCRAM and customer managed keys', () => {
  const stack = newStack();
  const secretKey = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true });
  const bucketKey = new kms.Key(stack, 'BucketKey', { enableKeyRotation: true });
  const tableKey = new kms.Key(stack, 'TableKey', { enableKeyRotation: true });
  const secret = new secretsmanager.Secret(stack, 'Scram', { encryptionKey: secretKey });
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b-1:9096'],
    kafkaSecurity: KafkaSecurityMode.SCRAM_SHA512,
    saslSecret: secret,
    bucketEncryptionKey: bucketKey,
    tableEncryptionKey: tableKey,
  });
  const orders = puller.addPipeline('Orders', { topic: 'orders' });
  const template = Template.fromStack(stack);
  const via = (service: string) => ({
    StringEquals: { 'kms:ViaService': `${service}.${REGION}.amazonaws.com` },
  });

  it('lets the function read the secret and use each key only through its service', () => {
    expect(statementsOf(template, orders.role).sort(byActions)).toEqual(
      [
        ...baseStatements(stack, puller, orders),
        { actions: ['secretsmanager:GetSecretValue'], resources: [stack.resolve(secret.secretArn)] },
        {
          actions: ['kms:Decrypt'],
          resources: [stack.resolve(secretKey.keyArn)],
          conditions: via('secretsmanager'),
        },
        {
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [stack.resolve(bucketKey.keyArn)],
          conditions: via('s3'),
        },
        {
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [stack.resolve(tableKey.keyArn)],
          conditions: via('dynamodb'),
        },
      ].sort(byActions),
    );
  });

  it('matches a secret imported by name by its ARN plus the six-character suffix', () => {
    const nameStack = newStack();
    const imported = secretsmanager.Secret.fromSecretNameV2(nameStack, 'Scram', 'AmazonMSK_puller');
    const p = new KafkaBatchPuller(nameStack, 'Puller', {
      brokers: ['b-1:9096'],
      kafkaSecurity: KafkaSecurityMode.SCRAM_SHA512,
      saslSecret: imported,
    }).addPipeline('Orders', { topic: 'orders' });
    const read = statementsOf(Template.fromStack(nameStack), p.role).find((s) =>
      s.actions.includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(read?.resources)).toMatch(/:secret:AmazonMSK_puller-\?\?\?\?\?\?"/);
  });
});
