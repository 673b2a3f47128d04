// The puller's shared resources (output bucket, state table, failure queue, Kafka connection, VPC
// endpoints) and the pipelines that use them, one per topic.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KafkaSecurityMode } from './kafka-security.js';
import { addNagSuppressions } from './nag-suppressions.js';
import type { PullerPipelineOptions } from './pipeline-options.js';
import { PullerPipeline } from './puller-pipeline.js';
import { type KafkaBatchPullerProps, PullerLogLevel } from './puller-props.js';
import { pullerProblems } from './puller-validation.js';
import {
  bucketDefaults,
  failureQueueDefaults,
  noncurrentVersionRetention,
  stateTableDefaults,
} from './secure-defaults.js';

/**
 * Lands Kafka topics in S3 as time-windowed batches, one pipeline per topic, each run by EventBridge
 * Scheduler every batch interval. Owns (or takes) the output bucket and the state table the pipelines
 * share, a failure queue, and the Kafka connection settings.
 *
 * @example
 * const puller = new KafkaBatchPuller(this, 'Puller', {
 *   brokers: [cluster.bootstrapBrokersSaslIam],
 *   kafkaSecurity: KafkaSecurityMode.MSK_IAM,
 *   mskClusterArn: cluster.clusterArn,
 *   vpc,
 * });
 * puller.addPipeline('Orders', { topic: 'orders', batchInterval: Duration.minutes(5) });
 */
export class KafkaBatchPuller extends Construct implements ec2.IConnectable {
  /** Where batches land. */
  readonly bucket: s3.IBucket;
  /** One item per pipeline: window boundary, offsets, pending batch, lease. */
  readonly stateTable: dynamodb.ITable;
  /** Failed and dropped invocations of every pipeline (Lambda's on-failure destination, Scheduler's DLQ). */
  readonly failureQueue: sqs.IQueue;
  /** The brokers the functions connect to. */
  readonly brokers: readonly string[];
  /** How the functions authenticate to Kafka. */
  readonly kafkaSecurity: KafkaSecurityMode;
  /** The MSK cluster, with `KafkaSecurityMode.MSK_IAM`. */
  readonly mskClusterArn: string | undefined;
  /** The SCRAM credentials, with `KafkaSecurityMode.SCRAM_SHA512`. */
  readonly saslSecret: secretsmanager.ISecret | undefined;
  /** The key encrypting `saslSecret`, when known. */
  readonly saslSecretEncryptionKey: kms.IKey | undefined;
  /** The schema registry the pipelines with `confluent` keys or values decode with. */
  readonly schemaRegistryUrl: string | undefined;
  /** The registry's login secret, when it takes one. */
  readonly schemaRegistrySecret: secretsmanager.ISecret | undefined;
  /** The key encrypting `schemaRegistrySecret`, when known. */
  readonly schemaRegistrySecretEncryptionKey: kms.IKey | undefined;
  /** The Glue Schema Registry the pipelines with `glue` keys or values decode with. */
  readonly glueSchemaRegistryName: string | undefined;
  /** The bucket's KMS key, when it has one. */
  readonly bucketEncryptionKey: kms.IKey | undefined;
  /** The state table's KMS key, when it has a customer managed one. */
  readonly tableEncryptionKey: kms.IKey | undefined;
  /** The VPC the functions run in, if any. */
  readonly vpc: ec2.IVpc | undefined;
  /** The functions' subnets in `vpc`. */
  readonly vpcSubnets: ec2.SubnetSelection | undefined;
  /** The functions' security groups (empty without a VPC). */
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  /** Where the alarms notify. */
  readonly alarmTopic: sns.ITopic | undefined;
  /** Retention of the functions' logs. */
  readonly logRetention: logs.RetentionDays;
  /** The functions' log level. */
  readonly logLevel: PullerLogLevel;
  /** CloudWatch namespace of the metrics. */
  readonly metricsNamespace: string;
  /** The `service` dimension and log field. */
  readonly serviceName: string;
  /** The functions' instruction set. */
  readonly architecture: lambda.Architecture;

  private readonly vpcConnections: ec2.Connections | undefined;

  constructor(scope: Construct, id: string, props: KafkaBatchPullerProps) {
    super(scope, id);

    // 1. Props, checked together.
    const problems = pullerProblems(props);
    if (problems.length > 0) {
      throw new Error(
        `Invalid props for KafkaBatchPuller ${this.node.path}:\n  - ${problems.join('\n  - ')}`,
      );
    }
    this.brokers = [...props.brokers];
    this.kafkaSecurity = props.kafkaSecurity;
    this.mskClusterArn = props.mskClusterArn;
    this.saslSecret = props.saslSecret;
    this.saslSecretEncryptionKey = props.saslSecretEncryptionKey ?? props.saslSecret?.encryptionKey;
    this.schemaRegistryUrl = props.schemaRegistryUrl;
    this.glueSchemaRegistryName = props.glueSchemaRegistryName;
    this.schemaRegistrySecret = props.schemaRegistrySecret;
    this.schemaRegistrySecretEncryptionKey =
      props.schemaRegistrySecretEncryptionKey ?? props.schemaRegistrySecret?.encryptionKey;
    this.vpc = props.vpc;
    this.vpcSubnets = props.vpcSubnets;
    this.alarmTopic = props.alarmTopic;
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.logLevel = props.logLevel ?? PullerLogLevel.INFO;
    this.metricsNamespace = props.metricsNamespace ?? 'KafkaBatchPuller';
    this.serviceName = props.serviceName ?? 'kafka-batch-puller';
    this.architecture = props.architecture ?? lambda.Architecture.ARM_64;
    const removalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;

    // 2. Output bucket.
    if (props.bucket) {
      this.bucket = props.bucket;
      this.bucketEncryptionKey = props.bucketEncryptionKey ?? props.bucket.encryptionKey;
    } else {
      const bucket = new s3.Bucket(this, 'Bucket', {
        ...bucketDefaults,
        removalPolicy,
        ...(props.bucketEncryptionKey
          ? {
              encryption: s3.BucketEncryption.KMS,
              encryptionKey: props.bucketEncryptionKey,
              bucketKeyEnabled: true,
            }
          : { encryption: s3.BucketEncryption.S3_MANAGED }),
        lifecycleRules: [
          {
            id: 'abort-incomplete-uploads-expire-old-versions',
            abortIncompleteMultipartUploadAfter:
              props.abortIncompleteMultipartUploadAfter ?? Duration.days(1),
            // Rewrites after a failed run leave identical old versions; they need not be kept for ever.
            noncurrentVersionExpiration: noncurrentVersionRetention,
          },
        ],
        ...(props.serverAccessLogsBucket
          ? {
              serverAccessLogsBucket: props.serverAccessLogsBucket,
              ...(props.serverAccessLogsPrefix
                ? { serverAccessLogsPrefix: props.serverAccessLogsPrefix }
                : {}),
            }
          : {}),
      });
      if (!props.serverAccessLogsBucket) {
        addNagSuppressions(bucket, [
          {
            id: 'AwsSolutions-S1',
            reason:
              'Server access logs are optional (serverAccessLogsBucket); every write is recorded by the window manifests and the state table.',
          },
        ]);
      }
      this.bucket = bucket;
      this.bucketEncryptionKey = props.bucketEncryptionKey;
    }

    // 3. State table.
    if (props.stateTable) {
      this.stateTable = props.stateTable;
      this.tableEncryptionKey = props.tableEncryptionKey ?? props.stateTable.encryptionKey;
    } else {
      this.stateTable = new dynamodb.Table(this, 'StateTable', {
        ...stateTableDefaults,
        removalPolicy,
        ...(props.tableEncryptionKey
          ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.tableEncryptionKey }
          : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      });
      this.tableEncryptionKey = props.tableEncryptionKey;
    }

    // 4. Failure queue, shared by the pipelines' functions and schedules.
    const failureQueue = new sqs.Queue(this, 'FailureQueue', failureQueueDefaults);
    addNagSuppressions(failureQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue is itself the dead-letter destination (the functions' on-failure destination and the schedules' DLQ); nothing consumes it automatically.",
      },
    ]);
    this.failureQueue = failureQueue;

    // 5. Network: security group and endpoints, shared by every pipeline.
    if (props.vpc) {
      this.securityGroups = props.securityGroups
        ? [...props.securityGroups]
        : [
            new ec2.SecurityGroup(this, 'SecurityGroup', {
              vpc: props.vpc,
              description: 'kafka-batch-puller functions: outbound to the brokers and AWS endpoints only',
              allowAllOutbound: true,
            }),
          ];
      this.vpcConnections = new ec2.Connections({ securityGroups: [...this.securityGroups] });
      if (props.createVpcEndpoints ?? true) this.createVpcEndpoints(props.vpc, props.vpcSubnets ?? {});
    } else {
      this.securityGroups = [];
      this.vpcConnections = undefined;
    }
  }

  /** The pipelines using this puller so far, wherever in the app they were created. */
  get pipelines(): readonly PullerPipeline[] {
    return this.node.root.node
      .findAll()
      .filter((child): child is PullerPipeline => child instanceof PullerPipeline && child.puller === this);
  }

  /**
   * The functions' network connections, to let them into the brokers' security group:
   * `brokerSecurityGroup.connections.allowFrom(puller, ec2.Port.tcp(9098))`.
   * @throws when the puller has no VPC
   */
  get connections(): ec2.Connections {
    if (!this.vpcConnections) {
      throw new Error(`KafkaBatchPuller ${this.node.path} has no VPC, so no connections to allow`);
    }
    return this.vpcConnections;
  }

  /** Adds a pipeline that lands `options.topic` (a function, its schedule and its alarms), scoped to this puller. */
  addPipeline(id: string, options: PullerPipelineOptions): PullerPipeline {
    return new PullerPipeline(this, id, { ...options, puller: this });
  }

  /**
   * The endpoints the functions reach AWS through from inside the VPC. A route table takes one gateway
   * endpoint per service, so a second puller in the same subnets needs `createVpcEndpoints: false`.
   */
  private createVpcEndpoints(vpc: ec2.IVpc, subnets: ec2.SubnetSelection): void {
    for (const [id, service] of [
      ['S3Endpoint', ec2.GatewayVpcEndpointAwsService.S3],
      ['DynamoDbEndpoint', ec2.GatewayVpcEndpointAwsService.DYNAMODB],
    ] as const) {
      new ec2.GatewayVpcEndpoint(this, id, { vpc, service, subnets: [subnets] });
    }
    if (this.kafkaSecurity === KafkaSecurityMode.SCRAM_SHA512) {
      const endpoint = new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets,
        privateDnsEnabled: true,
        open: false,
      });
      endpoint.connections.allowDefaultPortFrom(this, 'kafka-batch-puller functions read the SCRAM secret');
    }
  }
}
