// The S3 bucket and DynamoDB state table the bench's S3 pipelines share on the emulator: created once
// per bench, the bucket emptied after every run so moto (which keeps objects in memory) stays light,
// both deleted at the end.
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createDynamoDbClient, createS3Client } from '../src/adapters/aws-clients.js';

/** A bucket of this bench invocation. */
export class BenchBucket {
  readonly name = `kbp-bench-${randomUUID()}`;
  private readonly s3: S3Client = createS3Client();

  async create(): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: this.name }));
  }

  /** Deletes every object under `prefix` ('' for all); returns how many there were. */
  async empty(prefix = ''): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        await this.s3.send(
          new DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: keys, Quiet: true } }),
        );
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  /** Empties and deletes the bucket. */
  async remove(): Promise<void> {
    await this.empty();
    await this.s3.send(new DeleteBucketCommand({ Bucket: this.name }));
    this.s3.destroy();
  }
}

/** A state table of this bench invocation, keyed as the DynamoDB state store expects. */
export class BenchStateTable {
  readonly name = `kbp-bench-${randomUUID()}`;
  private readonly dynamodb: DynamoDBClient = createDynamoDbClient();

  async create(): Promise<void> {
    // The key schema of DynamoDbStateStore: one item per pipeline under the string key `pipelineId`.
    await this.dynamodb.send(
      new CreateTableCommand({
        TableName: this.name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pipelineId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pipelineId', KeyType: 'HASH' }],
      }),
    );
  }

  async remove(): Promise<void> {
    await this.dynamodb.send(new DeleteTableCommand({ TableName: this.name }));
    this.dynamodb.destroy();
  }
}

/** The bucket and table the S3 pipelines share. */
export interface AwsTargets {
  readonly bucket: BenchBucket;
  readonly table: BenchStateTable;
}

/** Creates the bench's bucket and state table. */
export async function createAwsTargets(): Promise<AwsTargets> {
  const bucket = new BenchBucket();
  const table = new BenchStateTable();
  await bucket.create();
  await table.create();
  return { bucket, table };
}

/** Deletes the bucket and table; a failure is logged, not thrown, so the rest of the clean-up runs. */
export async function removeAwsTargets(aws: AwsTargets, log: (line: string) => void): Promise<void> {
  await aws.bucket
    .remove()
    .catch((error: unknown) => log(`could not delete the bench bucket: ${String(error)}`));
  await aws.table
    .remove()
    .catch((error: unknown) => log(`could not delete the bench table: ${String(error)}`));
}
