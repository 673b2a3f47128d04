// The Kafka source reads as a member of no consumer group: it fetches exactly the partitions it is given
// from the offsets it is given, two sources side by side never disturb each other, a seek leaves nothing
// stale behind, a lost offset is a clear error, and it commits to a group only while the group has no
// member. Against the real broker.
import { type Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { KafkaSource } from '../src/adapters/kafka-source.js';
import { createCluster } from '../src/adapters/kafkajs-internals.js';
import { GroupHasMembersError, OffsetOutOfRangeError, PullerError } from '../src/errors.js';
import type { SourceBatch } from '../src/ports.js';
import {
  createTopic,
  dynamodb,
  newPipeline,
  produce,
  runOnce,
  testKafka,
  transactionalProducer,
  uniqueName,
} from './support/bed.js';

const FETCH = { maxBytesPerPartition: 1024 * 1024, maxQueuedBytes: 16 * 1024 * 1024 } as const;
const MINUTE = 60_000;

/** Produces `count` records to each of `partitions` partitions (offsets 0 to count - 1). */
async function fill(topic: string, partitions: number, count: number, valueBytes = 10): Promise<void> {
  const timestamp = Date.now() - 10 * MINUTE;
  await produce(
    topic,
    Array.from({ length: partitions * count }, (_, i) => ({
      partition: i % partitions,
      timestamp: timestamp + i,
      value: `${i}`.padEnd(valueBytes, '.'),
    })),
  );
}

/** Polls until every partition in `until` has reached its offset (a batch's nextOffset), or 20 s pass. */
async function readUntil(source: KafkaSource, until: ReadonlyMap<number, string>): Promise<SourceBatch[]> {
  const batches: SourceBatch[] = [];
  const reached = new Map<number, bigint>();
  const deadline = Date.now() + 20_000;
  while ([...until].some(([p, end]) => (reached.get(p) ?? -1n) < BigInt(end))) {
    if (Date.now() > deadline) throw new Error(`not read to ${JSON.stringify([...until])} in 20 s`);
    for (const batch of await source.poll(200)) {
      batches.push(batch);
      reached.set(batch.partition, BigInt(batch.nextOffset));
    }
  }
  return batches;
}

/** `partition:offset` of every record, in the order delivered. */
function ids(batches: readonly SourceBatch[]): string[] {
  return batches.flatMap((b) => b.records.map((r) => `${r.partition}:${r.offset}`));
}

function range(partition: number, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `${partition}:${from + i}`);
}

async function describeGroup(admin: Admin, groupId: string) {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  return { state: group?.state, members: group?.members.length };
}

describe('KafkaSource without a consumer group', () => {
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('lets two sources read disjoint partitions of one topic at once, each exactly its own from the given offsets', async () => {
    const topic = await createTopic(4);
    await fill(topic, 4, 30);
    const groupId = uniqueName('g');
    const a = new KafkaSource(testKafka(), topic, groupId, FETCH);
    const b = new KafkaSource(testKafka(), topic, groupId, FETCH);
    try {
      await Promise.all([
        a.start(
          new Map([
            [0, '7'],
            [1, '0'],
          ]),
        ),
        b.start(
          new Map([
            [2, '29'],
            [3, '12'],
          ]),
        ),
      ]);
      const [readA, readB] = await Promise.all([
        readUntil(
          a,
          new Map([
            [0, '30'],
            [1, '30'],
          ]),
        ),
        readUntil(
          b,
          new Map([
            [2, '30'],
            [3, '30'],
          ]),
        ),
      ]);
      // A last poll each: nothing more arrives for the partitions read to their end, and nothing for others.
      readA.push(...(await a.poll(300)));
      readB.push(...(await b.poll(300)));

      expect(ids(readA).sort()).toEqual([...range(0, 7, 30), ...range(1, 0, 30)].sort());
      expect(ids(readB).sort()).toEqual([...range(2, 29, 30), ...range(3, 12, 30)].sort());
      // Offset order within each partition.
      for (const partition of [0, 1]) {
        const offsets = ids(readA)
          .filter((id) => id.startsWith(`${partition}:`))
          .map((id) => Number(id.split(':')[1]));
        expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
      }
      // Neither source ever joined the group.
      expect(await describeGroup(admin, groupId)).toEqual({ state: 'Dead', members: 0 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('leaves no stale record behind when a partition is paused and resumed at another offset', async () => {
    const topic = await createTopic(1);
    await fill(topic, 1, 400, 1000);
    // Small fetches, so fetches are in flight while the partition is moved.
    const source = new KafkaSource(testKafka(), topic, uniqueName('g'), {
      maxBytesPerPartition: 16 * 1024,
      maxQueuedBytes: 64 * 1024,
    });
    try {
      await source.start(new Map([[0, '0']]));
      const before = await source.poll(5000);
      expect(before.length).toBeGreaterThan(0);
      // Seek back and forth without polling: only the last seek may deliver.
      for (const offset of ['300', '20', '150']) {
        source.pause([0]);
        source.resume(new Map([[0, offset]]));
      }
      const after = await readUntil(source, new Map([[0, '400']]));
      expect(ids(after)).toEqual(range(0, 150, 400));
      // Paused: nothing more is delivered, even from fetches in flight.
      source.pause([0]);
      expect(await source.poll(500)).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it('bounds a partition at its last stable offset, and tells the high watermark above it while a transaction is open', async () => {
    const topic = await createTopic(2);
    await fill(topic, 2, 3);
    const producer = await transactionalProducer();
    const source = new KafkaSource(testKafka(), topic, uniqueName('g'), FETCH);
    try {
      const transaction = await producer.transaction();
      await transaction.send({
        topic,
        messages: [
          { partition: 1, value: 'a' },
          { partition: 1, value: 'b' },
        ],
      });
      const open = await source.partitionBounds();
      await transaction.commit();
      // The coordinator answers the commit once it is decided, and writes the markers to the partitions
      // after: wait (10 s at most) for the marker to be read as the end.
      let committed = await source.partitionBounds();
      for (let wait = 0; committed[1]?.high !== '6' && wait < 100; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        committed = await source.partitionBounds();
      }

      expect(open).toEqual([
        { partition: 0, low: '0', high: '3', highWatermark: '3' },
        { partition: 1, low: '0', high: '3', highWatermark: '5' },
      ]);
      // The records, then the commit marker.
      expect(committed[1]).toEqual({ partition: 1, low: '0', high: '6', highWatermark: '6' });
    } finally {
      await producer.disconnect();
      await source.close();
    }
  });

  it('fails poll() with the topic, partition and offset when the offset is no longer (or not yet) held', async () => {
    const topic = await createTopic(2);
    await fill(topic, 2, 10);
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '6' }] });

    for (const [partition, offset] of [
      [1, '2'],
      [0, '50'],
    ] as const) {
      const source = new KafkaSource(testKafka(), topic, uniqueName('g'), FETCH);
      try {
        await source.start(new Map([[partition, offset]]));
        let failure: unknown;
        const deadline = Date.now() + 10_000;
        while (failure === undefined && Date.now() < deadline) {
          await source.poll(200).catch((error: unknown) => {
            failure = error;
          });
        }
        expect(failure).toBeInstanceOf(OffsetOutOfRangeError);
        expect(failure).toMatchObject({ topic, partition, offset });
        expect(String(failure)).toContain(`offset ${offset} of partition ${partition} of topic '${topic}'`);
      } finally {
        await source.close();
      }
    }
  });

  it('commits as a non-member, and refuses with a clear error while another consumer is a member of the group', async () => {
    const topic = await createTopic(2);
    await fill(topic, 2, 5);
    const groupId = uniqueName('g');
    const source = new KafkaSource(testKafka(), topic, groupId, FETCH);
    const member = testKafka().consumer({ groupId, sessionTimeout: 10_000 });
    try {
      await source.commit(
        new Map([
          [0, '3'],
          [1, '5'],
        ]),
      );
      expect(await source.committedOffsets()).toEqual(
        new Map([
          [0, '3'],
          [1, '5'],
        ]),
      );
      expect(await describeGroup(admin, groupId)).toEqual({ state: 'Empty', members: 0 });

      const joined = new Promise<void>((resolve) => member.on(member.events.GROUP_JOIN, () => resolve()));
      await member.connect();
      await member.subscribe({ topics: [topic] });
      await member.run({ autoCommit: false, eachMessage: async () => {} });
      await joined;

      const refused = await source.commit(new Map([[0, '4']])).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(GroupHasMembersError);
      expect(String(refused)).toContain(`consumer group '${groupId}'`);
      expect(String(refused)).toContain('another consumer is a member of it');
      expect((await source.committedOffsets()).get(0)).toBe('3');

      // Once the member has left, the commit goes through.
      await member.disconnect();
      await source.commit(new Map([[0, '4']]));
      expect((await source.committedOffsets()).get(0)).toBe('4');
    } finally {
      await member.disconnect().catch(() => {});
      await source.close();
    }
  });

  it('runs the pipeline with no member in its group at any time, and commits the saved offsets', async () => {
    const topic = await createTopic(3);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    await produce(
      topic,
      Array.from({ length: 90 }, (_, i) => ({ partition: i % 3, timestamp: base + i * 2_000 })),
    );
    const pipeline = await newPipeline(topic, { ALLOWED_LATENESS_SECONDS: '0' });
    const seen: Array<Promise<{ state: string | undefined; members: number | undefined }>> = [];

    const report = await runOnce(pipeline.config, {
      seconds: 20,
      listener: { onProgress: () => void seen.push(describeGroup(admin, pipeline.groupId)) },
    });

    expect(report.windowsClosed.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeGreaterThan(0);
    for (const during of await Promise.all(seen)) {
      expect(['Empty', 'Dead']).toContain(during.state);
      expect(during.members).toBe(0);
    }
    expect(await describeGroup(admin, pipeline.groupId)).toEqual({ state: 'Empty', members: 0 });
    const saved = (await new DynamoDbStateStore(dynamodb, pipeline.table).load(pipeline.pipelineId))?.state
      .offsets;
    const [committed] = await admin.fetchOffsets({ groupId: pipeline.groupId, topics: [topic] });
    expect(
      Object.fromEntries((committed?.partitions ?? []).map((p) => [String(p.partition), p.offset])),
    ).toEqual(saved);
    expect(saved).toEqual({ '0': '30', '1': '30', '2': '30' });
  });
});

describe('kafkajs internals', () => {
  it('are found on the installed kafkajs, and a client without them fails with an error saying what is missing', async () => {
    const cluster = createCluster(testKafka(), 60_000);
    await cluster.connect();
    await cluster.disconnect();

    // A client object of another shape (as another kafkajs version could be): no private cluster factory.
    const other = Object.create(Kafka.prototype) as Kafka;
    expect(() => createCluster(other, 60_000)).toThrow(PullerError);
    expect(() => createCluster(other, 60_000)).toThrow(
      /lacks the private cluster factory.*needs kafkajs 2\.2\.4 exactly/,
    );
  });
});
