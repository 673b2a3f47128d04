// StateStore on DynamoDB: one item per pipeline (partition key `pipelineId`), every write a PutItem
// conditional on the version read before it. Only SDK calls live here; the lease rule is in core/lease.
// A write is idempotent: when it fails, the item is read back, and finding exactly what this write put
// there (same version, same content, the lease naming the same run) is success. That is what the SDK's
// own retry of an applied write meets as ConditionalCheckFailed, and what a lost answer leaves.
import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type PipelineState, parsePipelineState } from '../core/pipeline-state.js';
import { StateConflictError, StateCorruptError } from '../errors.js';
import type { StateStore, VersionedState } from '../ports.js';

/** The condition of a first write: no item for this pipeline yet. */
const itemDoesNotExist = 'attribute_not_exists(pipelineId)';
/** The condition of every later write: nobody wrote since we read. */
const versionUnchanged = 'version = :expected';

/** Keeps pipeline state in a DynamoDB table whose partition key is `pipelineId` (string). */
export class DynamoDbStateStore implements StateStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }

  async load(pipelineId: string): Promise<VersionedState | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.table, Key: { pipelineId }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    return this.toVersioned(pipelineId, Item);
  }

  private toVersioned(pipelineId: string, item: Record<string, unknown>): VersionedState {
    const { version, ...rest } = item;
    if (typeof version !== 'number' || !Number.isInteger(version)) {
      throw new StateCorruptError(pipelineId, ['version: must be an integer']);
    }
    const parsed = parsePipelineState(rest);
    if (!parsed.ok) throw new StateCorruptError(pipelineId, parsed.problems);
    return { state: parsed.state, version };
  }

  async save(pipelineId: string, state: PipelineState, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    const item = { ...state, pipelineId, version };
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === undefined
            ? { ConditionExpression: itemDoesNotExist }
            : {
                ConditionExpression: versionUnchanged,
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      const conflict = error instanceof ConditionalCheckFailedException;
      const stored =
        conflict && error.Item
          ? unmarshall(error.Item)
          : await this.storedItem(pipelineId).catch(() => undefined);
      if (stored !== undefined && isDeepStrictEqual(stored, asStored(item))) return version;
      if (conflict) throw new StateConflictError(pipelineId, expectedVersion, stored, { cause: error });
      throw error;
    }
    return version;
  }

  private async storedItem(pipelineId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.table, Key: { pipelineId }, ConsistentRead: true }),
    );
    return Item;
  }
}

/** An item as DynamoDB gives it back: no undefined attributes. */
function asStored(item: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(item));
}
