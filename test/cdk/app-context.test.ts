// The app's settings come from CDK context: cdk.json's defaults give a working stack, `-c` strings
// override them, and bad values are reported together, naming their keys.
import { readFileSync } from 'node:fs';
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPullerStack } from '../../lib/index.js';
import { constructIdForTopic } from '../../lib/kafka-batch-puller-stack.js';
import { appSettingsFromContext } from '../../lib/stack-context.js';
import { ACCOUNT, CLUSTER_ARN, REGION } from './support.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

/** Context as the CDK CLI gives it: cdk.json's values, overridden by `-c key=value` strings. */
function context(overrides: Record<string, string> = {}): (key: string) => unknown {
  const merged = { ...cdkJson.context, ...overrides };
  return (key) => merged[key];
}

function synth(
  overrides: Record<string, string> = {},
  validate = false,
): { stack: KafkaBatchPullerStack; template: Template } {
  const settings = appSettingsFromContext(context(overrides));
  const app = new App({
    // CloudFormation schema validation, as `cdk synth` runs it, with its findings as errors; once per file.
    builtinCloudFormationValidation: validate,
    context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:validateAgainstDefaultRules': validate },
  });
  const stack = new KafkaBatchPullerStack(app, settings.stackName, settings.props);
  if (settings.nag) Aspects.of(app).add(new AwsSolutionsChecks());
  return { stack, template: Template.fromStack(stack) };
}

describe('the app with cdk.json defaults', () => {
  const { stack, template } = synth();

  it('rebuilds the handler bundle from the source, then runs the app with tsx', () => {
    expect(cdkJson.app).toBe('npx tsx scripts/bundle-handler.ts && npx tsx bin/cdk-app.ts');
  });

  it('builds one plaintext pipeline for topic events, every minute, outside any VPC', () => {
    expect(stack.stackName).toBe('KafkaBatchPuller');
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          KAFKA_BROKERS: 'redpanda:9092',
          KAFKA_TOPIC: 'events',
          KAFKA_SECURITY: 'plaintext',
        }),
      },
    });
  });

  it('outputs the bucket, table, failure queue and function names', () => {
    for (const output of ['BucketName', 'StateTableName', 'FailureQueueUrl', 'EventsFunctionName']) {
      template.hasOutput(output, {});
    }
  });

  it('passes the cdk-nag checks it runs at synth', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });
});

describe('the app with -c overrides for MSK IAM in a VPC', () => {
  const { stack, template } = synth(
    {
      brokers: 'b-1.events:9098,b-2.events:9098',
      kafkaSecurity: 'msk-iam',
      mskClusterArn: CLUSTER_ARN,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2',
      routeTableIds: 'rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2',
      topics: 'orders,payments.v2',
      batchIntervalSeconds: '300',
      memoryMb: '2048',
      removalPolicy: 'destroy',
      architecture: 'x86_64',
      alarmTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:alarms`,
      logRetentionDays: '14',
      shards: '2',
      compressionLevel: '1',
      fetchPartitionMb: '0.5',
      fetchQueueMb: '32',
    },
    true,
  );

  it('passes CloudFormation schema validation (synth would throw otherwise)', () => {
    expect(template.toJSON().Resources).toBeDefined();
  });

  it('builds a pipeline per topic with the shared settings', () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    template.allResourcesProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)' });
    template.allResourcesProperties('AWS::Lambda::Function', {
      MemorySize: 2048,
      Architectures: ['x86_64'],
      VpcConfig: { SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'] },
      Environment: {
        Variables: Match.objectLike({
          KAFKA_BROKERS: 'b-1.events:9098,b-2.events:9098',
          COMPRESSION_LEVEL: '1',
          FETCH_PARTITION_MB: '0.5',
          FETCH_QUEUE_MB: '32',
        }),
      },
    });
    expect(stack.pipelines.map((p) => p.node.id)).toEqual(['Orders', 'PaymentsV2']);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.hasOutput('OrdersStateMachineArn', {});
    expect(stack.pipelines.map((p) => p.shards)).toEqual([2, 2]);
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [`arn:aws:sns:${REGION}:${ACCOUNT}:alarms`],
    });
  });

  it('creates the gateway endpoints on the given route tables', () => {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    template.allResourcesProperties('AWS::EC2::VPCEndpoint', {
      RouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
    });
  });

  it('passes the cdk-nag checks', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });
});

describe('the app with a pipelines list', () => {
  it('takes per-pipeline settings, falling back to the top-level ones', () => {
    const settings = appSettingsFromContext(
      context({
        batchIntervalSeconds: '120',
        pipelines: JSON.stringify([
          { topic: 'orders', id: 'OrdersLanding', groupId: 'orders-s3', outputPrefix: 'landing' },
          {
            topic: 'clicks',
            batchIntervalSeconds: 600,
            pollIntervalSeconds: 10,
            startPosition: 'latest',
            enabled: false,
            shards: 8,
          },
        ]),
      }),
    );
    const [orders, clicks] = settings.props.pipelines;
    expect(settings.props.pipelines).toHaveLength(2);
    expect(orders).toMatchObject({
      topic: 'orders',
      id: 'OrdersLanding',
      groupId: 'orders-s3',
      outputPrefix: 'landing',
    });
    expect(orders?.batchInterval?.toSeconds()).toBe(120);
    expect(clicks?.batchInterval?.toSeconds()).toBe(600);
    expect(clicks?.pollInterval?.toSeconds()).toBe(10);
    expect(clicks?.startPosition?.value).toBe('latest');
    expect(clicks?.enabled).toBe(false);
    expect(clicks?.shards).toBe(8);
    expect(orders?.shards).toBeUndefined();
  });

  it('takes shards from -c, a string, for every topic', () => {
    const settings = appSettingsFromContext(context({ shards: '4' }));
    expect(settings.props.pipelines.map((pipeline) => pipeline.shards)).toEqual([4]);
  });
});

describe('bad context', () => {
  it('lists every bad value, naming its key', () => {
    const attempt = () =>
      appSettingsFromContext(
        context({
          brokers: '',
          kafkaSecurity: 'sasl-plain',
          batchIntervalSeconds: 'five',
          logRetentionDays: '31',
          startPosition: 'yesterday',
        }),
      );
    expect(attempt).toThrow(/Invalid CDK context/);
    expect(attempt).toThrow(/context batchIntervalSeconds must be a number, got "five"/);
    expect(attempt).toThrow(/context kafkaSecurity must be one of plaintext, tls, scram-sha-512, msk-iam/);
    expect(attempt).toThrow(/context brokers is required/);
    expect(attempt).toThrow(/context logRetentionDays must be one of CloudWatch Logs' retention periods/);
    expect(attempt).toThrow(/startPosition must be earliest, latest or an ISO-8601 time, got "yesterday"/);
  });

  it('rejects unknown keys and missing topics in the pipelines list', () => {
    const attempt = () =>
      appSettingsFromContext(context({ pipelines: '[{"topic": "orders", "batchInterval": 60}, {}]' }));
    expect(attempt).toThrow(/context pipelines\[0\] has an unknown key batchInterval/);
    expect(attempt).toThrow(/context pipelines\[1\]\.topic is required/);
  });

  it('rejects a pipelines value that is not JSON', () => {
    expect(() => appSettingsFromContext(context({ pipelines: '[{topic: orders}]' }))).toThrow(
      /context pipelines must be a JSON array/,
    );
  });

  it('rejects a VPC without subnets, or without route tables for the endpoints', () => {
    expect(() => synth({ vpcId: 'vpc-0123456789abcdef0' })).toThrow(/subnetIds is required with vpcId/);
    expect(() => synth({ vpcId: 'vpc-0123456789abcdef0', subnetIds: 'subnet-0aaaaaaaaaaaaaaa1' })).toThrow(
      /routeTableIds must give the route table of each of subnetIds/,
    );
    expect(() =>
      synth({
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: 'subnet-0aaaaaaaaaaaaaaa1',
        createVpcEndpoints: 'false',
      }),
    ).not.toThrow();
    expect(() => synth({ subnetIds: 'subnet-0aaaaaaaaaaaaaaa1' })).toThrow(/subnetIds needs vpcId/);
  });

  it('names the context key of a missing secret or cluster', () => {
    expect(() => synth({ kafkaSecurity: 'scram-sha-512' })).toThrow(
      /saslSecretArn is required when kafkaSecurity is 'scram-sha-512'/,
    );
    expect(() => synth({ kafkaSecurity: 'msk-iam' })).toThrow(
      /mskClusterArn is required when kafkaSecurity is 'msk-iam'/,
    );
  });

  it('passes the constructs errors through, e.g. an interval of part of a minute', () => {
    expect(() => synth({ batchIntervalSeconds: '90' })).toThrow(
      /batchInterval must be a whole number of minutes/,
    );
  });
});

describe('constructIdForTopic', () => {
  it.each([
    ['orders', 'Orders'],
    ['orders.v1-raw', 'OrdersV1Raw'],
    ['__consumer_offsets', 'ConsumerOffsets'],
  ])('turns %s into %s', (topic, id) => {
    expect(constructIdForTopic(topic)).toBe(id);
  });
});
