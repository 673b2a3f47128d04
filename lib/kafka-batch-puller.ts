// The puller's shared resources (output bucket, state table, failure queue, Kafka connection, VPC
// endpoints) and the pipelines that use them, one per topic.
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
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
import { isBrokerAddress, splitBrokerList } from '../src/core/kafka-names.js';
import { isMskClusterArn, KafkaSecurityMode } from './kafka-security.js';
import { addNagSuppressions } from './nag-suppressions.js';
import type { PullerPipelineOptions } from './pipeline-options.js';
import { PullerPipeline } from './puller-pipeline.js';
import {
  bucketDefaults,
  failureQueueDefaults,
  noncurrentVersionRetention,
  stateTableDefaults,
} from './secure-defaults.js';

/** Powertools log levels. */
export const PullerLogLevel = { DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', ERROR: 'ERROR' } as const;
/** A Powertools log level. */
export type PullerLogLevel = (typeof PullerLogLevel)[keyof typeof PullerLogLevel];

/** Properties of `KafkaBatchPuller`: the Kafka connection and the resources every pipeline shares. */
export interface KafkaBatchPullerProps {
  /**
   * Kafka bootstrap brokers, each `host:port` (for Amazon MSK, the cluster's bootstrap broker string for
   * the chosen authentication, which may be one comma-separated token).
   */
  readonly brokers: readonly string[];

  /** How the functions authenticate to Kafka. */
  readonly kafkaSecurity: KafkaSecurityMode;

  /**
   * The Amazon MSK cluster's ARN (`arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>`); required
   * with `KafkaSecurityMode.MSK_IAM`, where each function may connect to it and read only its own topic
   * and group.
   * @default - none; only allowed with another security mode left unset
   */
  readonly mskClusterArn?: string;

  /**
   * The Secrets Manager secret holding `{"username": ..., "password": ...}`; required with
   * `KafkaSecurityMode.SCRAM_SHA512`. The functions get its ARN and read it at run time.
   * @default - none
   */
  readonly saslSecret?: secretsmanager.ISecret;

  /**
   * The KMS key that encrypts `saslSecret` (MSK requires a customer managed key for SCRAM secrets); the
   * functions may decrypt with it through Secrets Manager only.
   * @default - the secret's own `encryptionKey` when it has one; otherwise no KMS permission
   */
  readonly saslSecretEncryptionKey?: kms.IKey;

  /**
   * The VPC to run the functions in, for brokers reachable only from inside it (Amazon MSK).
   * @default - the functions run outside any VPC (brokers reachable over the internet, or LocalStack)
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The subnets of `vpc` the functions use. They need routes to the brokers; S3, DynamoDB and Secrets
   * Manager are reached through the VPC endpoints this construct creates (see `createVpcEndpoints`).
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the functions; the brokers' security group must allow them in.
   * @default - one security group with outbound access only, shared by every pipeline (see `connections`)
   */
  readonly securityGroups?: readonly ec2.ISecurityGroup[];

  /**
   * Whether to create gateway endpoints for S3 and DynamoDB on the route tables of `vpcSubnets`, and (with
   * SCRAM) an interface endpoint for Secrets Manager. Set false when the VPC already has them, or a NAT.
   * @default true when `vpc` is set
   */
  readonly createVpcEndpoints?: boolean;

  /**
   * The bucket batches land in.
   * @default - a new bucket: public access blocked, TLS only, encrypted, retained on stack deletion
   */
  readonly bucket?: s3.IBucket;

  /**
   * KMS key of the bucket. For a new bucket it turns on SSE-KMS (with an S3 Bucket Key); for an existing
   * one it is the key the functions may use to write.
   * @default - SSE-S3 for a new bucket; the existing bucket's `encryptionKey`, if it has one
   */
  readonly bucketEncryptionKey?: kms.IKey;

  /**
   * Where a new bucket sends its server access logs.
   * @default - no access logs (the batches' manifests and the state table record every write)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * Key prefix of the server access logs in `serverAccessLogsBucket`.
   * @default - the logs bucket's root
   */
  readonly serverAccessLogsPrefix?: string;

  /**
   * A new bucket aborts multipart uploads left incomplete (a run that timed out mid-part) after this
   * many days; whole days, 1 or more.
   * @default Duration.days(1)
   */
  readonly abortIncompleteMultipartUploadAfter?: Duration;

  /**
   * The state table; its partition key must be `pipelineId` (string). Turn on its time to live on the
   * attribute `expiresAt`, or closed windows' share items stay (a few hundred bytes per partition with
   * data in a window).
   * @default - a new on-demand table with point-in-time recovery and time to live on `expiresAt`,
   * retained on stack deletion
   */
  readonly stateTable?: dynamodb.ITable;

  /**
   * KMS key of the state table. For a new table it encrypts the table; for an existing one it is the
   * key the functions may use.
   * @default - a new table is encrypted with the AWS managed key `aws/dynamodb` (no KMS permission needed)
   */
  readonly tableEncryptionKey?: kms.IKey;

  /**
   * What happens to a new bucket and table when they leave the stack. `RETAIN` keeps the batches and the
   * state (offsets) that make them exactly-once; `DESTROY` is for throwaway stacks and fails on a
   * bucket that still holds objects.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;

  /**
   * Where the alarms notify (on alarm and on recovery).
   * @default - the alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The functions' Powertools log level (POWERTOOLS_LOG_LEVEL).
   * @default PullerLogLevel.INFO
   */
  readonly logLevel?: PullerLogLevel;

  /**
   * CloudWatch namespace of the handler's metrics (POWERTOOLS_METRICS_NAMESPACE).
   * @default 'KafkaBatchPuller'
   */
  readonly metricsNamespace?: string;

  /**
   * Service name in logs and the `service` metric dimension (POWERTOOLS_SERVICE_NAME).
   * @default 'kafka-batch-puller'
   */
  readonly serviceName?: string;

  /**
   * Instruction set of the functions.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
}

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

/** Every problem with the puller's props, each naming its prop; empty when they are valid. */
function pullerProblems(props: KafkaBatchPullerProps): string[] {
  const problems: string[] = [];
  const mode = props.kafkaSecurity;
  const modes = Object.values(KafkaSecurityMode);
  const literalBrokers = props.brokers
    .filter((broker) => !Token.isUnresolved(broker))
    .flatMap(splitBrokerList);
  if (props.brokers.length === 0) {
    problems.push('brokers must list at least one host:port');
  }
  const bad = literalBrokers.filter((broker) => !isBrokerAddress(broker));
  if (bad.length > 0) {
    problems.push(`brokers must each be host:port, got ${bad.map((b) => `'${b}'`).join(', ')}`);
  }
  if (!modes.includes(mode)) {
    problems.push(`kafkaSecurity must be one of ${modes.join(', ')}, got '${mode}'`);
  }
  if (mode === KafkaSecurityMode.SCRAM_SHA512 && !props.saslSecret) {
    problems.push(`saslSecret is required when kafkaSecurity is '${KafkaSecurityMode.SCRAM_SHA512}'`);
  }
  if (mode !== KafkaSecurityMode.SCRAM_SHA512 && (props.saslSecret || props.saslSecretEncryptionKey)) {
    problems.push(
      `saslSecret and saslSecretEncryptionKey are used only when kafkaSecurity is '${KafkaSecurityMode.SCRAM_SHA512}'`,
    );
  }
  if (mode === KafkaSecurityMode.MSK_IAM) {
    if (!props.mskClusterArn) {
      problems.push(`mskClusterArn is required when kafkaSecurity is '${KafkaSecurityMode.MSK_IAM}'`);
    } else if (!isMskClusterArn(props.mskClusterArn)) {
      problems.push(
        `mskClusterArn must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>), got '${props.mskClusterArn}'`,
      );
    }
  } else if (props.mskClusterArn) {
    problems.push(`mskClusterArn is used only when kafkaSecurity is '${KafkaSecurityMode.MSK_IAM}'`);
  }
  if (!props.vpc) {
    for (const name of ['vpcSubnets', 'securityGroups', 'createVpcEndpoints'] as const) {
      if (props[name] !== undefined) problems.push(`${name} needs vpc`);
    }
  }
  if (props.bucket) {
    for (const name of [
      'serverAccessLogsBucket',
      'serverAccessLogsPrefix',
      'abortIncompleteMultipartUploadAfter',
    ] as const) {
      if (props[name] !== undefined) {
        problems.push(
          `${name} applies only to a bucket this construct creates; set it on the bucket you pass in`,
        );
      }
    }
  }
  if (props.serverAccessLogsPrefix !== undefined && !props.serverAccessLogsBucket && !props.bucket) {
    problems.push('serverAccessLogsPrefix needs serverAccessLogsBucket');
  }
  const abortAfter = props.abortIncompleteMultipartUploadAfter;
  if (
    abortAfter &&
    (abortAfter.toMilliseconds() % Duration.days(1).toMilliseconds() !== 0 ||
      abortAfter.toMilliseconds() === 0)
  ) {
    problems.push(
      `abortIncompleteMultipartUploadAfter must be a whole number of days, 1 or more, got ${abortAfter.toHumanString()}`,
    );
  }
  if (props.stateTable && props.dataRemovalPolicy !== undefined && props.bucket) {
    problems.push('dataRemovalPolicy applies only to a bucket or table this construct creates');
  }
  if (props.metricsNamespace !== undefined && !/^[^:]{1,255}$/.test(props.metricsNamespace)) {
    problems.push(
      `metricsNamespace must be 1 to 255 characters without ':', got '${props.metricsNamespace}'`,
    );
  }
  if (props.serviceName !== undefined && props.serviceName.trim() === '') {
    problems.push('serviceName must not be empty');
  }
  if (props.logLevel !== undefined && !Object.values(PullerLogLevel).includes(props.logLevel)) {
    problems.push(
      `logLevel must be one of ${Object.values(PullerLogLevel).join(', ')}, got '${props.logLevel}'`,
    );
  }
  return problems;
}
