// Operator mistakes that would land data twice or split it across layouts are refused before anything is
// written, each with a message that names the way out.

import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import type { PipelineState } from '../../src/core/pipeline-state.js';
import { GroupHasMembersError } from '../../src/errors.js';
import {
  GroupOffsetsMovedError,
  OrphanedOutputError,
  OutputChangedError,
  TopicChangedError,
} from '../../src/operator-errors.js';
import {
  createTopic,
  dynamodb,
  listKeys,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  testConfig,
  testKafka,
  uniqueName,
} from '../support/bed.js';
import { dyingAdapters } from '../support/dying-adapters.js';
import { expectExactlyOnce, windowClock } from '../support/shard-bed.js';
import { storedPending } from '../support/stored-pending.js';

const MINUTE = 60_000;

/**
 * Deletes `topic` and creates it again with 2 partitions, holding `records` new records stamped a few
 * minutes ago, spread over both.
 */
async function recreateTopic(topic: string, records: number): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
    // The deletion completes in the background: until it has, the name is taken.
    for (let attempt = 0; (await admin.listTopics()).includes(topic); attempt++) {
      if (attempt === 100) throw new Error(`topic ${topic} still exists 10 s after its deletion`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
  await createTopic(2, topic);
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
  await produce(
    topic,
    Array.from({ length: records }, (_, i) => ({
      partition: i % 2,
      timestamp: base + i * 1_000,
      value: `new ${i}`,
    })),
  );
}

async function landedPipeline() {
  const topic = await createTopic(2);
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 4 * MINUTE;
  await produce(
    topic,
    Array.from({ length: 60 }, (_, i) => ({ partition: i % 2, timestamp: base + i * 2_000, value: `${i}` })),
  );
  const pipeline = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
  return { topic, ...pipeline };
}

describe('operator mistakes', () => {
  it('refuses to start over when the state item is gone but the output is still there', async () => {
    const { topic, bucket, table, config, pipelineId } = await landedPipeline();
    const first = await runOnce(config, { seconds: 20 });
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pipelineId: { S: pipelineId } } }));
    const before = await listKeys(bucket);

    const refused = runOnce(config, { seconds: 20 });

    const someManifest = before.find((k) => k.endsWith('/_manifest.json'));
    await expect(refused).rejects.toThrow(OrphanedOutputError);
    await expect(refused).rejects.toThrow(
      `pipeline '${pipelineId}' has no state item, but its output already holds windows (s3://${bucket}/${someManifest}): ` +
        "starting over would land them again. Restore the state item (the stack's table has point-in-time " +
        'recovery), or, to land the topic again on purpose, point OUTPUT_PREFIX at an empty prefix',
    );
    expect(first.windowsClosed.length).toBeGreaterThan(0);
    expect(await listKeys(bucket)).toEqual(before);
    expect(await new DynamoDbStateStore(dynamodb, table).load(pipelineId)).toBeUndefined();

    // The way out: a fresh prefix lands the topic again, beside the old output.
    const again = await runOnce(
      testConfig({
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: config.groupId,
        OUTPUT_BUCKET: bucket,
        STATE_TABLE: table,
        OUTPUT_PREFIX: 'again',
      }),
      { seconds: 20 },
    );
    expect(again.outcome).toBe('caught-up');
    expect(again.recordsWritten).toBe(60);
  });

  it('refuses a changed output prefix under an existing pipeline', async () => {
    const { topic, bucket, table, config, pipelineId, groupId } = await landedPipeline();
    await runOnce(config, { seconds: 20 });
    const saved = await new DynamoDbStateStore(dynamodb, table).load(pipelineId);
    const before = await listKeys(bucket);

    const moved = testConfig({
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_BUCKET: bucket,
      STATE_TABLE: table,
      OUTPUT_PREFIX: 'moved',
    });
    const refused = runOnce(moved, { seconds: 20 });

    await expect(refused).rejects.toThrow(OutputChangedError);
    await expect(refused).rejects.toThrow(
      `the output of pipeline '${pipelineId}' changed under it: its state recorded prefix '', format ndjson, ` +
        `compression gzip where the current OUTPUT_PREFIX, OUTPUT_FORMAT and COMPRESSION give prefix 'moved', ` +
        'format ndjson, compression gzip. Put the settings back, or start a new pipeline (a new KAFKA_GROUP_ID) ' +
        'for the new layout',
    );
    expect(await listKeys(bucket)).toEqual(before);
    expect((await new DynamoDbStateStore(dynamodb, table).load(pipelineId))?.version).toBe(saved?.version);
  });

  it('refuses a changed compression while a window is half written, and finishes it once put back', async () => {
    const { topic, bucket, table, config, pipelineId, groupId } = await landedPipeline();
    const before = await listKeys(bucket);
    const deadRun = uniqueName('run');
    await expect(
      runOnce(config, {
        seconds: 20,
        runId: deadRun,
        adapt: (a) => dyingAdapters({ kind: 'part-written', occurrence: 1 }, a),
      }),
    ).rejects.toThrow(/process died/);
    const pending = await storedPending(new DynamoDbStateStore(dynamodb, table), pipelineId);
    // Half written: parts recorded (a shard records its last parts in one write), no manifest yet.
    expect(pending?.parts.length).toBeGreaterThanOrEqual(1);
    expect((await listKeys(bucket)).filter((key) => key.endsWith('_manifest.json'))).toEqual(
      before.filter((key) => key.endsWith('_manifest.json')),
    );

    const uncompressed = testConfig({
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_BUCKET: bucket,
      STATE_TABLE: table,
      PART_SIZE_MB: '0.05',
      COMPRESSION: 'none',
    });
    const refused = runOnce(uncompressed, { seconds: 20, endedRunIds: [deadRun] });

    await expect(refused).rejects.toThrow(OutputChangedError);
    await expect(refused).rejects.toThrow(
      "its state recorded prefix '', format ndjson, compression gzip where the current OUTPUT_PREFIX, " +
        "OUTPUT_FORMAT and COMPRESSION give prefix '', format ndjson, compression none",
    );
    const putBack = await runOnce(config, { seconds: 20, endedRunIds: [deadRun] });
    expect(putBack.outcome).toBe('caught-up');
    const landed = await readLanded(bucket);
    expect(landed.records).toHaveLength(60);
    expect(new Set(landed.records).size).toBe(60);
  });

  it('refuses a changed output format between windows, when nothing is half written', async () => {
    const { topic, bucket, table, config, pipelineId, groupId } = await landedPipeline();
    await runOnce(config, { seconds: 20 });
    const saved = await new DynamoDbStateStore(dynamodb, table).load(pipelineId);
    expect(saved?.state.pending).toBeNull();
    const before = await listKeys(bucket);

    const parquet = testConfig({
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_BUCKET: bucket,
      STATE_TABLE: table,
      OUTPUT_FORMAT: 'parquet',
    });
    const refused = runOnce(parquet, { seconds: 20 });

    await expect(refused).rejects.toThrow(OutputChangedError);
    await expect(refused).rejects.toThrow(
      "its state recorded prefix '', format ndjson, compression gzip where the current OUTPUT_PREFIX, " +
        "OUTPUT_FORMAT and COMPRESSION give prefix '', format parquet, compression snappy",
    );
    expect(await listKeys(bucket)).toEqual(before);
    expect((await new DynamoDbStateStore(dynamodb, table).load(pipelineId))?.version).toBe(saved?.version);
  });

  it('refuses committed offsets moved by hand, and runs again once they are put back', async () => {
    const { topic, bucket, table, config, pipelineId, groupId } = await landedPipeline();
    await runOnce(config, { seconds: 20 });
    const saved = (await new DynamoDbStateStore(dynamodb, table).load(pipelineId))?.state;
    const before = await listKeys(bucket);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      // What `kafka-consumer-groups --reset-offsets --to-earliest` does.
      await admin.setOffsets({
        groupId,
        topic,
        partitions: [
          { partition: 0, offset: '0' },
          { partition: 1, offset: '0' },
        ],
      });

      const refused = runOnce(config, { seconds: 20 });

      await expect(refused).rejects.toThrow(GroupOffsetsMovedError);
      await expect(refused).rejects.toThrow(
        `the committed offsets of pipeline '${pipelineId}' were moved outside the puller (partition 0: saved ${saved?.offsets['0']}, committed 0; partition 1: saved ${saved?.offsets['1']}, committed 0). ` +
          'Commit the saved offsets back (kafka-consumer-groups --reset-offsets), or, to re-read on purpose, start a new ' +
          'pipeline (a new KAFKA_GROUP_ID with START_POSITION)',
      );
      expect(await listKeys(bucket)).toEqual(before);

      // The way out: the saved offsets committed back.
      await admin.setOffsets({
        groupId,
        topic,
        partitions: Object.entries(saved?.offsets ?? {}).map(([partition, offset]) => ({
          partition: Number(partition),
          offset,
        })),
      });
    } finally {
      await admin.disconnect();
    }
    const resumed = await runOnce(config, { seconds: 20 });
    expect(resumed.outcome).toBe('caught-up');
    const landed = await readLanded(bucket);
    expect(landed.records).toHaveLength(60);
    expect(new Set(landed.records).size).toBe(60);
  });

  it('refuses a topic deleted and created again under its pipeline, even once refilled past the saved offsets', async () => {
    const { topic, bucket, table, config, pipelineId } = await landedPipeline();
    await runOnce(config, { seconds: 5 });
    const saved = await new DynamoDbStateStore(dynamodb, table).load(pipelineId);
    const before = await listKeys(bucket);
    // More records than the old topic had: every saved offset is within the new log.
    await recreateTopic(topic, 80);

    const refused = await runOnce(config, { seconds: 5 }).then(
      () => undefined,
      (error: unknown) => error,
    );

    const savedId = saved?.state.topicIdentity?.topicId;
    expect(savedId).toMatch(/^[\w-]{22}$/);
    expect(refused).toBeInstanceOf(TopicChangedError);
    const change = (refused as TopicChangedError).change;
    expect(change).toMatchObject({
      kind: 'topic-id',
      saved: savedId,
      current: expect.stringMatching(/^[\w-]{22}$/),
    });
    expect(change).not.toMatchObject({ current: savedId });
    expect(String(refused)).toContain(
      `topic '${topic}' is not the topic pipeline '${pipelineId}' saved its offsets on: its id was ${savedId}, ` +
        `it is now ${(change as { current: string }).current} (it was deleted and created again). Nothing was ` +
        'written. To land the topic as it is now, start a new pipeline: a new KAFKA_GROUP_ID and a new ' +
        'OUTPUT_PREFIX (START_POSITION says where it begins); the windows landed so far stay as they are',
    );
    expect(await listKeys(bucket)).toEqual(before);
    expect((await new DynamoDbStateStore(dynamodb, table).load(pipelineId))?.version).toBe(saved?.version);
  });

  it('refuses saved offsets past the end of the log (a truncated log, or a topic recreated before its id was recorded)', async () => {
    const { topic, bucket, table, config, pipelineId } = await landedPipeline();
    await runOnce(config, { seconds: 5 });
    const store = new DynamoDbStateStore(dynamodb, table);
    const loaded = await store.load(pipelineId);
    // The first run read past where the new topic's log will end.
    const saved = loaded?.state.offsets ?? {};
    expect(Object.keys(saved).sort()).toEqual(['0', '1']);
    expect(Math.min(...Object.values(saved).map(Number))).toBeGreaterThan(5);
    // An item written before the topic's id was recorded.
    const { topicIdentity: _recorded, ...older } = loaded?.state ?? ({} as PipelineState);
    const version = await store.save(pipelineId, older, loaded?.version);
    const before = await listKeys(bucket);
    await recreateTopic(topic, 10);

    const refused = runOnce(config, { seconds: 5 });

    await expect(refused).rejects.toThrow(TopicChangedError);
    await expect(refused).rejects.toThrow(
      `the saved offsets of pipeline '${pipelineId}' are past the end of topic '${topic}' (partition 0: saved ${saved['0']}, ` +
        `end 5; partition 1: saved ${saved['1']}, end 5): the topic was deleted and created again, or its log was ` +
        'truncated (an unclean leader election); reading on would skip the records below the saved offsets.',
    );
    expect(await listKeys(bucket)).toEqual(before);
    expect((await store.load(pipelineId))?.version).toBe(version);

    // The way out: a new pipeline (its own group and prefix) lands the topic as it is now.
    const fresh = await runOnce(
      testConfig({
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: uniqueName('g'),
        OUTPUT_BUCKET: bucket,
        STATE_TABLE: table,
        OUTPUT_PREFIX: 'recreated',
      }),
      { seconds: 5 },
    );
    expect(fresh.recordsWritten).toBe(10);
  });

  it('refuses a state saved on another cluster (a migration, or KAFKA_BROKERS pointed elsewhere)', async () => {
    const { topic, bucket, table, config, pipelineId } = await landedPipeline();
    await runOnce(config, { seconds: 5 });
    const store = new DynamoDbStateStore(dynamodb, table);
    const loaded = await store.load(pipelineId);
    const clusterId = loaded?.state.topicIdentity?.clusterId;
    expect(clusterId).toMatch(/^[\w-]{22}$/);
    const elsewhere = { ...loaded?.state.topicIdentity, clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' };
    const version = await store.save(
      pipelineId,
      { ...(loaded?.state as PipelineState), topicIdentity: elsewhere },
      loaded?.version,
    );
    const before = await listKeys(bucket);

    const refused = runOnce(config, { seconds: 5 });

    await expect(refused).rejects.toThrow(TopicChangedError);
    await expect(refused).rejects.toThrow(
      `topic '${topic}' is not the topic pipeline '${pipelineId}' saved its offsets on: they were saved on ` +
        `cluster AAAAAAAAAAAAAAAAAAAAAA, and the brokers belong to cluster ${clusterId}`,
    );
    expect(await listKeys(bucket)).toEqual(before);
    expect((await store.load(pipelineId))?.version).toBe(version);
  });

  it('accepts the committed offsets a run that died between its save and its commit left behind', async () => {
    const { bucket, config } = await landedPipeline();
    const deadRun = uniqueName('run');
    await expect(
      runOnce(config, {
        seconds: 20,
        runId: deadRun,
        adapt: (a) => dyingAdapters({ kind: 'state-saved' }, a),
      }),
    ).rejects.toThrow(/process died/);

    const next = await runOnce(config, { seconds: 20, endedRunIds: [deadRun] });

    expect(next.outcome).toBe('caught-up');
    const landed = await readLanded(bucket);
    expect(landed.records).toHaveLength(60);
    expect(new Set(landed.records).size).toBe(60);
  });

  it('accepts the committed offsets two lost commits in a row leave behind, and commits once it can', async () => {
    const topic = await createTopic(2);
    const { bucket, table, config, pipelineId, groupId } = await newPipeline(topic);
    const start = Math.floor(windowClock(MINUTE)() / MINUTE) * MINUTE;
    /** Run `k` comes one window after run `k - 1`, one second into its window. */
    const clockOf = (k: number) => windowClock(MINUTE, start + k * MINUTE);
    /** Ten records in the window that ended just before run `k`'s clock. */
    const windowBefore = (k: number) =>
      produce(
        topic,
        Array.from({ length: 10 }, (_, i) => ({
          partition: i % 2,
          timestamp: start + (k - 1) * MINUTE + i * 1000,
          value: `${k}:${i}`,
        })),
      );
    const stored = new DynamoDbStateStore(dynamodb, table);
    const admin = testKafka().admin();
    const member = testKafka().consumer({ groupId, sessionTimeout: 10_000 });
    await admin.connect();
    try {
      await windowBefore(0);
      await runOnce(config, { now: clockOf(0) });
      const committedAtFirst = await committedOf(admin, groupId, topic);
      expect(committedAtFirst).toEqual((await stored.load(pipelineId))?.state.offsets);

      // A consumer joins the pipeline's group (another application using its group id): the broker refuses
      // the puller's commits. Two runs in a row close a window each, and lose its commit.
      const joined = new Promise<void>((resolve) => member.on(member.events.GROUP_JOIN, () => resolve()));
      await member.connect();
      await member.subscribe({ topics: [topic] });
      await member.run({ autoCommit: false, eachMessage: async () => {} });
      await joined;
      for (const k of [1, 2]) {
        await windowBefore(k);
        await expect(runOnce(config, { now: clockOf(k) })).rejects.toBeInstanceOf(GroupHasMembersError);
      }
      expect(await committedOf(admin, groupId, topic)).toEqual(committedAtFirst);
      // The second run's plan recorded where the group stayed.
      expect((await stored.load(pipelineId))?.state.committedBehind).toEqual(committedAtFirst);
      await member.disconnect();

      // The group holds what the pipeline saved two windows ago: not an operator's move.
      await windowBefore(3);
      const third = await runOnce(config, { now: clockOf(3) });

      expect(third.outcome).toBe('caught-up');
      expect(third.recordsWritten).toBe(10);
      await expectExactlyOnce(bucket, topic);
      const saved = (await stored.load(pipelineId))?.state;
      expect(await committedOf(admin, groupId, topic)).toEqual(saved?.offsets);
      expect(saved?.offsets).toEqual({ '0': '20', '1': '20' });
    } finally {
      await member.disconnect().catch(() => {});
      await admin.disconnect();
    }
  });
});

/** The group's committed offsets of `topic`, by partition. */
async function committedOf(
  admin: ReturnType<ReturnType<typeof testKafka>['admin']>,
  groupId: string,
  topic: string,
): Promise<Record<string, string>> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries(
    (committed?.partitions ?? [])
      .filter((p) => p.offset !== '-1')
      .map((p) => [String(p.partition), p.offset]),
  );
}
