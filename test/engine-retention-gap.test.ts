// Records retention deletes before any run reads them are lost to the pipeline: the run says so, with
// the topic, partition, run id and count, and the report counts them for the RetentionGapRecords metric.
import { describe, expect, it } from 'vitest';
import type { RunLogger } from '../src/engine/run-logger.js';
import { createTopic, newPipeline, produce, readLanded, runOnce, testKafka } from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

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
});
