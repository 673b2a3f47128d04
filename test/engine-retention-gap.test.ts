// Records retention deletes before any run reads them are lost to the pipeline: the run says so, with
// the topic, partition, run id and count, and the report counts them for the RetentionGapRecords metric.
// That holds for a window a run left pending too: where its reading would resume is gone, so the next
// run resumes after the gap, keeps what the window already landed, and closes it.
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import type { RunLogger } from '../src/engine/run-logger.js';
import {
  createTopic,
  dynamodb,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  type TestRecord,
  testKafka,
  uniqueName,
} from './support/bed.js';
import { dyingAdapters } from './support/dying-adapters.js';
import { windowClock } from './support/shard-bed.js';
import { storedPending } from './support/stored-pending.js';

/** Moves `partition`'s first stored offset to `offset`, as retention does. */
async function deleteRecordsBefore(topic: string, partition: number, offset: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    // kafkajs's deleteTopicRecords needs the topic's metadata loaded first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset }] });
  } finally {
    await admin.disconnect();
  }
}

const MINUTE = 60_000;

describe('retention gap', () => {
  it('warns with the lost range and counts the records retention deleted before they were read', async () => {
    const topic = await createTopic(2);
    const { bucket, config } = await newPipeline(topic);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: base + 1 },
      { partition: 0, timestamp: base + 2 },
      { partition: 1, timestamp: base + 3 },
    ]);
    // One second into a window by this clock, with less time than the rest: no wait for the open window.
    const now = windowClock(MINUTE);
    const first = await runOnce(config, { now });
    expect(first.retentionGapRecords).toBe(0);
    // Five more on partition 0, of which retention takes the first three before the next run.
    await produce(
      topic,
      [1, 2, 3, 4, 5].map((i) => ({ partition: 0, timestamp: base + 2 * MINUTE + i })),
    );
    const admin = testKafka().admin();
    await admin.connect();
    // kafkajs's deleteTopicRecords needs the topic's metadata loaded first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] });
    await admin.disconnect();
    const warnings: Array<{ message: string; attributes: Readonly<Record<string, unknown>> }> = [];
    const logger: RunLogger = { warn: (message, attributes) => warnings.push({ message, attributes }) };

    const second = await runOnce(config, { logger, runId: 'run-after-retention', now });

    expect(second.retentionGapRecords).toBe(3);
    expect(warnings).toEqual([
      {
        message: 'retention deleted records before any run read them',
        attributes: {
          topic,
          groupId: config.groupId,
          runId: 'run-after-retention',
          partition: 0,
          savedOffset: '2',
          firstStoredOffset: '5',
          recordsLost: 3,
        },
      },
    ]);
    // The records that survived are late for the open window: they land with it, after the deleted range.
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1', '1:0']);
  });

  it('resumes a pending window after the records retention deleted under it, keeping what it landed', async () => {
    const topic = await createTopic(2);
    const now = windowClock(MINUTE);
    const base = Math.floor(now() / MINUTE) * MINUTE - 3 * MINUTE;
    // One past window: 300 records of about 1 KB on partition 0 (parts of about 44), 5 on partition 1.
    const records: TestRecord[] = [
      ...Array.from({ length: 300 }, (_, i) => ({
        partition: 0,
        timestamp: base + i * 100,
        value: `${i}:${'r'.repeat(1000)}`,
      })),
      ...Array.from({ length: 5 }, (_, i) => ({ partition: 1, timestamp: base + i * 1000 })),
    ];
    await produce(topic, records);
    const { bucket, table, config, pipelineId } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
    const deadRun = uniqueName('run');
    // The first run records two parts of partition 0, then dies: the window stays pending.
    await expect(
      runOnce(config, {
        now,
        runId: deadRun,
        adapt: (a) => dyingAdapters({ kind: 'part-written', occurrence: 2 }, a),
      }),
    ).rejects.toThrow(/process died/);
    const left = await storedPending(new DynamoDbStateStore(dynamodb, table), pipelineId);
    const landedParts = left?.parts.filter((p) => p.partition === 0) ?? [];
    expect(landedParts).toHaveLength(2);
    const resumeAt = Number(landedParts[1]?.nextOffset);
    expect(resumeAt).toBeLessThan(150);
    // Retention deletes partition 0 up to offset 150, past where the window's reading would resume.
    await deleteRecordsBefore(topic, 0, '150');
    const warnings: Array<{ message: string; attributes: Readonly<Record<string, unknown>> }> = [];
    const logger: RunLogger = { warn: (message, attributes) => warnings.push({ message, attributes }) };

    const next = await runOnce(config, {
      now,
      logger,
      runId: 'run-after-retention',
      endedRunIds: [deadRun],
    });

    expect(next.outcome).toBe('caught-up');
    expect(next.retentionGapRecords).toBe(150 - resumeAt);
    expect(warnings).toEqual([
      {
        message: 'retention deleted records of the pending window before any run read them',
        attributes: {
          topic,
          groupId: config.groupId,
          runId: 'run-after-retention',
          partition: 0,
          resumeOffset: String(resumeAt),
          firstStoredOffset: '150',
          recordsLost: 150 - resumeAt,
        },
      },
    ]);
    // The window keeps the parts it had landed, then what retention left; every record once.
    const landed = await readLanded(bucket);
    const expected = [
      ...Array.from({ length: resumeAt }, (_, i) => `0:${i}`),
      ...Array.from({ length: 150 }, (_, i) => `0:${150 + i}`),
      ...Array.from({ length: 5 }, (_, i) => `1:${i}`),
    ];
    expect([...landed.records].sort()).toEqual(expected.sort());
    expect(landed.unlisted).toEqual([]);
    const [window] = landed.manifests.filter((m) => m.totals.records > 0);
    expect(window?.partitions.find((p) => p.partition === 0)).toMatchObject({
      startOffset: '0',
      endOffset: '300',
      records: resumeAt + 150,
    });
  });

  it('closes a sealed window without reading again, whatever retention deleted since', async () => {
    const topic = await createTopic(2);
    const now = windowClock(MINUTE);
    const base = Math.floor(now() / MINUTE) * MINUTE - 3 * MINUTE;
    // Partition 0 has records in the first window; partition 1 only in the next, so it ends the first
    // window where it starts, having found nothing.
    await produce(topic, [
      ...Array.from({ length: 5 }, (_, i) => ({ partition: 0, timestamp: base + i * 1000 })),
      ...Array.from({ length: 5 }, (_, i) => ({ partition: 1, timestamp: base + MINUTE + i * 1000 })),
    ]);
    const { bucket, table, config, pipelineId } = await newPipeline(topic);
    const deadRun = uniqueName('run');
    // The first run seals the first window's ends, then dies as it would write the manifest.
    await expect(
      runOnce(config, { now, runId: deadRun, adapt: (a) => dyingAdapters({ kind: 'manifest-writing' }, a) }),
    ).rejects.toThrow(/process died/);
    const left = (await new DynamoDbStateStore(dynamodb, table).load(pipelineId))?.state.pending;
    expect(left?.sealed?.endOffsets).toEqual({ '0': '5' });
    // Retention deletes partition 1 up to offset 3: below where the sealed window says it starts.
    await deleteRecordsBefore(topic, 1, '3');

    const next = await runOnce(config, { now, endedRunIds: [deadRun] });

    expect(next.outcome).toBe('caught-up');
    expect(next.retentionGapRecords).toBe(3);
    const landed = await readLanded(bucket);
    expect([...landed.records].sort()).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '1:3', '1:4']);
    expect(landed.unlisted).toEqual([]);
  });
});
