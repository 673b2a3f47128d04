// `npm run bench:join`: the per-run cost of starting to read (and of stopping) with kafkajs as the
// puller read before it read without a group (one consumer in the pipeline's group), as naive shards
// would (N consumers in one group; N consumers in groups of their own), without any group (the prototype
// bench/groupless-reader.ts), and with the puller's group-free KafkaSource as it reads now, with the
// broker's group.initial.rebalance.delay.ms at 3000 (Kafka's default, as on Amazon MSK) and at 0.
// The 0 figures use the broker in KAFKA_BROKERS (the test bed's runs with 0); the 3000 figures use a
// private broker started here and stopped at the end. Prints Markdown tables (and writes them to
// --out FILE). Options: --runs N (5), --shards 2,4, --partitions 8, --delays 3000,0,
// --stagger 1000 (ms between the starts of the staggered scenario), --private-zero (0 on a private broker too).
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import {
  type CommitCheck,
  checkCommits,
  type JoinTopic,
  measureConsumers,
  measureGroupless,
  measureSource,
  type ScenarioOptions,
  type ScenarioSample,
} from './group-join-scenarios.js';
import { describeMachine } from './machine-info.js';
import { markdownTable } from './markdown-table.js';
import { type PrivateBroker, startPrivateBroker } from './private-broker.js';
import { type Summary, summarize } from './statistics.js';

const log = (line: string) => console.error(line);

const RECORDS_PER_PARTITION = 20;
const SCENARIO_OPTIONS: ScenarioOptions = { maxWaitMs: 100, settleTimeoutMs: 60_000 };

interface Options {
  readonly runs: number;
  readonly shards: readonly number[];
  readonly partitions: number;
  readonly delays: readonly number[];
  readonly privateZero: boolean;
  readonly staggerMs: number;
  readonly out: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      shards: { type: 'string', default: '2,4' },
      partitions: { type: 'string', default: '8' },
      delays: { type: 'string', default: '3000,0' },
      'private-zero': { type: 'boolean', default: false },
      stagger: { type: 'string', default: '1000' },
      out: { type: 'string' },
    },
  });
  const list = (text: string, name: string) =>
    text.split(',').map((item) => {
      const n = Number(item);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: '${item}' is not a whole number`);
      return n;
    });
  const [runs] = list(values.runs, 'runs');
  const [partitions] = list(values.partitions, 'partitions');
  const shards = list(values.shards, 'shards');
  if (!runs || !partitions || shards.some((n) => n < 2 || n > partitions)) {
    throw new Error(
      '--runs and --partitions must be at least 1, and each --shards between 2 and --partitions',
    );
  }
  return {
    runs,
    shards,
    partitions,
    delays: list(values.delays, 'delays'),
    privateZero: values['private-zero'] ?? false,
    staggerMs: list(values.stagger, 'stagger')[0] ?? 1000,
    out: values.out,
  };
}

/** One row of a table: a scenario's runs. */
interface ScenarioRuns {
  readonly name: string;
  readonly members: number;
  readonly samples: ScenarioSample[];
}

/** Everything measured against one broker setting. */
interface DelayResults {
  readonly delayMs: number;
  readonly broker: string;
  readonly scenarios: ScenarioRuns[];
  readonly commits: CommitCheck;
}

async function createTopic(brokers: readonly string[], partitions: number): Promise<JoinTopic> {
  const kafka = new Kafka({
    clientId: 'kbp-bench-join-setup',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  // Idempotent: a send retried under load must not write its records twice (the scenarios count them).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const topic = `bench-join-${randomUUID()}`;
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    const messages = [];
    for (let partition = 0; partition < partitions; partition++) {
      for (let i = 0; i < RECORDS_PER_PARTITION; i++) {
        messages.push({ partition, key: `k${i}`, value: JSON.stringify({ partition, i }) });
      }
    }
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  return { brokers, topic, partitions, recordsPerPartition: RECORDS_PER_PARTITION };
}

async function deleteTopic(topic: JoinTopic): Promise<void> {
  const admin = new Kafka({
    clientId: 'kbp-bench-join-setup',
    brokers: [...topic.brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic.topic] }).catch(() => {});
  await admin.disconnect();
}

async function measureDelay(
  delayMs: number,
  brokers: readonly string[],
  options: Options,
): Promise<DelayResults> {
  const topic = await createTopic(brokers, options.partitions);
  try {
    const pipelineGroup = `kbp-bench-join-${randomUUID()}`;
    // Untimed warm-up: the broker's group coordinator and this process's code paths.
    await measureConsumers(topic, 1, true, `${pipelineGroup}-warmup`, SCENARIO_OPTIONS);
    await measureGroupless(topic, 1, `${pipelineGroup}-warmup`, SCENARIO_OPTIONS);
    await measureSource(topic, 1, `${pipelineGroup}-warmup`, SCENARIO_OPTIONS);
    const plans: Array<{ name: string; members: number; run: () => Promise<ScenarioSample> }> = [
      {
        name: '1 consumer in the pipeline group (how the puller read before)',
        members: 1,
        // The same group every run, as a pipeline's: Empty with committed offsets when a run starts.
        run: () => measureConsumers(topic, 1, true, pipelineGroup, SCENARIO_OPTIONS),
      },
      ...options.shards.flatMap((n) => [
        {
          name: `${n} consumers in one group`,
          members: n,
          run: () => measureConsumers(topic, n, true, `kbp-bench-join-${randomUUID()}`, SCENARIO_OPTIONS),
        },
        {
          name: `${n} consumers in one group, started ${options.staggerMs} ms apart`,
          members: n,
          run: () =>
            measureConsumers(
              topic,
              n,
              true,
              `kbp-bench-join-${randomUUID()}`,
              SCENARIO_OPTIONS,
              options.staggerMs,
            ),
        },
        {
          name: `${n} consumers, each in its own new group`,
          members: n,
          run: () => measureConsumers(topic, n, false, `kbp-bench-join-${randomUUID()}`, SCENARIO_OPTIONS),
        },
      ]),
      {
        name: '1 group-free reader (commit without joining)',
        members: 1,
        run: () => measureGroupless(topic, 1, pipelineGroup, SCENARIO_OPTIONS),
      },
      ...options.shards.map((n) => ({
        name: `${n} group-free readers`,
        members: n,
        run: () => measureGroupless(topic, n, pipelineGroup, SCENARIO_OPTIONS),
      })),
      {
        name: "1 KafkaSource, the puller's (start → first records; commit)",
        members: 1,
        run: () => measureSource(topic, 1, pipelineGroup, SCENARIO_OPTIONS),
      },
      ...options.shards.map((n) => ({
        name: `${n} KafkaSources, one per shard`,
        members: n,
        run: () => measureSource(topic, n, pipelineGroup, SCENARIO_OPTIONS),
      })),
    ];
    const scenarios: ScenarioRuns[] = plans.map(({ name, members }) => ({ name, members, samples: [] }));
    // Runs interleaved, so a burst of load on the shared machine does not fall on one scenario alone.
    for (let run = 0; run < options.runs; run++) {
      for (const [i, plan] of plans.entries()) {
        const sample = await plan.run();
        scenarios[i]?.samples.push(sample);
        const slowest = Math.max(...sample.members.map((m) => m.firstBatchMs));
        log(
          `  delay ${delayMs} run ${run + 1}/${options.runs} ${plan.name}: first batch ${slowest.toFixed(0)} ms`,
        );
      }
    }
    const commits = await checkCommits(topic, SCENARIO_OPTIONS);
    return { delayMs, broker: brokers.join(','), scenarios, commits };
  } finally {
    await deleteTopic(topic);
  }
}

function formatSummary(summary: Summary | undefined, digits = 0): string {
  if (!summary) return '–';
  const f = (n: number) => n.toFixed(digits);
  return summary.min === summary.max
    ? f(summary.median)
    : `${f(summary.median)} [${f(summary.min)}–${f(summary.max)}]`;
}

function row(scenario: ScenarioRuns): string[] {
  const per = (pick: (s: ScenarioSample) => number | undefined) =>
    summarize(scenario.samples.map(pick).filter((v): v is number => v !== undefined && !Number.isNaN(v)));
  const slowest = per((s) => Math.max(...s.members.map((m) => m.firstBatchMs)));
  const fastest = per((s) => Math.min(...s.members.map((m) => m.firstBatchMs)));
  const lastJoin = per((s) =>
    s.members.some((m) => m.lastJoinMs !== undefined)
      ? Math.max(...s.members.map((m) => m.lastJoinMs ?? 0))
      : undefined,
  );
  const joins = per((s) => Math.max(...s.members.map((m) => m.joins)));
  return [
    scenario.name,
    formatSummary(slowest),
    scenario.members > 1 ? formatSummary(fastest) : '–',
    formatSummary(lastJoin),
    formatSummary(per((s) => s.allReadingMs)),
    formatSummary(joins),
    formatSummary(per((s) => s.partitionsReadTwice)),
    formatSummary(per((s) => s.commitMs)),
    formatSummary(per((s) => s.leaveMs)),
  ];
}

function render(results: readonly DelayResults[], options: Options, header: string): string {
  const sections = results.map((r) => {
    const table = markdownTable(
      [
        'scenario',
        'connect → first batch, slowest member (ms)',
        'fastest member (ms)',
        'connect → last group join (ms)',
        'first start → all members reading (ms)',
        'joins per member (max)',
        'partitions read by 2 members',
        'commit (ms)',
        'leave / disconnect (ms)',
      ],
      r.scenarios.map(row),
    );
    const c = r.commits;
    const commits = markdownTable(
      ['commit check', 'result'],
      [
        [
          'group-free commit (generation -1) to an Empty group with offsets',
          `${c.grouplessEmptyMs.toFixed(0)} ms`,
        ],
        ['group-free commit to a new group', `${c.grouplessNewMs.toFixed(0)} ms`],
        ['offsets read back equal the ones committed', String(c.readBack)],
        ['kafkajs admin.setOffsets on an Empty group (joins it)', `${c.adminSetOffsetsMs.toFixed(0)} ms`],
        ['group-free commit while a member is in the group', c.withMemberPresent.replaceAll('|', '/')],
        [
          'kafkajs admin.setOffsets while a member is in the group',
          c.adminWithMemberPresent.replaceAll('|', '/'),
        ],
      ],
    );
    return `### group.initial.rebalance.delay.ms = ${r.delayMs} (broker ${r.broker})\n\n${table}\n\n${commits}\n`;
  });
  return [
    header,
    `Each cell: median [min–max] over ${options.runs} runs; ${options.partitions} partitions of ${RECORDS_PER_PARTITION} records; consumers poll with maxWaitTimeInMs ${SCENARIO_OPTIONS.maxWaitMs}.`,
    '',
    ...sections,
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions();
  const sharedBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim());
  const loadAtStart = loadavg()[0] ?? 0;
  const startedAt = Date.now();
  const machine = await describeMachine(sharedBrokers, '', undefined);
  const results: DelayResults[] = [];
  for (const delayMs of options.delays) {
    const usePrivate = delayMs !== 0 || options.privateZero;
    let broker: PrivateBroker | undefined;
    if (usePrivate) {
      log(`starting a private Kafka with group.initial.rebalance.delay.ms=${delayMs}`);
      broker = await startPrivateBroker({ initialRebalanceDelayMs: delayMs });
      log(`private Kafka ready at ${broker.brokers.join(',')}`);
    }
    try {
      results.push(await measureDelay(delayMs, broker?.brokers ?? sharedBrokers, options));
    } finally {
      await broker?.stop();
    }
  }
  const header = [
    `Command: \`npx tsx bench/measure-group-join.ts ${process.argv.slice(2).join(' ')}\`, ${new Date(startedAt).toISOString()}, ${((Date.now() - startedAt) / 1000).toFixed(0)} s.`,
    `Machine: ${machine.cores} cores (${cpus()[0]?.model ?? 'unknown'}), ${machine.memoryGiB} GiB, Linux ${machine.kernel}; Node ${machine.node}; kafkajs ${machine.kafkajs}; shared broker Kafka ${machine.kafkaBroker}, private broker Kafka ${process.env.KAFKA_VERSION ?? '4.1.1'}; commit ${machine.commit}; load average ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end.`,
    '',
  ].join('\n');
  const text = render(results, options, header);
  console.log(text);
  if (options.out) await writeFile(options.out, `${text}\n`, 'utf8');
}

await main();
