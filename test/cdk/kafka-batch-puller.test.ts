// The resources KafkaBatchPuller creates and their security and operational settings.
import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller, KafkaSecurityMode, PullerMetric, StartPosition } from '../../lib/index.js';
import { CLUSTER_ARN, importedVpc, newStack } from './support.js';

describe('KafkaBatchPuller with default settings', () => {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092', 'broker-2:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  const pipeline = puller.addPipeline('Orders', { topic: 'orders' });
  const template = Template.fromStack(stack);

  it('creates a private, TLS-only, encrypted, versioned bucket that aborts incomplete uploads and is retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
              Status: 'Enabled',
            }),
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('creates an on-demand, encrypted state table keyed by pipelineId, with point-in-time recovery, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'pipelineId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pipelineId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        // Closed windows' share items expire (the attribute the state store writes on them).
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        // SSE enabled without a key: the AWS managed key aws/dynamodb.
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('creates an encrypted, TLS-only failure queue that keeps messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: Duration.days(14).toSeconds(),
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('runs the handler on nodejs24.x arm64 as ESM, with reserved concurrency 1 and no VPC', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 60,
      ReservedConcurrentExecutions: 1,
      VpcConfig: Match.absent(),
    });
  });

  it('gives the function every setting the handler reads, and no secret', () => {
    const variables = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: variables } });
    expect(variables.asObject()).toEqual({
      KAFKA_BROKERS: 'broker-1:9092,broker-2:9092',
      KAFKA_TOPIC: 'orders',
      KAFKA_GROUP_ID: 'kafka-batch-puller.orders',
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '5',
      START_POSITION: 'earliest',
      OUTPUT_BUCKET: stack.resolve(puller.bucket.bucketName),
      OUTPUT_PREFIX: '',
      STATE_TABLE: stack.resolve(puller.stateTable.tableName),
      COMPRESSION: 'gzip',
      OUTPUT_FORMAT: 'ndjson',
      KEY_FORMAT: 'string',
      VALUE_FORMAT: 'string',
      PART_SIZE_MB: '64',
      KAFKA_SECURITY: 'plaintext',
      SAFETY_MARGIN_SECONDS: '10',
      POWERTOOLS_SERVICE_NAME: 'kafka-batch-puller',
      POWERTOOLS_METRICS_NAMESPACE: 'KafkaBatchPuller',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps --disable-warning=TimeoutNegativeWarning',
    });
  });

  it('logs to its own log group kept for a month', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: stack.resolve(pipeline.logGroup.logGroupName) },
    });
  });

  it('never retries a run: failed or expired invocations go to the failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: stack.resolve(pipeline.lambdaFunction.functionName),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: { OnFailure: { Destination: stack.resolve(puller.failureQueue.queueArn) } },
    });
  });

  it('schedules the function every batch interval with EventBridge Scheduler, without retries', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: stack.resolve(pipeline.lambdaFunction.functionArn),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: stack.resolve(puller.failureQueue.queueArn) },
      },
    });
  });

  it('lets only EventBridge Scheduler of this account assume the schedule role', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: {
              StringEquals: {
                'aws:SourceAccount': '123456789012',
                'aws:SourceArn': Match.anyValue(),
              },
            },
          },
        ],
      },
    });
  });

  it('alarms on any function error', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(pipeline.lambdaFunction.functionName) }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
    });
  });

  it('alarms when the newest window trails the clock by 3 intervals, or runs stop reporting', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'KafkaBatchPuller',
      MetricName: 'NewestWindowAgeSeconds',
      Dimensions: Match.arrayWith([
        { Name: 'Topic', Value: 'orders' },
        { Name: 'service', Value: 'kafka-batch-puller' },
      ]),
      Statistic: 'Minimum',
      Period: 60,
      Threshold: 180,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
  });

  it('creates no network resources without a VPC', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    expect(() => puller.connections).toThrow(/has no VPC/);
  });
});

describe('KafkaBatchPuller with several pipelines', () => {
  const stack = newStack();
  const topic = new sns.Topic(stack, 'Alarms');
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.TLS,
    alarmTopic: topic,
  });
  const orders = puller.addPipeline('Orders', {
    topic: 'orders',
    batchInterval: Duration.minutes(5),
    pollInterval: Duration.seconds(2),
    allowedLateness: Duration.seconds(30),
    futureTolerance: Duration.minutes(10),
    startPosition: StartPosition.at(new Date('2026-01-31T00:00:00Z')),
    outputPrefix: 'landing/kafka',
    compression: 'none',
    partSize: Size.mebibytes(128),
    safetyMargin: Duration.seconds(20),
    timeout: Duration.minutes(4),
    memorySize: 2048,
    freshnessAlarmIntervals: 4,
    environment: { KAFKA_CLIENT_ID: 'orders-puller' },
  });
  const payments = puller.addPipeline('Payments', { topic: 'payments', enabled: false });
  const template = Template.fromStack(stack);

  it('shares one bucket, table and failure queue', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    expect(puller.pipelines).toEqual([orders, payments]);
  });

  it('gives each pipeline its own function, role, schedule and alarms', () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.resourceCountIs('AWS::IAM::Role', 4);
    expect(orders.role).not.toBe(payments.role);
  });

  it('schedules each pipeline at its own rate', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: stack.resolve(orders.lambdaFunction.functionArn),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 },
      }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'DISABLED',
      Target: Match.objectLike({ Arn: stack.resolve(payments.lambdaFunction.functionArn) }),
    });
  });

  it('passes every pipeline setting to the function environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 240,
      MemorySize: 2048,
      Environment: {
        Variables: Match.objectLike({
          KAFKA_TOPIC: 'orders',
          KAFKA_GROUP_ID: 'kafka-batch-puller.orders',
          KAFKA_SECURITY: 'tls',
          BATCH_INTERVAL_SECONDS: '300',
          POLL_INTERVAL_SECONDS: '2',
          ALLOWED_LATENESS_SECONDS: '30',
          FUTURE_TOLERANCE_SECONDS: '600',
          START_POSITION: '2026-01-31T00:00:00.000Z',
          OUTPUT_PREFIX: 'landing/kafka',
          COMPRESSION: 'none',
          PART_SIZE_MB: '128',
          SAFETY_MARGIN_SECONDS: '20',
          KAFKA_CLIENT_ID: 'orders-puller',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          KAFKA_TOPIC: 'payments',
          KAFKA_GROUP_ID: 'kafka-batch-puller.payments',
        }),
      },
    });
  });

  it('sizes alarm periods and the freshness threshold by the interval, and notifies the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'NewestWindowAgeSeconds',
      Dimensions: Match.arrayWith([{ Name: 'Topic', Value: 'orders' }]),
      Period: 300,
      Threshold: 1200,
      AlarmActions: [stack.resolve(topic.topicArn)],
      OKActions: [stack.resolve(topic.topicArn)],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Period: 300,
      AlarmActions: [stack.resolve(topic.topicArn)],
    });
  });

  it('exposes the handler metrics with their dimensions', () => {
    const metric = orders.metric(PullerMetric.CONSUMER_LAG);
    expect(metric.namespace).toBe('KafkaBatchPuller');
    expect(metric.dimensions).toEqual({ service: 'kafka-batch-puller', Topic: 'orders' });
    expect(metric.period.toSeconds()).toBe(300);
    expect(metric.statistic).toBe('Average');
  });

  it('offers a metric method for each thing worth alarming on, with its statistic over one interval', () => {
    const metrics = {
      newestWindowAge: orders.metricNewestWindowAge(),
      recordsWritten: orders.metricRecordsWritten(),
      consumerLag: orders.metricConsumerLag(),
      errorRecords: orders.metricErrorRecords(),
      errors: orders.metricErrors(),
    };
    const summary = Object.fromEntries(
      Object.entries(metrics).map(([name, m]) => [
        name,
        [m.namespace, m.metricName, m.statistic, m.period.toSeconds()],
      ]),
    );
    expect(summary).toEqual({
      newestWindowAge: ['KafkaBatchPuller', 'NewestWindowAgeSeconds', 'Minimum', 300],
      recordsWritten: ['KafkaBatchPuller', 'RecordsWritten', 'Sum', 300],
      consumerLag: ['KafkaBatchPuller', 'ConsumerLag', 'Maximum', 300],
      errorRecords: ['KafkaBatchPuller', 'ErrorRecords', 'Sum', 300],
      errors: ['AWS/Lambda', 'Errors', 'Sum', 300],
    });
    expect(metrics.errors.dimensions).toEqual({ FunctionName: orders.lambdaFunction.functionName });
    expect(orders.metricConsumerLag({ period: Duration.hours(1) }).period.toHours()).toBe(1);
  });

  it('builds its alarms on the metric methods', () => {
    const same = (m: cloudwatch.IMetric) => {
      const c = m.toMetricConfig().metricStat;
      return [c?.namespace, c?.metricName, c?.statistic, c?.period.toSeconds(), c?.dimensions?.length];
    };
    expect(same(orders.freshnessAlarm.metric)).toEqual(same(orders.metricNewestWindowAge()));
    expect(same(orders.errorsAlarm.metric)).toEqual(same(orders.metricErrors()));
  });
});

describe('KafkaBatchPuller with customer managed keys, existing resources and a development removal policy', () => {
  const stack = newStack();
  const bucketKey = new kms.Key(stack, 'BucketKey', { enableKeyRotation: true });
  const tableKey = new kms.Key(stack, 'TableKey', { enableKeyRotation: true });
  const logs = new s3.Bucket(stack, 'AccessLogs');
  new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    bucketEncryptionKey: bucketKey,
    tableEncryptionKey: tableKey,
    serverAccessLogsBucket: logs,
    serverAccessLogsPrefix: 'puller/',
    abortIncompleteMultipartUploadAfter: Duration.days(3),
    dataRemovalPolicy: RemovalPolicy.DESTROY,
  }).addPipeline('Orders', { topic: 'orders' });
  const template = Template.fromStack(stack);

  it('encrypts the bucket with the key (and a bucket key), logs access, and follows the removal policy', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: stack.resolve(bucketKey.keyArn),
              },
            },
          ],
        },
        LoggingConfiguration: {
          DestinationBucketName: stack.resolve(logs.bucketName),
          LogFilePrefix: 'puller/',
        },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } })],
        },
      }),
    });
  });

  it('encrypts the table with the key', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: stack.resolve(tableKey.keyArn),
        },
      }),
    });
  });
});

describe('KafkaBatchPuller with an existing bucket and table', () => {
  const stack = newStack();
  const bucket = s3.Bucket.fromBucketName(stack, 'Existing', 'my-landing-bucket');
  const table = dynamodb.Table.fromTableName(stack, 'ExistingTable', 'puller-state');
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    bucket,
    stateTable: table,
  });
  puller.addPipeline('Orders', { topic: 'orders' });
  const template = Template.fromStack(stack);

  it('creates neither and points the function at them', () => {
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ OUTPUT_BUCKET: 'my-landing-bucket', STATE_TABLE: 'puller-state' }),
      },
    });
  });
});

describe('KafkaBatchPuller in a VPC with MSK IAM', () => {
  const stack = newStack();
  const vpc = importedVpc(stack);
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b-1.events.abc.c2.kafka.eu-west-1.amazonaws.com:9098'],
    kafkaSecurity: KafkaSecurityMode.MSK_IAM,
    mskClusterArn: CLUSTER_ARN,
    vpc,
  });
  puller.addPipeline('Orders', { topic: 'orders' });
  puller.addPipeline('Payments', { topic: 'payments' });
  const template = Template.fromStack(stack);

  it('places every function in the private subnets with one shared outbound-only security group', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0123456789abcdef0',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
      SecurityGroupIngress: Match.absent(),
    });
    const sg = stack.resolve(puller.securityGroups[0]?.securityGroupId);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
        SecurityGroupIds: [sg],
      });
    }
  });

  it('adds S3 and DynamoDB gateway endpoints on the subnets route tables, and no Secrets Manager endpoint', () => {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    for (const service of ['s3', 'dynamodb']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
        RouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
      });
    }
  });

  it('lets the brokers security group admit the functions', () => {
    expect(puller.connections.securityGroups).toHaveLength(1);
  });
});

describe('KafkaBatchPuller in a VPC with SASL/SCRAM', () => {
  const stack = newStack();
  const vpc = importedVpc(stack);
  const secretKey = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true });
  const secret = new secretsmanager.Secret(stack, 'Scram', {
    secretName: 'AmazonMSK_puller',
    encryptionKey: secretKey,
  });
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b-1.events.abc.c2.kafka.eu-west-1.amazonaws.com:9096'],
    kafkaSecurity: KafkaSecurityMode.SCRAM_SHA512,
    saslSecret: secret,
    vpc,
  });
  puller.addPipeline('Orders', { topic: 'orders' });
  const template = Template.fromStack(stack);

  it('passes the secret ARN, never the secret, to the function', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          KAFKA_SECURITY: 'scram-sha-512',
          KAFKA_SASL_SECRET_ARN: stack.resolve(secret.secretArn),
        }),
      },
    });
  });

  it('adds a private Secrets Manager endpoint that admits only the functions on 443', () => {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 3);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: Match.stringLikeRegexp('secretsmanager'),
      PrivateDnsEnabled: true,
      SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: stack.resolve(puller.securityGroups[0]?.securityGroupId),
    });
  });
});

describe('KafkaBatchPuller with createVpcEndpoints false and given security groups', () => {
  const stack = newStack();
  const vpc = importedVpc(stack);
  const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'ClientSg', 'sg-0123456789abcdef0');
  new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['broker:9094'],
    kafkaSecurity: KafkaSecurityMode.TLS,
    vpc,
    securityGroups: [sg],
    createVpcEndpoints: false,
  }).addPipeline('Orders', { topic: 'orders' });
  const template = Template.fromStack(stack);

  it('creates no endpoints or security groups and uses the given group', () => {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: ['sg-0123456789abcdef0'] },
    });
  });
});
