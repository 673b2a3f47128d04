// The kafka-batch-puller command line as a person meets it: help, one-line errors with exit code 2,
// and produce-sample writing what it says to the real broker.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const kafka = new Kafka({ clientId: 'cli-test', brokers, logLevel: logLevel.NOTHING });

describe.concurrent('kafka-batch-puller help', () => {
  it('lists the commands at the top level', async () => {
    const result = await runCli(['--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: kafka-batch-puller <command>/);
    for (const command of ['run', 'status', 'produce-sample'])
      expect(result.stdout).toContain(`  ${command} `);
  });

  it.each([
    [
      'run',
      [
        '--broker',
        '--topic',
        '--group-id',
        '--batch-interval-seconds',
        '--poll-interval-seconds',
        '--once',
        '--json',
      ],
    ],
    ['status', ['--broker', '--topic', '--group-id', '--state', '--json']],
    [
      'produce-sample',
      ['--count', '--rate', '--keys', '--time-spread-seconds', '--partitions', '--value-bytes'],
    ],
  ])('lists every flag of %s with its defaults', async (command, flags) => {
    const result = await runCli([command, '--help']);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const flag of flags) expect(result.stdout).toContain(`  ${flag}`);
    expect(result.stdout).toContain('(default: ');
  });

  it('shows the defaults run uses for output and state', async () => {
    const { stdout } = await runCli(['run', '--help']);

    expect(stdout).toMatch(/--output [^\n]*\n?[^\n]*\(default: \.\/kafka-batches\)/);
    expect(stdout).toMatch(/\(default: \.\/kafka-batch-puller-state\.json\)/);
    expect(stdout).toMatch(/--batch-interval-seconds[^\n]*\n?[^\n]*\(default: 300\)/);
  });
});

describe.concurrent('kafka-batch-puller usage errors', () => {
  const pipeline = ['--topic', 'orders', '--group-id', 'g'];

  it.each([
    [['run', '--bogus'], 'error: unknown flag --bogus'],
    [
      ['run', ...pipeline, '--batch-interval-seconds', 'abc'],
      'error: --batch-interval-seconds must be a number of seconds',
    ],
    [
      ['run', ...pipeline, '--batch-interval-seconds', '0'],
      'error: --batch-interval-seconds must be greater than 0',
    ],
    [
      ['run', ...pipeline, '--batch-interval-seconds', '10', '--poll-interval-seconds', '10'],
      'error: --poll-interval-seconds must be shorter than --batch-interval-seconds',
    ],
    [
      ['run', ...pipeline, '--start', 'yesterday'],
      'error: --start must be earliest, latest or an ISO-8601 time',
    ],
    [['run', ...pipeline, '--compression', 'lz4'], 'error: --compression must be gzip, zstd or none'],
    [
      ['run', ...pipeline, '--security', 'scram-sha-512'],
      'error: --sasl-secret-arn is required when --security is scram-sha-512',
    ],
    [['run', ...pipeline, '--output', 's3://'], "error: --output 's3://' names no bucket"],
    [
      ['run', ...pipeline, '--output', 's3://Not_A_Bucket/x'],
      "error: --output 'Not_A_Bucket' is not a valid S3 bucket name",
    ],
    [
      ['run', ...pipeline, '--state', 'mysql://db'],
      "error: --state must be a file or dynamodb://<table> (got 'mysql://db')",
    ],
    [['run', '--topic', 'orders'], 'error: --group-id is required'],
    [['run', ...pipeline, '--once=yes'], 'error: --once takes no value'],
    [['run', 'orders'], "error: unexpected argument 'orders'"],
    [['status', '--topic'], 'error: --topic needs a value'],
    [
      ['produce-sample', '--topic', 't', '--count', '0'],
      "error: --count must be a whole number at least 1 (got '0')",
    ],
    [['produce-sample', '--topic', 't', '--kind', 'trades'], 'error: --kind must be one of orders, clicks'],
    [['frob'], "error: unknown command 'frob'"],
  ])('%j gives one line naming the culprit and exit code 2', async (args, line) => {
    const result = await runCli(args);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2); // one line and its newline
    expect(result.stderr).toContain(line);
  });

  it('asks for --broker when neither the flag nor KAFKA_BROKERS gives one', async () => {
    const result = await runCli(['run', ...pipeline], { env: { KAFKA_BROKERS: '' } });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --broker is required\n');
  });

  it('accepts brokers repeated and comma-separated, checking each', async () => {
    const result = await runCli(['run', ...pipeline, '--broker', 'a:1,b:2', '--broker', 'no-port']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --broker must be a comma-separated list of host:port\n');
  });
});

describe('kafka-batch-puller produce-sample', () => {
  it('creates the topic and writes sample records with timestamps spread back from now, oldest first', async () => {
    const topic = `cli-${randomUUID()}`;
    const startedMs = Date.now();

    const result = await runCli([
      'produce-sample',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--count',
      '600',
      '--keys',
      '7',
      '--time-spread-seconds',
      '120',
      '--value-bytes',
      '300',
    ]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^produced 600 order records to '${topic}' \\(3 partitions, 7 keys\\)`),
    );
    const records = await consumeAll(topic, 600);
    const timestamps = records.map((r) => r.timestamp);
    expect(Math.min(...timestamps)).toBeGreaterThanOrEqual(startedMs - 120_000);
    expect(Math.min(...timestamps)).toBeLessThan(startedMs - 115_000);
    expect(Math.max(...timestamps)).toBeGreaterThan(startedMs - 5_000);
    expect(new Set(records.map((r) => r.partition))).toEqual(new Set([0, 1, 2]));
    expect(new Set(records.map((r) => r.key)).size).toBeLessThanOrEqual(7);
    for (const record of records) {
      const value = JSON.parse(record.value) as {
        type: string;
        userId: string;
        amount: number;
        sequence: number;
      };
      expect(value).toMatchObject({ type: 'order', userId: record.key });
      expect(typeof value.amount).toBe('number');
      expect(record.value.length).toBeGreaterThanOrEqual(290);
      expect(record.value.length).toBeLessThanOrEqual(310);
      expect(record.source).toBe('kafka-batch-puller-sample');
    }
    // Oldest first: within a partition, timestamps never go back as sequence numbers rise.
    for (const partition of [0, 1, 2]) {
      const own = records.filter((r) => r.partition === partition);
      expect(own.map((r) => r.timestamp)).toEqual([...own.map((r) => r.timestamp)].sort((a, b) => a - b));
    }
  });

  it('refuses a topic that does not exist when --partitions is not given', async () => {
    const topic = `cli-${randomUUID()}`;

    const result = await runCli(['produce-sample', '--topic', topic, '--count', '10']);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: topic '${topic}' does not exist; pass --partitions <n> to create it\n`,
    );
  });

  it('reports what it wrote as one JSON object with --json', async () => {
    const topic = `cli-${randomUUID()}`;

    const result = await runCli([
      'produce-sample',
      '--topic',
      topic,
      '--partitions',
      '1',
      '--count',
      '50',
      '--json',
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ event: 'produced', topic, records: 50, partitions: 1 });
  });
});

interface ConsumedRecord {
  partition: number;
  key: string;
  value: string;
  timestamp: number;
  source: string | undefined;
}

async function consumeAll(topic: string, expected: number): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({ groupId: `cli-test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const records: ConsumedRecord[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          timestamp: Number(message.timestamp),
          source: message.headers?.source?.toString(),
        });
        if (records.length === expected) resolve();
      },
    });
  });
  await consumer.disconnect();
  return records;
}
