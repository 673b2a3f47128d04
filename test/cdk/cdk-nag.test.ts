// cdk-nag's AwsSolutions pack finds nothing unsuppressed in any configuration, and every suppression
// carries its reason.
import { Aspects, Duration, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller, KafkaSecurityMode } from '../../lib/index.js';
import { ACCOUNT, CLUSTER_ARN, importedVpc, newStack, REGION } from './support.js';

const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;

/** Runs the AwsSolutions checks on `stack` and returns their unsuppressed findings. */
function nagFindings(stack: Stack): string[] {
  Aspects.of(stack).add(new AwsSolutionsChecks());
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((finding) => `${finding.id}: ${String(finding.entry.data).split('\n')[0]}`);
}

const configurations: Array<[string, (stack: Stack) => void]> = [
  [
    'plaintext brokers, no VPC, two pipelines (the LocalStack shape)',
    (stack) => {
      const puller = new KafkaBatchPuller(stack, 'Puller', {
        brokers: ['redpanda:9092'],
        kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
      });
      puller.addPipeline('Orders', { topic: 'orders' });
      puller.addPipeline('Payments', { topic: 'payments', outputPrefix: 'raw' });
    },
  ],
  [
    'MSK IAM in a VPC with endpoints and an alarm topic',
    (stack) => {
      new KafkaBatchPuller(stack, 'Puller', {
        brokers: ['b-1.events.abc.c2.kafka.eu-west-1.amazonaws.com:9098'],
        kafkaSecurity: KafkaSecurityMode.MSK_IAM,
        mskClusterArn: CLUSTER_ARN,
        vpc: importedVpc(stack),
        alarmTopic: sns.Topic.fromTopicArn(stack, 'Alarms', `arn:aws:sns:${REGION}:${ACCOUNT}:alarms`),
      }).addPipeline('Orders', { topic: 'orders', batchInterval: Duration.minutes(5) });
    },
  ],
  [
    'SASL/SCRAM in a VPC with customer managed keys and access logs',
    (stack) => {
      new KafkaBatchPuller(stack, 'Puller', {
        brokers: ['b-1:9096'],
        kafkaSecurity: KafkaSecurityMode.SCRAM_SHA512,
        saslSecret: secretsmanager.Secret.fromSecretCompleteArn(
          stack,
          'Scram',
          `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:AmazonMSK_puller-AbCdEf`,
        ),
        saslSecretEncryptionKey: kms.Key.fromKeyArn(stack, 'SecretKey', KEY_ARN),
        bucketEncryptionKey: kms.Key.fromKeyArn(stack, 'BucketKey', KEY_ARN),
        tableEncryptionKey: kms.Key.fromKeyArn(stack, 'TableKey', KEY_ARN),
        serverAccessLogsBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'access-logs-bucket'),
        vpc: importedVpc(stack),
      }).addPipeline('Orders', { topic: 'orders' });
    },
  ],
  [
    'MSK IAM in a VPC with 8 shards (a Step Functions state machine per pipeline)',
    (stack) => {
      const puller = new KafkaBatchPuller(stack, 'Puller', {
        brokers: ['b-1.events.abc.c2.kafka.eu-west-1.amazonaws.com:9098'],
        kafkaSecurity: KafkaSecurityMode.MSK_IAM,
        mskClusterArn: CLUSTER_ARN,
        vpc: importedVpc(stack),
      });
      puller.addPipeline('Orders', { topic: 'orders', shards: 8 });
      puller.addPipeline('Clicks', { topic: 'clicks', shards: 2, batchInterval: Duration.minutes(10) });
    },
  ],
  [
    'TLS with an existing bucket',
    (stack) => {
      new KafkaBatchPuller(stack, 'Puller', {
        brokers: ['broker:9094'],
        kafkaSecurity: KafkaSecurityMode.TLS,
        bucket: s3.Bucket.fromBucketName(stack, 'Existing', 'existing-bucket'),
      }).addPipeline('Orders', { topic: 'orders' });
    },
  ],
];

describe('cdk-nag AwsSolutions checks', () => {
  it.each(configurations)('finds nothing unsuppressed with %s', (_name, build) => {
    const stack = newStack();
    build(stack);
    expect(nagFindings(stack)).toEqual([]);
  });

  it('does report a resource that breaks a rule (the checks run)', () => {
    const stack = newStack();
    new sqs.Queue(stack, 'PlainQueue');
    expect(nagFindings(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/AwsSolutions-SQS4/)]));
  });

  it('finds nothing in an environment-agnostic stack either', () => {
    const stack = newStack({ env: false });
    configurations[1]?.[1](stack);
    expect(nagFindings(stack)).toEqual([]);
  });

  it('suppresses only named rules, each with a reason', () => {
    const stack = newStack();
    configurations[2]?.[1](stack);
    const template = Template.fromStack(stack);
    const suppressed = Object.values(
      template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>,
    )
      .flatMap(
        (resource) =>
          (resource.Metadata?.cdk_nag as { rules_to_suppress?: unknown[] } | undefined)?.rules_to_suppress ??
          [],
      )
      .map((rule) => rule as { id: string; reason: string });
    expect(new Set(suppressed.map((rule) => rule.id))).toEqual(
      new Set(['AwsSolutions-IAM5', 'AwsSolutions-SQS3']),
    );
    for (const rule of suppressed) expect(rule.reason.length).toBeGreaterThan(40);
  });

  it('suppresses only X-Ray and the log-delivery wildcard on a state machine and its role', () => {
    const stack = newStack();
    configurations[3]?.[1](stack);
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      {
        Type: string;
        Metadata?: { cdk_nag?: { rules_to_suppress?: Array<{ id: string; applies_to?: unknown }> } };
      }
    >;
    const rulesOf = (type: string) =>
      Object.values(resources)
        .filter((resource) => resource.Type === type)
        .flatMap((resource) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(rulesOf('AWS::StepFunctions::StateMachine').map((rule) => rule.id)).toEqual([
      'AwsSolutions-SF2',
      'AwsSolutions-SF2',
    ]);
    const policyRules = Object.entries(resources)
      .filter(
        ([id, resource]) => resource.Type === 'AWS::IAM::Policy' && id.includes('ShardStateMachineRole'),
      )
      .flatMap(([, resource]) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(policyRules).toEqual([
      expect.objectContaining({ id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'] }),
      expect.objectContaining({ id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'] }),
    ]);
  });
});
