// The broker failing under a run: killed mid-window, the run stops with an error naming the broker and
// releases its lease; while it is down, a run fails before writing anything; once it is back, the next
// run finishes every window exactly once. A private broker (other ports, its own data) is killed, never
// the shared one.

import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import { createKafkaClient } from '../../src/adapters/kafka-client.js';
import { KafkaSource } from '../../src/adapters/kafka-source.js';
import { ConnectionError, FailureKind, failureKindOf } from '../../src/errors.js';
import { dynamodb, listKeys, newPipeline, readLanded, runOnce, uniqueName } from '../support/bed.js';
import { PrivateBroker } from '../support/private-broker.js';
import { windowClock } from '../support/shard-bed.js';

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
    // Two past windows, then records late in the last one, whose quiet partitions close only by their
    // poll timeouts (the lateness is long): the run closes the first two at once and reads in the third.
    // On the window clock, a second into the minute, so the phase of the real one changes nothing.
    const clock = windowClock(MINUTE);
    const now = clock();
    const base = Math.floor(now / MINUTE) * MINUTE - 3 * MINUTE;
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
          timestamp: String(base + 3 * MINUTE - 1_000),
          value: `late-${i}`,
        })),
      ],
    });
    await producer.disconnect();
    const pipeline = await newPipeline(topic, {
      KAFKA_BROKERS: broker.address,
      ALLOWED_LATENESS_SECONDS: '30',
    });
    const store = new DynamoDbStateStore(dynamodb, pipeline.table);

    const lastWindow = base + 2 * MINUTE;
    let killedAt = 0;
    const failed = await runOnce(pipeline.config, {
      now: clock,
      seconds: 90,
      listener: {
        onProgress: (progress) => {
          if (killedAt === 0 && progress.windowStartMs === lastWindow) {
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
    const whileDown = await runOnce(pipeline.config, { now: clock, seconds: 20 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const afterDown = await store.load(pipeline.pipelineId);

    await broker.restart();
    const recovered = await runOnce(pipeline.config, { now: clock, seconds: 45 });
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
    // last window, but the first two are closed, each record once.
    expect(['caught-up', 'deadline']).toContain(recovered.outcome);
    const past = [0, 1].flatMap((p) => Array.from({ length: 40 }, (_, offset) => `${p}:${offset}`));
    expect(new Set(landed.records).size).toBe(landed.records.length);
    expect(landed.records.filter((r) => past.includes(r)).sort()).toEqual(past.sort());
    expect([80, 90]).toContain(landed.records.length);
    expect(landed.unlisted).toEqual([]);
    expect((await store.load(pipeline.pipelineId))?.state.lease).toBeNull();
  }, 180_000);

  it("fails the source's poll() with the broker's address when the broker dies under its fetches", async () => {
    const kafka = new Kafka({ clientId: 'test', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const topic = uniqueName('t');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    // The source as a run builds it: the puller's client, with its bounded retries.
    const { config } = await newPipeline(topic, { KAFKA_BROKERS: broker.address });
    const source = new KafkaSource(await createKafkaClient(config), topic, config.groupId, config.fetch);
    try {
      await source.start(new Map([[0, '0']]));
      let read = 0;
      for (let i = 0; i < 50 && read < 2; i++) {
        for (const batch of await source.poll(200)) read += batch.records.length;
      }
      expect(read).toBe(2);

      broker.kill();
      const killedAt = Date.now();
      let failure: unknown;
      while (failure === undefined && Date.now() - killedAt < 30_000) {
        await source.poll(200).catch((error: unknown) => {
          failure = error;
        });
      }
      const failedAfterMs = Date.now() - killedAt;
      console.log(
        `source fetching from a killed broker: poll() failed after ${failedAfterMs} ms with: ${String(failure)}`,
      );
      expect(failure).toBeInstanceOf(ConnectionError);
      expect(String(failure)).toContain(broker.address);
      expect(failureKindOf(failure)).toBe(FailureKind.TRANSIENT);
      expect(failedAfterMs).toBeLessThan(15_000);
    } finally {
      await source.close();
      await broker.restart();
    }
  }, 120_000);
});
