// A ready stack: one KafkaBatchPuller with its pipelines, built from plain IDs and ARNs (what CDK context
// and the command line can carry), with outputs for the resources an operator looks up.
import { Annotations, CfnOutput, Fn, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { KafkaBatchPuller } from './kafka-batch-puller.js';
import { KafkaSecurityMode } from './kafka-security.js';
import type { PullerPipelineOptions } from './pipeline-options.js';
import type { PullerPipeline } from './puller-pipeline.js';
import type { PullerLogLevel } from './puller-props.js';

/** One pipeline of the stack: the construct's options, and optionally its construct id. */
export interface StackPipelineOptions extends PullerPipelineOptions {
  /**
   * Construct id of the pipeline; keep it stable, since changing it replaces the function.
   * @default - the topic in PascalCase (`orders.v1` becomes `OrdersV1`)
   */
  readonly id?: string;
}

/** Properties of `KafkaBatchPullerStack`: everything as IDs and ARNs of existing resources. */
export interface KafkaBatchPullerStackProps extends StackProps {
  /** Kafka bootstrap brokers, each `host:port`. */
  readonly brokers: readonly string[];
  /** How the functions authenticate to Kafka. */
  readonly kafkaSecurity: KafkaSecurityMode;
  /**
   * The MSK cluster's ARN, with `msk-iam`.
   * @default - none
   */
  readonly mskClusterArn?: string;
  /**
   * Complete ARN (with its 6-character suffix) of the SCRAM secret, with `scram-sha-512`.
   * @default - none
   */
  readonly saslSecretArn?: string;
  /**
   * ARN of the KMS key encrypting the SCRAM secret.
   * @default - no KMS permission for the secret
   */
  readonly saslSecretKmsKeyArn?: string;
  /**
   * The Confluent-compatible schema registry's base URL, for pipelines with `confluent` keys or values.
   * @default - none
   */
  readonly schemaRegistryUrl?: string;
  /**
   * Complete ARN of the registry's login secret `{"username","password"}`.
   * @default - the registry is asked without credentials
   */
  readonly schemaRegistrySecretArn?: string;
  /**
   * ARN of the KMS key encrypting the registry's login secret.
   * @default - no KMS permission for the secret
   */
  readonly schemaRegistrySecretKmsKeyArn?: string;
  /**
   * The AWS Glue Schema Registry's name, for pipelines with `glue` keys or values.
   * @default - none
   */
  readonly glueSchemaRegistryName?: string;
  /**
   * ID of the VPC to run the functions in.
   * @default - no VPC
   */
  readonly vpcId?: string;
  /**
   * Subnets of `vpcId` for the functions; required with `vpcId`.
   * @default - none
   */
  readonly subnetIds?: readonly string[];
  /**
   * Route table of each subnet in `subnetIds`, in the same order; required when VPC endpoints are created.
   * @default - none
   */
  readonly routeTableIds?: readonly string[];
  /**
   * Availability zone of each subnet in `subnetIds`, in the same order.
   * @default - not recorded
   */
  readonly availabilityZones?: readonly string[];
  /**
   * Security groups for the functions.
   * @default - a new outbound-only security group
   */
  readonly securityGroupIds?: readonly string[];
  /**
   * Whether to create S3 and DynamoDB gateway endpoints (and a Secrets Manager endpoint with SCRAM).
   * @default true with `vpcId`
   */
  readonly createVpcEndpoints?: boolean;
  /**
   * Name of an existing bucket for the batches.
   * @default - a new bucket
   */
  readonly bucketName?: string;
  /**
   * ARN of the bucket's KMS key (for a new bucket: use SSE-KMS with it).
   * @default - SSE-S3
   */
  readonly bucketKmsKeyArn?: string;
  /**
   * Name of a bucket to receive a new bucket's server access logs.
   * @default - no access logs
   */
  readonly serverAccessLogsBucketName?: string;
  /**
   * ARN of a KMS key to encrypt the new state table with.
   * @default - the AWS managed key aws/dynamodb
   */
  readonly tableKmsKeyArn?: string;
  /**
   * What happens to the new bucket and table when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /**
   * ARN of an SNS topic the alarms notify.
   * @default - alarms without action
   */
  readonly alarmTopicArn?: string;
  /**
   * Retention of the functions' logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The functions' log level.
   * @default 'INFO'
   */
  readonly logLevel?: PullerLogLevel;
  /**
   * Instruction set of the functions.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /** The pipelines, one per topic (at least one). */
  readonly pipelines: readonly StackPipelineOptions[];
}

/** `orders.v1-raw` → `OrdersV1Raw`: a construct id from a topic name. */
export function constructIdForTopic(topic: string): string {
  return topic
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** A stack with one KafkaBatchPuller and its pipelines, importing existing resources by ID and ARN. */
export class KafkaBatchPullerStack extends Stack {
  /** The puller, for adding more pipelines or reading its resources. */
  readonly puller: KafkaBatchPuller;
  /** The pipelines, in the order of `props.pipelines`. */
  readonly pipelines: readonly PullerPipeline[];

  constructor(scope: Construct, id: string, props: KafkaBatchPullerStackProps) {
    super(scope, id, props);

    const problems = stackProblems(props);
    if (problems.length > 0) {
      throw new Error(`Invalid props for stack ${id}:\n  - ${problems.join('\n  - ')}`);
    }

    const network = props.vpcId ? this.importNetwork(props.vpcId, props) : undefined;
    const saslSecret = props.saslSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'SaslSecret', props.saslSecretArn)
      : undefined;
    const key = (id: string, arn: string | undefined) =>
      arn ? kms.Key.fromKeyArn(this, id, arn) : undefined;

    this.puller = new KafkaBatchPuller(this, 'Puller', {
      brokers: props.brokers,
      kafkaSecurity: props.kafkaSecurity,
      mskClusterArn: props.mskClusterArn,
      saslSecret,
      saslSecretEncryptionKey: key('SaslSecretKey', props.saslSecretKmsKeyArn),
      schemaRegistryUrl: props.schemaRegistryUrl,
      glueSchemaRegistryName: props.glueSchemaRegistryName,
      schemaRegistrySecret: props.schemaRegistrySecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'RegistrySecret', props.schemaRegistrySecretArn)
        : undefined,
      schemaRegistrySecretEncryptionKey: key('RegistrySecretKey', props.schemaRegistrySecretKmsKeyArn),
      ...network,
      ...(props.vpcId && props.createVpcEndpoints !== undefined
        ? { createVpcEndpoints: props.createVpcEndpoints }
        : {}),
      bucket: props.bucketName ? s3.Bucket.fromBucketName(this, 'Bucket', props.bucketName) : undefined,
      bucketEncryptionKey: key('BucketKey', props.bucketKmsKeyArn),
      serverAccessLogsBucket: props.serverAccessLogsBucketName
        ? s3.Bucket.fromBucketName(this, 'AccessLogsBucket', props.serverAccessLogsBucketName)
        : undefined,
      tableEncryptionKey: key('TableKey', props.tableKmsKeyArn),
      dataRemovalPolicy: props.dataRemovalPolicy,
      alarmTopic: props.alarmTopicArn
        ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)
        : undefined,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      architecture: props.architecture,
    });

    this.pipelines = props.pipelines.map(({ id: pipelineId, ...options }) =>
      this.puller.addPipeline(pipelineId ?? constructIdForTopic(options.topic), options),
    );

    new CfnOutput(this, 'BucketName', {
      value: this.puller.bucket.bucketName,
      description: 'Where batches land',
    });
    new CfnOutput(this, 'StateTableName', {
      value: this.puller.stateTable.tableName,
      description: 'Pipeline state',
    });
    new CfnOutput(this, 'FailureQueueUrl', {
      value: this.puller.failureQueue.queueUrl,
      description: 'Failed and dropped invocations',
    });
    for (const pipeline of this.pipelines) {
      new CfnOutput(this, `${pipeline.node.id}FunctionName`, {
        value: pipeline.lambdaFunction.functionName,
        description: `The function landing topic ${pipeline.topic}`,
      });
      if (pipeline.shardStateMachine) {
        new CfnOutput(this, `${pipeline.node.id}StateMachineArn`, {
          value: pipeline.shardStateMachine.stateMachine.stateMachineArn,
          description: `The state machine running topic ${pipeline.topic}'s ${pipeline.shards} shards`,
        });
      }
    }
  }

  private importNetwork(
    vpcId: string,
    props: KafkaBatchPullerStackProps,
  ): { vpc: ec2.IVpc; vpcSubnets: ec2.SubnetSelection; securityGroups?: ec2.ISecurityGroup[] } {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId,
      availabilityZones: props.availabilityZones ? [...new Set(props.availabilityZones)] : Fn.getAzs(),
    });
    if (!props.availabilityZones) {
      Annotations.of(vpc).acknowledgeWarning(
        '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
        "The VPC's zones are read only to pick default subnets; the functions' subnets are given by ID",
      );
    }
    const subnets = (props.subnetIds ?? []).map((subnetId, i) =>
      ec2.Subnet.fromSubnetAttributes(this, `Subnet${i}`, {
        subnetId,
        ...(props.routeTableIds?.[i] ? { routeTableId: props.routeTableIds[i] } : {}),
        ...(props.availabilityZones?.[i] ? { availabilityZone: props.availabilityZones[i] } : {}),
      }),
    );
    const securityGroups = props.securityGroupIds?.map((groupId, i) =>
      ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, groupId),
    );
    return { vpc, vpcSubnets: { subnets }, ...(securityGroups ? { securityGroups } : {}) };
  }
}

/** Problems with the stack's own props (the construct checks the rest), each naming its prop. */
function stackProblems(props: KafkaBatchPullerStackProps): string[] {
  const problems: string[] = [];
  if (props.pipelines.length === 0) problems.push('pipelines must list at least one pipeline');
  if (props.vpcId) {
    const subnets = props.subnetIds?.length ?? 0;
    if (subnets === 0) problems.push('subnetIds is required with vpcId');
    if ((props.createVpcEndpoints ?? true) && props.routeTableIds?.length !== subnets) {
      problems.push(
        'routeTableIds must give the route table of each of subnetIds (same order) when VPC endpoints are created; or set createVpcEndpoints to false',
      );
    }
    if (props.availabilityZones && props.availabilityZones.length !== subnets) {
      problems.push('availabilityZones must give the zone of each of subnetIds (same order)');
    }
  } else {
    for (const name of [
      'subnetIds',
      'routeTableIds',
      'availabilityZones',
      'securityGroupIds',
      'createVpcEndpoints',
    ] as const) {
      if (props[name] !== undefined) problems.push(`${name} needs vpcId`);
    }
  }
  if (props.saslSecretKmsKeyArn && !props.saslSecretArn)
    problems.push('saslSecretKmsKeyArn needs saslSecretArn');
  if (props.schemaRegistrySecretKmsKeyArn && !props.schemaRegistrySecretArn)
    problems.push('schemaRegistrySecretKmsKeyArn needs schemaRegistrySecretArn');
  if (props.kafkaSecurity === KafkaSecurityMode.SCRAM_SHA512 && !props.saslSecretArn) {
    problems.push(`saslSecretArn is required when kafkaSecurity is '${KafkaSecurityMode.SCRAM_SHA512}'`);
  }
  if (props.kafkaSecurity === KafkaSecurityMode.MSK_IAM && !props.mskClusterArn) {
    problems.push(`mskClusterArn is required when kafkaSecurity is '${KafkaSecurityMode.MSK_IAM}'`);
  }
  return problems;
}
