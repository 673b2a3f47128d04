// The measurements of bench/measure-group-join.ts: what a scheduled run pays to start reading (and to
// stop) with kafkajs as the puller read before it read without a group, with naive shards in one group
// or in groups of their own, without any group (the prototype bench/groupless-reader.ts), and with the
// puller's own group-free KafkaSource (src/adapters/kafka-source.ts). Times are ms from the start of the
// member.
import { randomUUID } from 'node:crypto';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { KafkaSource } from '../src/adapters/kafka-source.js';
import { commitWithoutJoining, GrouplessReader } from './groupless-reader.js';

/** The topic the scenarios read: every partition holds records from offset 0. */
export interface JoinTopic {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly partitions: number;
  readonly recordsPerPartition: number;
}

/** One member's (consumer's or reader's) timeline in one run. */
export interface MemberSample {
  /** connect() to the first batch with records of a partition it was finally assigned. */
  readonly firstBatchMs: number;
  /** connect() to its last group join (undefined for the group-free reader). */
  readonly lastJoinMs?: number | undefined;
  /** How many times it joined (or rejoined) the group. */
  readonly joins: number;
}

/** One run of a scenario: its members, the end of the run, and what overlapped. */
export interface ScenarioSample {
  readonly members: readonly MemberSample[];
  /** The commit at the end of the run (single-member scenarios), in ms. */
  readonly commitMs?: number | undefined;
  /** disconnect() (leaving the group) of every member, in parallel, in ms. */
  readonly leaveMs: number;
  /** Partitions whose records were delivered to more than one member. */
  readonly partitionsReadTwice: number;
  /** The first member's start to every member reading its final partitions, in ms. */
  readonly allReadingMs: number;
}

/** How members are set up, and how long a run may take before it is reported as failed. */
export interface ScenarioOptions {
  readonly maxWaitMs: number;
  readonly settleTimeoutMs: number;
}

function client(brokers: readonly string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING });
}

function fromZero(partitions: readonly number[]): Map<number, string> {
  return new Map(partitions.map((p) => [p, '0']));
}

/** The partitions shard `index` of `count` reads: round robin, as any fixed plan would. */
export function shardPartitions(partitions: number, index: number, count: number): number[] {
  return Array.from({ length: partitions }, (_, p) => p).filter((p) => p % count === index);
}

interface Trace {
  readonly start: number;
  joins: Array<{ at: number; partitions: number[] }>;
  batches: Array<{ at: number; partition: number }>;
}

/**
 * Starts a kafkajs consumer the way KafkaSource.start did before (connect, subscribe, run with eachBatch and
 * autoCommit off, then seek to the saved offsets) and records its joins and batches.
 */
async function startConsumer(
  topic: JoinTopic,
  groupId: string,
  own: readonly number[] | undefined,
  options: ScenarioOptions,
  onEvent: () => void,
): Promise<{ consumer: Consumer; trace: Trace }> {
  const trace: Trace = { start: performance.now(), joins: [], batches: [] };
  const consumer = client(topic.brokers, `kbp-bench-${randomUUID()}`).consumer({
    groupId,
    maxWaitTimeInMs: options.maxWaitMs,
    retry: { retries: 3, restartOnFailure: async () => false },
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    trace.joins.push({ at: performance.now(), partitions: payload.memberAssignment[topic.topic] ?? [] });
    onEvent();
  });
  await consumer.connect();
  // fromBeginning: a partition a rebalance hands over still has records to deliver (the puller seeks
  // only once, so its naive shards would read a handed-over partition from the group's committed offset).
  await consumer.subscribe({ topics: [topic.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (batch.messages.length === 0) return;
      trace.batches.push({ at: performance.now(), partition: batch.partition });
      onEvent();
    },
  });
  const all = Array.from({ length: topic.partitions }, (_, p) => p);
  if (own) {
    // A shard alone in its group is assigned every partition: it reads its own and pauses the rest.
    const others = all.filter((p) => !own.includes(p));
    if (others.length > 0) consumer.pause([{ topic: topic.topic, partitions: others }]);
  }
  for (const [partition, offset] of fromZero(own ?? all))
    consumer.seek({ topic: topic.topic, partition, offset });
  return { consumer, trace };
}

/** True once every member's latest assignment is in and they cover each wanted partition exactly once. */
function settled(traces: readonly Trace[], wanted: readonly (readonly number[])[]): boolean {
  return traces.every((trace, i) => {
    const last = trace.joins[trace.joins.length - 1];
    if (!last) return false;
    const mine = wanted[i] ?? last.partitions;
    if (!mine.every((p) => last.partitions.includes(p))) return false;
    const joinedAt = last.at;
    return mine.length === 0 || trace.batches.some((b) => b.at >= joinedAt && mine.includes(b.partition));
  });
}

function ownership(traces: readonly Trace[], partitions: number): number[][] {
  // Members' latest assignments, when they split the topic exactly once.
  const latest = traces.map((t) => t.joins[t.joins.length - 1]?.partitions ?? []);
  const all = latest.flat();
  return all.length === partitions && new Set(all).size === partitions ? latest : [];
}

function partitionsReadTwice(traces: readonly Trace[]): number {
  const readers = new Map<number, Set<number>>();
  traces.forEach((trace, member) => {
    for (const { partition } of trace.batches) {
      const set = readers.get(partition) ?? new Set<number>();
      set.add(member);
      readers.set(partition, set);
    }
  });
  return [...readers.values()].filter((set) => set.size > 1).length;
}

/**
 * `count` consumers started at once (or `staggerMs` apart, as shards whose starts are spread by cold
 * starts would be), either all in one group (`sameGroup`) or each in a throwaway group of its own
 * reading its shard's partitions. `groupId` names the shared group (reused across runs like a
 * pipeline's, so it is Empty with committed offsets when a run starts). With one consumer, the run
 * ends as the puller's does: commit, then leave.
 */
export async function measureConsumers(
  topic: JoinTopic,
  count: number,
  sameGroup: boolean,
  groupId: string,
  options: ScenarioOptions,
  staggerMs = 0,
): Promise<ScenarioSample> {
  let wake = () => {};
  const runStart = performance.now();
  const started = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      if (staggerMs > 0) await new Promise((r) => setTimeout(r, i * staggerMs));
      return startConsumer(
        topic,
        sameGroup ? groupId : `${groupId}-own-${i}-${randomUUID()}`,
        sameGroup ? undefined : shardPartitions(topic.partitions, i, count),
        options,
        () => wake(),
      );
    }),
  );
  const traces = started.map((s) => s.trace);
  const wanted = (): number[][] =>
    sameGroup
      ? ownership(traces, topic.partitions)
      : traces.map((_, i) => shardPartitions(topic.partitions, i, count));
  try {
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`the members did not settle in ${options.settleTimeoutMs} ms`)),
        options.settleTimeoutMs,
      );
      wake = () => {
        const plan = wanted();
        if (plan.length === count && settled(traces, plan)) {
          clearTimeout(timer);
          done();
        }
      };
      wake();
    });
  } catch (error) {
    await Promise.all(started.map(({ consumer }) => consumer.disconnect().catch(() => {})));
    throw error;
  }
  const settledAt = performance.now();
  const plan = wanted();
  const members = traces.map((trace, i): MemberSample => {
    const last = trace.joins[trace.joins.length - 1];
    const lastJoin = last?.at ?? trace.start;
    const mine = plan[i] ?? [];
    const first = trace.batches.find((b) => b.at >= lastJoin && mine.includes(b.partition));
    return {
      firstBatchMs: (first?.at ?? Number.NaN) - trace.start,
      lastJoinMs: lastJoin - trace.start,
      joins: trace.joins.length,
    };
  });
  let commitMs: number | undefined;
  const only = started[0];
  if (count === 1 && only) {
    const at = performance.now();
    await only.consumer.commitOffsets(
      [...fromZero(plan[0] ?? [])].map(([partition, offset]) => ({ topic: topic.topic, partition, offset })),
    );
    commitMs = performance.now() - at;
  }
  const leaveAt = performance.now();
  await Promise.all(started.map(({ consumer }) => consumer.disconnect()));
  return {
    members,
    commitMs,
    leaveMs: performance.now() - leaveAt,
    partitionsReadTwice: partitionsReadTwice(traces),
    allReadingMs: settledAt - runStart,
  };
}

/**
 * `count` group-free readers started at once, each reading its shard's partitions from offset 0 until
 * it has a batch with records; with one reader, the run ends by committing to `groupId` as a
 * non-member (what finalize would do).
 */
export async function measureGroupless(
  topic: JoinTopic,
  count: number,
  groupId: string,
  options: ScenarioOptions,
): Promise<ScenarioSample> {
  const readers = Array.from({ length: count }, (_, i) => ({
    partitions: shardPartitions(topic.partitions, i, count),
    kafka: client(topic.brokers, `kbp-bench-${randomUUID()}`),
  }));
  const opened: GrouplessReader[] = [];
  const members = await Promise.all(
    readers.map(async ({ partitions, kafka }): Promise<MemberSample> => {
      const start = performance.now();
      const reader = new GrouplessReader(kafka, topic.topic, {
        maxWaitMs: options.maxWaitMs,
        maxBytesPerPartition: 1024 * 1024,
        maxBytes: 10 * 1024 * 1024,
      });
      opened.push(reader);
      await reader.connect();
      const deadline = start + options.settleTimeoutMs;
      const positions = fromZero(partitions);
      let firstBatchMs: number | undefined;
      let records = 0;
      // Timed to the first batch with records, then (untimed) read to the end to check every record comes once.
      while (records < partitions.length * topic.recordsPerPartition) {
        if (performance.now() > deadline) {
          throw new Error(`a group-free reader read ${records} records in ${options.settleTimeoutMs} ms`);
        }
        for (const batch of await reader.fetch(positions)) {
          if (batch.messages.length === 0) continue;
          firstBatchMs ??= performance.now() - start;
          records += batch.messages.length;
          positions.set(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
        }
      }
      if (records !== partitions.length * topic.recordsPerPartition) {
        throw new Error(
          `a group-free reader read ${records} records, not ${partitions.length * topic.recordsPerPartition}`,
        );
      }
      return { firstBatchMs: firstBatchMs ?? Number.NaN, joins: 0 };
    }),
  );
  const allReadingMs = Math.max(...members.map((m) => m.firstBatchMs));
  let commitMs: number | undefined;
  const first = readers[0];
  if (count === 1 && first) {
    const at = performance.now();
    await commitWithoutJoining(first.kafka, groupId, topic.topic, fromZero(first.partitions));
    commitMs = performance.now() - at;
  }
  const leaveAt = performance.now();
  await Promise.all(opened.map((r) => r.disconnect()));
  return { members, commitMs, leaveMs: performance.now() - leaveAt, partitionsReadTwice: 0, allReadingMs };
}

/**
 * `count` of the puller's KafkaSources started at once, each given its shard's partitions from offset 0:
 * timed from construction through start() to the first poll() with records, then (untimed) read to the
 * end, checking every record comes once. With one source, the run ends with its commit (as a run's).
 */
export async function measureSource(
  topic: JoinTopic,
  count: number,
  groupId: string,
  options: ScenarioOptions,
): Promise<ScenarioSample> {
  const shards = Array.from({ length: count }, (_, i) => ({
    partitions: shardPartitions(topic.partitions, i, count),
    kafka: client(topic.brokers, `kbp-bench-${randomUUID()}`),
  }));
  const sources: KafkaSource[] = [];
  const members = await Promise.all(
    shards.map(async ({ partitions, kafka }): Promise<MemberSample> => {
      const start = performance.now();
      const source = new KafkaSource(kafka, topic.topic, groupId, {
        maxBytesPerPartition: 1024 * 1024,
        maxQueuedBytes: 16 * 1024 * 1024,
      });
      sources.push(source);
      await source.start(fromZero(partitions));
      const deadline = start + options.settleTimeoutMs;
      const seen = new Set<string>();
      const expected = partitions.length * topic.recordsPerPartition;
      let firstBatchMs: number | undefined;
      while (seen.size < expected) {
        if (performance.now() > deadline) {
          throw new Error(`a KafkaSource read ${seen.size} records in ${options.settleTimeoutMs} ms`);
        }
        for (const batch of await source.poll(options.maxWaitMs)) {
          if (!partitions.includes(batch.partition))
            throw new Error(`partition ${batch.partition} is not its own`);
          for (const record of batch.records) {
            firstBatchMs ??= performance.now() - start;
            const id = `${record.partition}:${record.offset}`;
            if (seen.has(id)) throw new Error(`record ${id} came twice`);
            seen.add(id);
          }
        }
      }
      return { firstBatchMs: firstBatchMs ?? Number.NaN, joins: 0 };
    }),
  );
  const allReadingMs = Math.max(...members.map((m) => m.firstBatchMs));
  let commitMs: number | undefined;
  const [first] = sources;
  if (count === 1 && first) {
    const at = performance.now();
    await first.commit(
      new Map(shardPartitions(topic.partitions, 0, 1).map((p) => [p, String(topic.recordsPerPartition)])),
    );
    commitMs = performance.now() - at;
  }
  const leaveAt = performance.now();
  await Promise.all(sources.map((s) => s.close()));
  return { members, commitMs, leaveMs: performance.now() - leaveAt, partitionsReadTwice: 0, allReadingMs };
}

/** What committing outside a run costs and whether the broker takes it. */
export interface CommitCheck {
  /** Group-free commit (generation -1) to an Empty group that has offsets, in ms. */
  readonly grouplessEmptyMs: number;
  /** Group-free commit to a group that never existed, in ms. */
  readonly grouplessNewMs: number;
  /** The committed offsets read back equal the ones committed. */
  readonly readBack: boolean;
  /** kafkajs admin.setOffsets (which joins the group to commit) on an Empty group, in ms. */
  readonly adminSetOffsetsMs: number;
  /** What the broker answers a group-free commit while a member is in the group. */
  readonly withMemberPresent: string;
  /** What kafkajs admin.setOffsets answers while a member is in the group. */
  readonly adminWithMemberPresent: string;
}

function errorText(error: unknown): string {
  const e = error as { name?: string; type?: string; message?: string };
  return `${e.name ?? 'Error'}${e.type ? ` ${e.type}` : ''}: ${e.message ?? String(error)}`;
}

/** Commits to an Empty group, a new group and a group with a member, without joining and with kafkajs admin. */
export async function checkCommits(topic: JoinTopic, options: ScenarioOptions): Promise<CommitCheck> {
  const kafka = client(topic.brokers, 'kbp-bench-commit');
  const admin = kafka.admin();
  await admin.connect();
  const all = Array.from({ length: topic.partitions }, (_, p) => p);
  const offsets = new Map(all.map((p) => [p, String(p + 1)]));
  try {
    const emptyGroup = `kbp-bench-commit-${randomUUID()}`;
    // An Empty group with offsets, as a pipeline's group is between runs.
    await measureConsumers(topic, 1, true, emptyGroup, options);
    let at = performance.now();
    await commitWithoutJoining(kafka, emptyGroup, topic.topic, offsets);
    const grouplessEmptyMs = performance.now() - at;
    const newGroup = `kbp-bench-commit-${randomUUID()}`;
    at = performance.now();
    await commitWithoutJoining(kafka, newGroup, topic.topic, offsets);
    const grouplessNewMs = performance.now() - at;
    const readBack = (
      await Promise.all(
        [emptyGroup, newGroup].map(async (groupId) => {
          const [read] = await admin.fetchOffsets({ groupId, topics: [topic.topic] });
          return (read?.partitions ?? []).every((p) => offsets.get(p.partition) === p.offset);
        }),
      )
    ).every(Boolean);
    at = performance.now();
    await admin.setOffsets({
      groupId: emptyGroup,
      topic: topic.topic,
      partitions: all.map((partition) => ({ partition, offset: '0' })),
    });
    const adminSetOffsetsMs = performance.now() - at;

    // A member in the group: a consumer that stays joined while both commits are tried.
    const busyGroup = `kbp-bench-commit-${randomUUID()}`;
    const member = await startConsumer(topic, busyGroup, undefined, options, () => {});
    let withMemberPresent = 'accepted';
    let adminWithMemberPresent = 'accepted';
    try {
      await commitWithoutJoining(kafka, busyGroup, topic.topic, offsets).catch((error: unknown) => {
        withMemberPresent = errorText(error);
      });
      await admin
        .setOffsets({ groupId: busyGroup, topic: topic.topic, partitions: [{ partition: 0, offset: '0' }] })
        .catch((error: unknown) => {
          adminWithMemberPresent = errorText(error);
        });
    } finally {
      await member.consumer.disconnect();
    }
    return {
      grouplessEmptyMs,
      grouplessNewMs,
      readBack,
      adminSetOffsetsMs,
      withMemberPresent,
      adminWithMemberPresent,
    };
  } finally {
    await admin.disconnect();
  }
}
