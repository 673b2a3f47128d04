// The broker failing under a run: killed mid-window, the run stops with an error naming the broker and
// releases its lease; while it is down, a run fails before writing anything; once it is back, the next
// run finishes every window exactly once. A private broker (other ports, its own data) is killed, never
// the shared one.

import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import { FailureKind, failureKindOf } from '../../src/errors.js';
import { dynamodb, listKeys, newPipeline, readLanded, runOnce, uniqueName } from '../support/bed.js';
import { PrivateBroker } from '../support/private-broker.js';

const MINUTE = 60_000;
/** Away from the shared broker's 19092 and from other tests' ports. */
const PORT = 29_000 + Math.floor(Math.random() * 500) * 2;

describe('broker faults', () => {
  const broker = new PrivateBroker(PORT);

  beforeAll(async () => {
    await broker.start();
  }, 90_000);

  afterAll(async () => {
    await broker.stop();
  });

  it('stops a run whose broker dies mid-window, fails fast while it is down, and finishes after its restart', async () => {
    const kafka = new Kafka({ clientId: 'test', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const topic = uniqueName('t');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    // Two past windows, then records in the current one: the run closes the past ones and waits in it.
    const now = Date.now();
    const base = Math.floor(now / MINUTE) * MINUTE - 2 * MINUTE;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...Array.from({ length: 80 }, (_, i) => ({
          partition: i % 2,
          timestamp: String(base + i * 1_500),
          value: `${i}`,
        })),
        ...Array.from({ length: 10 }, (_, i) => ({
          partition: i % 2,
          timestamp: String(now),
          value: `now-${i}`,
        })),
      ],
    });
    await producer.disconnect();
    const pipeline = await newPipeline(topic, { KAFKA_BROKERS: broker.address });
    const store = new DynamoDbStateStore(dynamodb, pipeline.table);

    const currentWindow = Math.floor(now / MINUTE) * MINUTE;
    let killedAt = 0;
    const failed = await runOnce(pipeline.config, {
      seconds: 90,
      listener: {
        onProgress: (progress) => {
          if (killedAt === 0 && progress.windowStartMs === currentWindow) {
            killedAt = Date.now();
            broker.kill();
          }
        },
      },
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const stoppedAfterMs = Date.now() - killedAt;
    const afterKill = await store.load(pipeline.pipelineId);
    const keysAfterKill = await listKeys(pipeline.bucket);

    // Down: a run cannot reach the broker and writes nothing.
    const whileDown = await runOnce(pipeline.config, { seconds: 20 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const afterDown = await store.load(pipeline.pipelineId);

    await broker.restart();
    const recovered = await runOnce(pipeline.config, { seconds: 15 });
    const landed = await readLanded(pipeline.bucket);

    console.log(
      `broker killed mid-window: the run stopped after ${stoppedAfterMs} ms with: ${String(failed)}`,
    );
    console.log(`broker down at start: ${String(whileDown)}`);
    expect(killedAt).toBeGreaterThan(0);
    expect(String(failed)).toContain(broker.address);
    expect(failureKindOf(failed)).toBe(FailureKind.TRANSIENT);
    expect(stoppedAfterMs).toBeLessThan(15_000);
    expect(afterKill?.state.lease).toBeNull();
    expect(afterKill?.state.windowsClosed).toBeGreaterThanOrEqual(2);
    expect(keysAfterKill.filter((k) => k.endsWith('_manifest.json')).length).toBeGreaterThanOrEqual(2);

    expect(String(whileDown)).toContain(broker.address);
    expect(failureKindOf(whileDown)).toBe(FailureKind.TRANSIENT);
    expect(afterDown?.version).toBe(afterKill?.version);

    // A restarted broker may take a while to serve the group again: the run may reach its deadline in the
    // current window, but every past window is closed, each record once.
    expect(['caught-up', 'deadline']).toContain(recovered.outcome);
    const past = [0, 1].flatMap((p) => Array.from({ length: 40 }, (_, offset) => `${p}:${offset}`));
    expect(new Set(landed.records).size).toBe(landed.records.length);
    expect(landed.records.filter((r) => past.includes(r)).sort()).toEqual(past.sort());
    expect([80, 90]).toContain(landed.records.length);
    expect(landed.unlisted).toEqual([]);
    expect((await store.load(pipeline.pipelineId))?.state.lease).toBeNull();
  }, 180_000);
});
