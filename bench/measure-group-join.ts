// Scenario join: what a run or a shard pays before its first record, and for its commit, with the
// puller's group-free KafkaSource, against a kafkajs consumer joining the pipeline's group (how the
// puller read before), at each broker `group.initial.rebalance.delay.ms` of --join-delays. A delay
// above 0 gets a private broker started here (the test bed's runs with 0); 3000 is Kafka's and
// Amazon MSK's default, and a group join waits for it on every run.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaSource } from '../src/adapters/kafka-source.js';
import type { BenchContext } from './bench-context.js';
import { BenchTopics } from './bench-topics.js';
import { type PrivateBroker, startPrivateBroker } from './private-broker.js';
import { produceRecords } from './produce-records.js';

const RECORDS_PER_PARTITION = 20;
/** As the puller polls. */
const MAX_WAIT_MS = 100;
const SETTLE_TIMEOUT_MS = 60_000;

/** One run of a join row: the slowest member's start to its first records, and the commit (1 member). */
export interface JoinSample {
  /** Start (before connecting) to the first records, ms; the slowest member with several. */
  readonly firstRecordsMs: number;
  /** The commit at the end of the run, ms; undefined with several members. */
  readonly commitMs: number | undefined;
}

/** One row of the join table and its runs. */
export interface JoinRow {
  /** The row's label in the report. */
  readonly label: string;
  /** One sample per run. */
  readonly samples: JoinSample[];
}

/** Everything measured against one broker setting. */
export interface JoinFigures {
  /** The broker's `group.initial.rebalance.delay.ms`. */
  readonly delayMs: number;
  /** The broker measured against. */
  readonly broker: string;
  /** The consumer row, then one row per source count. */
  readonly rows: readonly JoinRow[];
}

interface JoinTopic {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly partitions: number;
}

function client(brokers: readonly string[]): Kafka {
  return new Kafka({
    clientId: `kbp-bench-${randomUUID()}`,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
}

function fromZero(partitions: readonly number[]): Map<number, string> {
  return new Map(partitions.map((p) => [p, '0']));
}

/** The partitions shard `index` of `count` reads: round robin, as a fixed plan would. */
function shardPartitions(partitions: number, index: number, count: number): number[] {
  return Array.from({ length: partitions }, (_, p) => p).filter((p) => p % count === index);
}

/**
 * One kafkajs consumer in `groupId`, started as the puller started it before it read without a group
 * (connect, subscribe, run with eachBatch and autoCommit off, seek to the saved offsets), timed to its
 * first batch of records; then it commits (offset 0, so the next run reads again) and leaves.
 */
async function consumerJoining(topic: JoinTopic, groupId: string): Promise<JoinSample> {
  const consumer = client(topic.brokers).consumer({ groupId, maxWaitTimeInMs: MAX_WAIT_MS });
  const start = performance.now();
  let firstRecords: () => void = () => {};
  const gotRecords = new Promise<void>((resolve) => {
    firstRecords = resolve;
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length > 0) firstRecords();
      },
    });
    const all = Array.from({ length: topic.partitions }, (_, p) => p);
    for (const partition of all) consumer.seek({ topic: topic.topic, partition, offset: '0' });
    await withTimeout(gotRecords, 'a kafkajs consumer');
    const firstRecordsMs = performance.now() - start;
    const at = performance.now();
    await consumer.commitOffsets(all.map((partition) => ({ topic: topic.topic, partition, offset: '0' })));
    return { firstRecordsMs, commitMs: performance.now() - at };
  } finally {
    await consumer.disconnect();
  }
}

/**
 * `count` of the puller's KafkaSources started at once, each given its shard's partitions from offset 0,
 * timed from construction through start() to the first poll() with records, then (untimed) read to the
 * end, checking every record comes once. With one source, the run ends with its commit, as a run's does.
 */
async function sourcesReading(topic: JoinTopic, count: number, groupId: string): Promise<JoinSample> {
  const sources: KafkaSource[] = [];
  try {
    const times = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const partitions = shardPartitions(topic.partitions, index, count);
        const start = performance.now();
        const source = new KafkaSource(client(topic.brokers), topic.topic, groupId, {
          maxBytesPerPartition: 1024 * 1024,
          maxQueuedBytes: 16 * 1024 * 1024,
        });
        sources.push(source);
        await source.start(fromZero(partitions));
        return withTimeout(readAll(source, partitions, start), 'a KafkaSource');
      }),
    );
    let commitMs: number | undefined;
    const [only] = sources;
    if (count === 1 && only) {
      const at = performance.now();
      const all = shardPartitions(topic.partitions, 0, 1);
      await only.commit(new Map(all.map((p) => [p, String(RECORDS_PER_PARTITION)])));
      commitMs = performance.now() - at;
    }
    return { firstRecordsMs: Math.max(...times), commitMs };
  } finally {
    await Promise.all(sources.map((source) => source.close()));
  }
}

/** Polls until every record of `partitions` came exactly once; returns ms from `start` to the first. */
async function readAll(source: KafkaSource, partitions: readonly number[], start: number): Promise<number> {
  const seen = new Set<string>();
  let firstRecordsMs: number | undefined;
  while (seen.size < partitions.length * RECORDS_PER_PARTITION) {
    for (const batch of await source.poll(MAX_WAIT_MS)) {
      if (!partitions.includes(batch.partition))
        throw new Error(`partition ${batch.partition} is not its own`);
      for (const record of batch.records) {
        firstRecordsMs ??= performance.now() - start;
        const id = `${record.partition}:${record.offset}`;
        if (seen.has(id)) throw new Error(`record ${id} came twice`);
        seen.add(id);
      }
    }
  }
  return firstRecordsMs ?? Number.NaN;
}

async function withTimeout<T>(work: Promise<T>, who: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${who} read nothing in ${SETTLE_TIMEOUT_MS} ms`)),
      SETTLE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function measureDelay(
  context: BenchContext,
  delayMs: number,
  brokers: readonly string[],
): Promise<JoinFigures> {
  const { options, log } = context;
  const topics = new BenchTopics(brokers);
  await topics.connect();
  try {
    const name = await topics.create(options.partitions, 'join');
    const records = options.partitions * RECORDS_PER_PARTITION;
    const now = Date.now();
    await produceRecords({
      brokers,
      topic: name,
      records,
      recordBytes: 100,
      partitions: options.partitions,
      firstTimestampMs: now,
      endTimestampMs: now + 1,
    });
    const topic: JoinTopic = { brokers, topic: name, partitions: options.partitions };
    // The same group every run, as a pipeline's: Empty with committed offsets when a run starts.
    const pipelineGroup = `kbp-bench-join-${randomUUID()}`;
    // Untimed warm-up: the broker's group coordinator and this process's code paths.
    await consumerJoining(topic, `${pipelineGroup}-warmup`);
    await sourcesReading(topic, 1, `${pipelineGroup}-warmup`);
    const plans: Array<{ label: string; run: () => Promise<JoinSample> }> = [
      {
        label: 'a kafkajs consumer joining the group (how the puller read before): connect → first records',
        run: () => consumerJoining(topic, pipelineGroup),
      },
      ...options.shards.map((n) => ({
        label:
          n === 1
            ? "the puller's KafkaSource, no group: start → first records"
            : `${n} KafkaSources, one per shard: slowest start → first records`,
        run: () => sourcesReading(topic, n, pipelineGroup),
      })),
    ];
    const rows: JoinRow[] = plans.map(({ label }) => ({ label, samples: [] }));
    // Runs interleaved, so a burst of load on the shared machine does not fall on one row alone.
    for (let run = 1; run <= options.runs; run++) {
      for (const [i, plan] of plans.entries()) {
        context.signal.throwIfAborted();
        const sample = await plan.run();
        rows[i]?.samples.push(sample);
        log(
          `[run ${run}/${options.runs}] join, delay ${delayMs} ms, ${plan.label}: ${sample.firstRecordsMs.toFixed(0)} ms`,
        );
      }
    }
    return { delayMs, broker: brokers.join(','), rows };
  } finally {
    await topics.close(log);
  }
}

/** Measures the join rows at each delay of `options.joinDelaysMs`. */
export async function measureGroupJoin(context: BenchContext): Promise<JoinFigures[]> {
  const figures: JoinFigures[] = [];
  for (const delayMs of context.options.joinDelaysMs) {
    let broker: PrivateBroker | undefined;
    if (delayMs !== 0) {
      context.log(`join: starting a private Kafka with group.initial.rebalance.delay.ms=${delayMs}`);
      broker = await startPrivateBroker({ initialRebalanceDelayMs: delayMs });
    }
    try {
      figures.push(await measureDelay(context, delayMs, broker?.brokers ?? context.brokers));
    } finally {
      await broker?.stop();
    }
  }
  return figures;
}
