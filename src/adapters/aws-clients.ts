// AWS SDK v3 clients for the puller's adapters, shared by the Lambda, the CLI and the tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

/** Options shared by the AWS clients. */
export interface AwsClientOptions {
  /** AWS region; the SDK's own resolution (AWS_REGION, profile) applies when absent. */
  readonly region?: string;
}

function endpointOverridden(service: 'S3' | 'DYNAMODB'): boolean {
  return Boolean(process.env[`AWS_ENDPOINT_URL_${service}`] || process.env.AWS_ENDPOINT_URL);
}

/**
 * An S3 client. Endpoints come from the SDK's standard AWS_ENDPOINT_URL(_S3) variables; when one is
 * set (LocalStack, moto) path-style addressing is used, since emulators do not serve bucket subdomains.
 */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  return new S3Client({
    ...(options.region ? { region: options.region } : {}),
    forcePathStyle: endpointOverridden('S3'),
  });
}

/** A DynamoDB client; the endpoint comes from AWS_ENDPOINT_URL(_DYNAMODB) when set. */
export function createDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({ ...(options.region ? { region: options.region } : {}) });
}
