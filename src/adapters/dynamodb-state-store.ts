// StateStore on DynamoDB: one item per pipeline (partition key `pipelineId`), and one per partition of
// its pending window (key `<pipelineId>#<pending id>#<partition>`), every write a PutItem conditional on
// the version read before it. Only SDK calls live here; the lease rule is in core/lease.
// Share items carry `expiresAt` (epoch seconds) for the table's time-to-live: a closed window's shares
// are never read again, and DynamoDB deletes them at no write cost.
// A write is idempotent: when it fails, the item is read back, and finding exactly what this write put
// there (same version, same content, the lease naming the same run) is success. That is what the SDK's
// own retry of an applied write meets as ConditionalCheckFailed, and what a lost answer leaves.
import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mapBounded } from '../core/map-bounded.js';
import {
  EXPIRY_ATTRIBUTE,
  type PartitionShare,
  parsePartitionShare,
  shareKey,
} from '../core/partition-share.js';
import { type PipelineState, parsePipelineState } from '../core/pipeline-state.js';
import { StateConflictError, StateCorruptError, StateTooLargeError } from '../errors.js';
import type { ShareWrite, ShareWriteResult, StateStore, VersionedShare, VersionedState } from '../ports.js';

/** The condition of a first write: no item for this pipeline yet. */
const itemDoesNotExist = 'attribute_not_exists(pipelineId)';
/** The condition of every later write: nobody wrote since we read. */
const versionUnchanged = 'version = :expected';

/** DynamoDB's item size limit, bytes (attribute names and values, UTF-8). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** Keys one BatchGetItem may ask for (a DynamoDB limit). */
const BATCH_GET_KEYS = 100;
/** Share writes in flight at once: enough to record thousands of partitions in about a second. */
const SHARE_WRITES_IN_FLIGHT = 32;
/** How long a share item outlives its last write: far beyond any window's life, then DynamoDB drops it. */
const SHARE_TTL_SECONDS = 14 * 24 * 3600;

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
    const bytes = itemBytes(item);
    if (bytes > MAX_ITEM_BYTES) {
      throw new StateTooLargeError(pipelineId, bytes, MAX_ITEM_BYTES, Object.keys(state.offsets).length);
    }
    const put = await this.conditionalPut(pipelineId, item, expectedVersion);
    if (put.conflict === undefined) return version;
    throw new StateConflictError(pipelineId, expectedVersion, put.conflict.stored, {
      cause: put.conflict.cause,
    });
  }

  /**
   * Puts `item` under `key` if the stored version is still `expectedVersion` (undefined: no item yet).
   * A put that failed, yet left exactly `item` stored (an answer lost after DynamoDB applied it, or the
   * SDK's retry of an applied put meeting its own condition), succeeded. Answers the conflict, with what
   * is stored, when another writer was first; throws any other failure.
   */
  private async conditionalPut(
    key: string,
    item: Record<string, unknown>,
    expectedVersion: number | undefined,
  ): Promise<{ conflict?: { stored: Record<string, unknown> | undefined; cause: unknown } }> {
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
        conflict && error.Item ? unmarshall(error.Item) : await this.storedItem(key).catch(() => undefined);
      if (stored !== undefined && isDeepStrictEqual(stored, asStored(item))) return {};
      if (conflict) return { conflict: { stored, cause: error } };
      throw error;
    }
    return {};
  }

  private async storedItem(key: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.table, Key: { pipelineId: key }, ConsistentRead: true }),
    );
    return Item;
  }

  async loadShares(
    pipelineId: string,
    pendingId: string,
    partitions: readonly number[],
  ): Promise<Map<number, VersionedShare>> {
    const shares = new Map<number, VersionedShare>();
    let keys = [...new Set(partitions)].map((p) => ({ pipelineId: shareKey(pipelineId, pendingId, p) }));
    while (keys.length > 0) {
      const batch = keys.slice(0, BATCH_GET_KEYS);
      keys = keys.slice(BATCH_GET_KEYS);
      const { Responses, UnprocessedKeys } = await this.documents.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: batch, ConsistentRead: true } } }),
      );
      for (const item of Responses?.[this.table] ?? []) {
        const versioned = shareOf(pipelineId, item);
        shares.set(versioned.share.partition, versioned);
      }
      // Throttled keys come back unprocessed: ask again (the SDK's retry covers the throttling itself).
      const unprocessed = UnprocessedKeys?.[this.table]?.Keys ?? [];
      keys = [...(unprocessed as { pipelineId: string }[]), ...keys];
    }
    return shares;
  }

  async saveShares(
    pipelineId: string,
    pendingId: string,
    writes: readonly ShareWrite[],
  ): Promise<ShareWriteResult[]> {
    return mapBounded(writes, SHARE_WRITES_IN_FLIGHT, (write) =>
      this.saveShare(pipelineId, pendingId, write),
    );
  }

  private async saveShare(
    pipelineId: string,
    pendingId: string,
    { share, expectedVersion }: ShareWrite,
  ): Promise<ShareWriteResult> {
    const key = shareKey(pipelineId, pendingId, share.partition);
    const version = (expectedVersion ?? 0) + 1;
    const item = {
      ...share,
      pipelineId: key,
      version,
      [EXPIRY_ATTRIBUTE]: Math.floor(Date.now() / 1000) + SHARE_TTL_SECONDS,
    };
    const bytes = itemBytes(item);
    if (bytes > MAX_ITEM_BYTES) {
      throw new StateTooLargeError(key, bytes, MAX_ITEM_BYTES, undefined, share.parts.length);
    }
    const put = await this.conditionalPut(key, item, expectedVersion);
    if (put.conflict === undefined) return { written: { share, version } };
    const stored = put.conflict.stored;
    return { conflict: stored === undefined ? undefined : shareOf(pipelineId, stored) };
  }
}

/** A stored share item, checked. */
function shareOf(pipelineId: string, item: Record<string, unknown>): VersionedShare {
  const { version, pipelineId: key, [EXPIRY_ATTRIBUTE]: _expiry, ...rest } = item;
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new StateCorruptError(pipelineId, [`${String(key)}: version: must be an integer`]);
  }
  const parsed = parsePartitionShare(rest);
  if (!parsed.ok)
    throw new StateCorruptError(
      pipelineId,
      parsed.problems.map((p) => `${String(key)}: ${p}`),
    );
  return { share: parsed.share as PartitionShare, version };
}

/**
 * An item's size as DynamoDB counts it, near enough to refuse before the service does: names and
 * strings in UTF-8, numbers as their digits, plus a few bytes a value. Errs on the large side.
 */
export function itemBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return String(value).length + 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + itemBytes(v), 0);
  let bytes = 3;
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    bytes += Buffer.byteLength(name) + 1 + itemBytes(v);
  }
  return bytes;
}

/** An item as DynamoDB gives it back: no undefined attributes. */
function asStored(item: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(item));
}
