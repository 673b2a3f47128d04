// What a pipeline's function may do, and nothing more (see the README's permission table): write and read
// back its own key folders, read and put its own state items, log, and reach Kafka and the keys it needs.
// Also the read grant a pipeline offers its consumers, and the cdk-nag findings the run's grants leave.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { sharesKeyPattern } from '../src/core/partition-share.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import { ValueFormat } from '../src/core/value-format.js';
import { glueArn } from './glue-table.js';
import { KafkaSecurityMode, mskIamResourceArns } from './kafka-security.js';
import { addNagSuppressions, findingEndingWith } from './nag-suppressions.js';
import { readsFormat } from './pipeline-environment.js';
import type { PullerPipeline } from './puller-pipeline.js';

/** The key folders a pipeline writes to, each ending in `/`: its data folder, then its errors folder. */
export function objectFolders(outputPrefix: string, topic: string): [string, string] {
  const base = outputPrefix === '' ? '' : `${outputPrefix}/`;
  return [`${base}topic=${topic}/`, `${base}errors/topic=${topic}/`];
}

/** Grants the pipeline's function role what one run needs, and nothing more. */
export function grantRun(pipeline: PullerPipeline): void {
  const { puller, role } = pipeline;
  const statement = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }),
    );
  const region = Stack.of(pipeline).region;
  const viaService = (service: string) => ({
    StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` },
  });

  pipeline.logGroup.grantWrite(role);

  // Batch objects: written (multipart parts use PutObject's permission), and read back only to check a
  // write whose answer was lost (HeadObject and GetObject both need s3:GetObject). Nothing is deleted.
  const folders = objectFolders(pipeline.outputPrefix, pipeline.topic);
  const objects = folders.map((folder) => puller.bucket.arnForObjects(`${folder}*`));
  statement(['s3:PutObject', 's3:AbortMultipartUpload'], objects);
  statement(['s3:GetObject'], objects);
  // A new pipeline lists its data folder to refuse output a lost state item left behind. The prefix
  // condition keeps every other key of the bucket unlisted. (Without an unconditional ListBucket, S3 may
  // answer a HEAD of a missing key 403 instead of 404; the write check takes any failure as "not there".)
  statement(['s3:ListBucket'], [puller.bucket.bucketArn], {
    StringLike: { 's3:prefix': [`${folders[0]}*`] },
  });
  if (puller.bucketEncryptionKey) {
    // SSE-KMS: a data key per object and part, and Decrypt to complete a multipart upload or read back.
    statement(['kms:GenerateDataKey', 'kms:Decrypt'], [puller.bucketEncryptionKey.keyArn], viaService('s3'));
  }

  // State: the pipeline's own items only, read and replaced with conditional puts, and a pending
  // window's share items read in batches. The table is shared by every pipeline of the puller, so the
  // partition keys are held to this pipeline's: its state item (`<groupId>|<topic>`) and its share items
  // (`<groupId>|<topic>#<pending id>#<partition>`); the Null test refuses a request that names no key.
  const pipelineId = pipelineIdOf(pipeline.groupId, pipeline.topic);
  statement(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem'], [puller.stateTable.tableArn], {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [pipelineId, sharesKeyPattern(pipelineId)] },
    Null: { 'dynamodb:LeadingKeys': 'false' },
  });
  if (puller.tableEncryptionKey) {
    statement(
      ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      [puller.tableEncryptionKey.keyArn],
      viaService('dynamodb'),
    );
  }

  // A login read at run time, and decrypted through Secrets Manager only. A secret imported by name has a
  // partial ARN; its full ARN ends in '-' and six random characters.
  const readSecret = (secret: secretsmanager.ISecret, key: kms.IKey | undefined) => {
    statement(['secretsmanager:GetSecretValue'], [secret.secretFullArn ?? `${secret.secretArn}-??????`]);
    if (key) statement(['kms:Decrypt'], [key.keyArn], viaService('secretsmanager'));
  };
  if (puller.kafkaSecurity === KafkaSecurityMode.SCRAM_SHA512 && puller.saslSecret) {
    readSecret(puller.saslSecret, puller.saslSecretEncryptionKey);
  }

  if (readsFormat(pipeline, ValueFormat.GLUE) && puller.glueSchemaRegistryName) {
    // A version is asked for by its id alone; Glue authorizes the read on its schema (and registry).
    const name = puller.glueSchemaRegistryName;
    const stack = Stack.of(pipeline);
    statement(
      ['glue:GetSchemaVersion'],
      [glueArn(stack, 'registry', name), glueArn(stack, 'schema', `${name}/*`)],
    );
  }

  if (readsFormat(pipeline, ValueFormat.CONFLUENT) && puller.schemaRegistrySecret) {
    readSecret(puller.schemaRegistrySecret, puller.schemaRegistrySecretEncryptionKey);
  }

  if (puller.kafkaSecurity === KafkaSecurityMode.MSK_IAM && puller.mskClusterArn) {
    const arns = mskIamResourceArns(puller.mskClusterArn, pipeline.topic, pipeline.groupId);
    statement(['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'], [arns.cluster]);
    statement(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], [arns.topic]);
    statement(['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], [arns.group]);
  }

  if (puller.vpc) {
    statement(
      [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      ['*'],
    );
  }
}

/**
 * Lets `grantee` read a pipeline's batches: objects under its data and errors folders (and decrypt them
 * with the bucket's key, when it has one).
 */
export function grantReadBatches(pipeline: PullerPipeline, grantee: iam.IGrantable): iam.Grant {
  const { puller } = pipeline;
  const [data, errors] = objectFolders(pipeline.outputPrefix, pipeline.topic).map((folder) =>
    puller.bucket.grantRead(grantee, `${folder}*`),
  ) as [iam.Grant, iam.Grant];
  const key = puller.bucketEncryptionKey;
  // grantRead covers the key of a bucket that carries it; an imported bucket's key is granted here.
  const decrypt = key && !puller.bucket.encryptionKey ? [key.grantDecrypt(grantee)] : [];
  return decrypt.reduce((grant, next) => grant.combine(next), data.combine(errors));
}

/** What cdk-nag reports on the run's grants, and why it stays. */
export function suppressRunFindings(pipeline: PullerPipeline): void {
  addNagSuppressions(
    pipeline.role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "PutObject, AbortMultipartUpload and GetObject on this topic's key folders only (<prefix>/topic=<topic>/* and <prefix>/errors/topic=<topic>/*): object keys carry the window and part, so they cannot be listed in advance.",
        appliesTo: objectFolders(pipeline.outputPrefix, pipeline.topic).map((folder) =>
          findingEndingWith('Resource::', `${folder}*`),
        ),
      },
      ...(pipeline.puller.vpc
        ? [
            {
              id: 'AwsSolutions-IAM5',
              reason:
                'Lambda manages the VPC network interfaces of a function in a VPC; these EC2 actions do not support resource-level permissions (the same statement as AWSLambdaVPCAccessExecutionRole).',
              appliesTo: ['Resource::*'],
            },
          ]
        : []),
    ],
    true,
  );
}
