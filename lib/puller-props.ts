// The props of `KafkaBatchPuller`: the Kafka connection and the resources every pipeline shares.
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { KafkaSecurityMode } from './kafka-security.js';

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
   * The Confluent-compatible schema registry's base URL (Confluent Schema Registry, Confluent Cloud,
   * Apicurio's `/apis/ccompat/v7`, Karapace), for the pipelines whose `valueFormat` or `keyFormat` is
   * `confluent`; their functions must reach it (from `vpc`, when given).
   * @default - none; a pipeline with `confluent` keys or values is refused
   */
  readonly schemaRegistryUrl?: string;

  /**
   * The Secrets Manager secret holding the registry's basic authentication `{"username": ...,
   * "password": ...}` (a Confluent Cloud API key and secret). Only the pipelines that decode with the
   * registry may read it, at run time.
   * @default - none: the registry is asked without credentials
   */
  readonly schemaRegistrySecret?: secretsmanager.ISecret;

  /**
   * The AWS Glue Schema Registry the pipelines whose `valueFormat` or `keyFormat` is `glue` decode with:
   * their functions may read the schema versions of this registry only (`glue:GetSchemaVersion`), and a
   * record naming another registry's version fails the run with an `AccessDeniedError` that names it.
   * @default - none; a pipeline with `glue` keys or values is refused
   */
  readonly glueSchemaRegistryName?: string;

  /**
   * The KMS key that encrypts `schemaRegistrySecret`; those functions may decrypt with it through
   * Secrets Manager only.
   * @default - the secret's own `encryptionKey` when it has one; otherwise no KMS permission
   */
  readonly schemaRegistrySecretEncryptionKey?: kms.IKey;

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
