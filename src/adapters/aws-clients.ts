// AWS SDK v3 clients for the puller's adapters, shared by the Lambda, the CLI and the tests. Every call
// has a timeout and the retry policy of aws-retry.ts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { type AwsRetry, AwsRetryPolicy, DeadlineRetryStrategy } from './aws-retry.js';

/** Options shared by the AWS clients. */
export interface AwsClientOptions {
  /** AWS region; the SDK's own resolution (AWS_REGION, profile) applies when absent. */
  readonly region?: string;
  /** An endpoint to use instead of the SDK's resolution (AWS_ENDPOINT_URL...); path-style for S3. */
  readonly endpoint?: string;
  /** Epoch ms after which no call is retried (the run's deadline). */
  readonly deadlineMs?: number;
  /** How long one attempt may go without an answer, ms. @default AwsRetryPolicy.REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** Called before each retried call. */
  readonly onRetry?: (retry: AwsRetry) => void;
}

function endpointOverridden(service: 'S3' | 'DYNAMODB'): boolean {
  return Boolean(process.env[`AWS_ENDPOINT_URL_${service}`] || process.env.AWS_ENDPOINT_URL);
}

function commonConfig(options: AwsClientOptions) {
  const requestTimeout = options.requestTimeoutMs ?? AwsRetryPolicy.REQUEST_TIMEOUT_MS;
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    requestHandler: {
      requestTimeout,
      connectionTimeout: Math.min(requestTimeout, AwsRetryPolicy.CONNECTION_TIMEOUT_MS),
      // A timed-out attempt is an error the retry policy sees, not a warning.
      throwOnRequestTimeout: true,
    },
    retryStrategy: new DeadlineRetryStrategy({
      ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    }),
  };
}

/**
 * An S3 client. Endpoints come from the SDK's standard AWS_ENDPOINT_URL(_S3) variables; when one is
 * set (LocalStack, moto) path-style addressing is used, since emulators do not serve bucket subdomains.
 */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  return new S3Client({
    ...commonConfig(options),
    forcePathStyle: Boolean(options.endpoint) || endpointOverridden('S3'),
  });
}

/** A DynamoDB client; the endpoint comes from AWS_ENDPOINT_URL(_DYNAMODB) when set. */
export function createDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(commonConfig(options));
}

/** A Glue client, for the Glue Schema Registry; the endpoint comes from AWS_ENDPOINT_URL(_GLUE) when set. */
export function createGlueClient(options: AwsClientOptions = {}): GlueClient {
  return new GlueClient(commonConfig(options));
}
