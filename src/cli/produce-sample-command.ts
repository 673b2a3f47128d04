// `kafka-batch-puller produce-sample`: writes sample records to a topic, timestamps spread back from
// now so they fall into several windows, for trying the puller (and the demo).

import { setTimeout as sleep } from 'node:timers/promises';
import { type Kafka, Partitioners } from 'kafkajs';
import { createKafkaClient } from '../adapters/kafka-client.js';
import { ConfigVariables } from '../config.js';
import { PullerError } from '../errors.js';
import { connectTo } from './broker-connection.js';
import type { CliContext } from './cli-context.js';
import {
  type CommandSpec,
  choiceFlag,
  commandHelp,
  integerFlag,
  numberFlag,
  parseFlags,
  requiredString,
} from './parse-args.js';
import { configFromVariables, connectionFlags, variablesFromFlags } from './pipeline-flags.js';
import { SampleKind, type SamplePlan, sampleRecord, sampleTimestamp } from './sample-records.js';
import { countOf, formatCount, formatTime, jsonLine } from './terminal-output.js';

/** The `produce-sample` subcommand's flags and help. */
export const produceSampleCommandSpec: CommandSpec = {
  name: 'produce-sample',
  summary: 'write sample records (orders or clicks as JSON) to a topic, spread over time',
  usage: 'produce-sample --broker <host:port> --topic <name> [flags]',
  description: [
    'Writes JSON sample records keyed by user id, with explicit timestamps spread evenly back from now',
    '(oldest first), so they fall into several windows. Creates the topic when --partitions is given',
    'and it does not exist yet; otherwise the topic must exist.',
  ].join('\n'),
  flags: [
    ...connectionFlags,
    { name: 'count', type: 'string', placeholder: '<n>', help: 'how many records', default: '1000' },
    {
      name: 'rate',
      type: 'string',
      placeholder: '<records/s>',
      help: 'records per second; 0 sends as fast as possible',
      default: '0',
    },
    { name: 'keys', type: 'string', placeholder: '<n>', help: 'distinct keys (user ids)', default: '100' },
    {
      name: 'time-spread-seconds',
      type: 'string',
      placeholder: '<seconds>',
      help: 'timestamps run evenly from this long ago to now',
      default: '0',
    },
    {
      name: 'partitions',
      type: 'string',
      placeholder: '<n>',
      help: 'create the topic with this many partitions if it does not exist',
    },
    {
      name: 'value-bytes',
      type: 'string',
      placeholder: '<bytes>',
      help: 'approximate size of each value',
      default: '256',
    },
    {
      name: 'kind',
      type: 'string',
      placeholder: '<orders|clicks>',
      help: 'what the values describe',
      default: 'orders',
    },
    { name: 'json', type: 'boolean', help: 'print one JSON object (event "produced") when done' },
  ],
};

/** Records per produce request, at most: large enough for speed. */
const SEND_BATCH = 500;
/**
 * Bytes of values per produce request, at most: a partition's record batch must fit the broker's
 * message.max.bytes, 1 MiB by default.
 */
const SEND_BYTES = 512 * 1024;

/**
 * Creates the topic with `partitions` partitions when it does not exist and they are given; fails
 * when it does not exist and they are not. Returns the topic's partition count.
 */
async function ensureTopic(
  kafka: Kafka,
  brokers: readonly string[],
  topic: string,
  partitions: number | undefined,
  context: CliContext,
): Promise<number> {
  const admin = kafka.admin();
  await connectTo(admin, brokers);
  try {
    const exists = (await admin.listTopics()).includes(topic);
    if (!exists && partitions === undefined) {
      throw new PullerError(`topic '${topic}' does not exist; pass --partitions <n> to create it`);
    }
    if (!exists && partitions !== undefined) {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const count = metadata.topics[0]?.partitions.length ?? 0;
    if (exists && partitions !== undefined && partitions !== count) {
      context.streams.stderr.write(
        `note: topic '${topic}' already exists with ${count} partitions; --partitions ${partitions} ignored\n`,
      );
    }
    return count;
  } finally {
    await admin.disconnect();
  }
}

/** Runs `produce-sample`; resolves to the process exit code. */
export async function produceSampleCommand(argv: readonly string[], context: CliContext): Promise<number> {
  const spec = produceSampleCommandSpec;
  const flags = parseFlags(spec, argv);
  if (flags.help) {
    context.streams.stdout.write(commandHelp(spec));
    return 0;
  }
  const topic = requiredString(flags, 'topic', spec.name);
  const count = integerFlag(flags, 'count', spec.name, { min: 1 }) ?? 1000;
  const rate = numberFlag(flags, 'rate', spec.name, { min: 0, what: 'a number of records per second' }) ?? 0;
  const keys = integerFlag(flags, 'keys', spec.name, { min: 1 }) ?? 100;
  const spreadSeconds =
    numberFlag(flags, 'time-spread-seconds', spec.name, { min: 0, what: 'a number of seconds' }) ?? 0;
  const partitions = integerFlag(flags, 'partitions', spec.name, { min: 1, max: 10_000 });
  const valueBytes = integerFlag(flags, 'value-bytes', spec.name, { min: 1, max: 900_000 }) ?? 256;
  const kind = choiceFlag(flags, 'kind', spec.name, Object.values(SampleKind)) ?? SampleKind.ORDERS;
  // The shared flag mapping validates --broker, --topic and --security; the group is not used here.
  const variables = variablesFromFlags(flags, spec.name, context.env);
  variables[ConfigVariables.groupId] = 'produce-sample';
  const config = configFromVariables(variables, spec.name);
  const kafka = await createKafkaClient(config);

  const partitionCount = await ensureTopic(kafka, config.brokers, topic, partitions, context);

  const plan: SamplePlan = {
    count,
    keys,
    kind,
    timeSpreadMs: Math.round(spreadSeconds * 1000),
    nowMs: Date.now(),
    valueBytes,
  };
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    // Explicit, so kafkajs does not warn about its v2 default change; this is the Java client's partitioner.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await connectTo(producer, config.brokers);
  const startedMs = Date.now();
  const live = context.streams.stdout.isTTY === true && !flags.booleans.has('json');
  try {
    // With a rate, requests are smaller (a tenth of a second's worth) so the pace stays even.
    const byBytes = Math.max(1, Math.floor(SEND_BYTES / valueBytes));
    const perSend = Math.min(SEND_BATCH, byBytes, rate > 0 ? Math.max(1, Math.ceil(rate / 10)) : SEND_BATCH);
    for (let sent = 0; sent < count; ) {
      const size = Math.min(perSend, count - sent);
      const messages = Array.from({ length: size }, (_, i) => {
        const index = sent + i;
        const timestampMs = plan.timeSpreadMs === 0 ? Date.now() : sampleTimestamp(plan, index);
        const record = sampleRecord(plan, index, timestampMs, Math.random);
        return {
          key: record.key,
          value: record.value,
          timestamp: String(record.timestampMs),
          headers: record.headers,
        };
      });
      await producer.send({ topic, messages });
      sent += size;
      if (live) context.streams.stdout.write(`\rsent ${formatCount(sent)}/${formatCount(count)}`);
      if (rate > 0) {
        const dueMs = startedMs + (sent / rate) * 1000;
        const waitMs = dueMs - Date.now();
        if (waitMs > 0) await sleep(waitMs);
      }
    }
  } finally {
    await producer.disconnect();
  }
  const elapsedMs = Date.now() - startedMs;
  const first = plan.timeSpreadMs === 0 ? startedMs : plan.nowMs - plan.timeSpreadMs;
  if (flags.booleans.has('json')) {
    context.streams.stdout.write(
      jsonLine('produced', {
        topic,
        records: count,
        partitions: partitionCount,
        keys,
        kind,
        firstTimestamp: new Date(first).toISOString(),
        lastTimestamp: new Date(plan.timeSpreadMs === 0 ? Date.now() : plan.nowMs).toISOString(),
        elapsedMs,
      }),
    );
  } else {
    context.streams.stdout.write(
      `${live ? '\r\x1b[K' : ''}produced ${formatCount(count)} ${kind === 'orders' ? 'order' : 'click'} records to '${topic}' (${countOf(partitionCount, 'partition')}, ` +
        `${countOf(keys, 'key')}) in ${(elapsedMs / 1000).toFixed(1)} s; timestamps ` +
        `${formatTime(first)}..${formatTime(plan.timeSpreadMs === 0 ? Date.now() : plan.nowMs)}\n`,
    );
  }
  return 0;
}
