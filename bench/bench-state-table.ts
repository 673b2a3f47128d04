// The DynamoDB table that holds the state of the bench's S3 puller runs on the emulator: one table for
// the whole bench (each run is its own pipeline, so its own item), deleted at the end.
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../src/adapters/aws-clients.js';

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
