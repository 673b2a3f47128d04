// The secure settings of the resources the puller creates, kept as plain data so a review reads them in
// one place. Anything a caller may change is a prop of KafkaBatchPuller; these are not.

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { EXPIRY_ATTRIBUTE } from '../src/core/partition-share.js';

/**
 * The output bucket: private, TLS only, owner-enforced, kept when the stack goes, and versioned, so an
 * object a manifest lists that a person overwrites or deletes can be restored (the puller itself only
 * ever rewrites an object with the same bytes).
 */
export const bucketDefaults = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  versioned: true,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  removalPolicy: RemovalPolicy.RETAIN,
} as const satisfies Partial<s3.BucketProps>;

/** How long a replaced or deleted object's old version is kept before it expires. */
export const noncurrentVersionRetention = Duration.days(30);

/**
 * The state table: one item per pipeline, and one per partition of its pending window, keyed by
 * `pipelineId` (see src/core/pipeline-state.ts and partition-share.ts). Share items carry `expiresAt`:
 * DynamoDB deletes a closed window's shares at no write cost.
 */
export const stateTableDefaults = {
  partitionKey: { name: 'pipelineId', type: dynamodb.AttributeType.STRING },
  timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  removalPolicy: RemovalPolicy.RETAIN,
} as const satisfies Partial<dynamodb.TableProps>;

/** The failure queue: encrypted, TLS only, and holding failed invocations for the longest SQS allows. */
export const failureQueueDefaults = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(14),
} as const satisfies Partial<sqs.QueueProps>;
