// The state stays within DynamoDB's 400 KB item limit (which the emulator enforces) at the largest
// partition count the README promises: a window with data on every one of 2,000 partitions closes, and
// no item it wrote comes near the limit. Before shares had items of their own, the pipeline's one item
// held every part of the pending window and passed the limit at about 700 partitions.
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore, itemBytes, MAX_ITEM_BYTES } from '../src/adapters/dynamodb-state-store.js';
import { newPipelineState, type PipelineState } from '../src/core/pipeline-state.js';
import { StateTooLargeError } from '../src/errors.js';
import type { StateStore } from '../src/ports.js';
import {
  createBucket,
  createStateTable,
  createTopic,
  dynamodb,
  produce,
  readLanded,
  runOnce,
  testConfig,
  testKafka,
  uniqueName,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
const PARTITIONS = 2_000;

/** The store, noting the largest pipeline item written and the old layout's item just before the close. */
function measuring(store: StateStore) {
  const sizes = { item: 0, share: 0 };
  /** Each partition's share as last written: what the old layout held inline. */
  const lastShares = new Map<number, number>();
  const wrapped: StateStore = {
    load: (id) => store.load(id),
    save: async (id, state: PipelineState, version) => {
      sizes.item = Math.max(sizes.item, itemBytes({ ...state, pipelineId: id, version }));
      return store.save(id, state, version);
    },
    loadShares: (id, pendingId, partitions) => store.loadShares(id, pendingId, partitions),
    saveShares: async (id, pendingId, writes) => {
      for (const { share } of writes) {
        sizes.share = Math.max(
          sizes.share,
          itemBytes({ ...share, pipelineId: `${id}#${pendingId}#p`, version: 1 }),
        );
        lastShares.set(share.partition, itemBytes(share));
      }
      return store.saveShares(id, pendingId, writes);
    },
  };
  const pendingSharesBytes = () => [...lastShares.values()].reduce((sum, bytes) => sum + bytes, 0);
  return { store: wrapped, sizes, pendingSharesBytes };
}

/**
 * Waits until every partition's leader answers for its log: the metadata names leaders before a broker
 * has created thousands of new logs, and a write meanwhile is refused as sent to no leader.
 */
async function leadersServing(topic: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      const served = await admin.fetchTopicOffsets(topic).then(
        (offsets) => offsets.length === PARTITIONS,
        () => false,
      );
      if (served) return;
      if (attempt === 120)
        throw new Error(`the ${PARTITIONS} partitions of ${topic} have no serving leaders after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await admin.disconnect();
  }
}

describe('state size', () => {
  it('refuses a pipeline item over 400 KB before the store does, naming the partition count and the way out', async () => {
    const table = await createStateTable();
    const store = new DynamoDbStateStore(dynamodb, table);
    const partitions = 30_000;
    const offsets = Object.fromEntries(
      Array.from({ length: partitions }, (_, p) => [String(p), '1234567890']),
    );
    const state = { ...newPipelineState('g', 't', 0), offsets };

    const saving = store.save('g|t', state, undefined);

    await expect(saving).rejects.toBeInstanceOf(StateTooLargeError);
    await expect(saving).rejects.toThrow(
      /over the store's limit of 400 KB.*30000 partitions.*split the topic/,
    );
    expect(await store.load('g|t')).toBeUndefined();
  });

  let topic: string | undefined;
  afterAll(async () => {
    if (!topic) return;
    const admin = testKafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).finally(() => admin.disconnect());
  });

  it(`closes a window with data on every one of ${PARTITIONS} partitions, every item far below 400 KB`, async () => {
    topic = await createTopic(PARTITIONS);
    await leadersServing(topic);
    const bucket = await createBucket();
    const table = await createStateTable();
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(
      topic,
      Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, timestamp: base + partition })),
    );
    const config = testConfig({
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('g'),
      OUTPUT_BUCKET: bucket,
      STATE_TABLE: table,
    });
    const measured = measuring(new DynamoDbStateStore(dynamodb, table));

    // Runs that stop before the open window could close; a loaded machine may need a second to finish.
    let written = 0;
    for (let run = 0; run < 4; run++) {
      const report = await runOnce(config, {
        now: windowClock(MINUTE),
        seconds: 50,
        adapt: (adapters) => ({ ...adapters, store: measured.store }),
      });
      written += report.recordsWritten;
      if (report.outcome === 'caught-up') break;
    }
    expect(written).toBe(PARTITIONS);
    const landed = await readLanded(bucket);
    expect(landed.records).toHaveLength(PARTITIONS);
    expect(new Set(landed.records).size).toBe(PARTITIONS);
    expect(landed.manifests.find((m) => m.totals.records > 0)?.partitions).toHaveLength(PARTITIONS);

    // What the emulator stores: every item, measured as DynamoDB counts its size.
    const stored: number[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) stored.push(itemBytes(item));
      start = page.LastEvaluatedKey;
    } while (start);
    // The pipeline's item and one share per partition (an end and a part each).
    expect(stored).toHaveLength(1 + PARTITIONS);
    const largest = Math.max(...stored);
    // The old layout: the pipeline's item holding every share inline.
    const oldLayout = measured.sizes.item + measured.pendingSharesBytes();
    console.log(
      `state size at ${PARTITIONS} partitions: largest stored item ${largest} B, pipeline item written ` +
        `${measured.sizes.item} B, share item ${measured.sizes.share} B; ` +
        `the old single-item layout would have reached about ${oldLayout} B`,
    );
    expect(largest).toBeLessThan(MAX_ITEM_BYTES / 2);
    expect(measured.sizes.item).toBeLessThan(MAX_ITEM_BYTES / 2);
    expect(oldLayout).toBeGreaterThan(MAX_ITEM_BYTES);
  }, 300_000);
});
