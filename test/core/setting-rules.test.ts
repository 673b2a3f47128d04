// One rule per setting: the construct (props) and the handler's config (variables) give the same verdict
// for the same value, each naming its own culprit, because both check with src/core/setting-rules.ts.
import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  ColumnType,
  KafkaBatchPuller,
  KafkaSecurityMode,
  OutputFormat,
  type PullerPipelineOptions,
  ValueFormat,
} from '../../lib/index.js';
import { loadConfig } from '../../src/config.js';
import {
  fetchQueueProblem,
  latenessBudgetProblem,
  outputPrefixProblem,
  type Setting,
} from '../../src/core/setting-rules.js';
import { zstdAvailable } from '../../src/core/zstd-support.js';
import { ConfigError } from '../../src/errors.js';

const validVariables = {
  KAFKA_BROKERS: 'b1:9092',
  KAFKA_TOPIC: 'orders',
  KAFKA_GROUP_ID: 'landing',
  BATCH_INTERVAL_SECONDS: '60',
  POLL_INTERVAL_SECONDS: '5',
  OUTPUT_BUCKET: 'my-bucket',
  STATE_TABLE: 'state',
};

/** The config's problems with these variables over a valid set. */
function configProblems(variables: Record<string, string>): string[] {
  try {
    loadConfig({ ...validVariables, ...variables });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

/** The construct's problems with these props over a valid pipeline. */
function constructProblems(props: Partial<PullerPipelineOptions>): string[] {
  const puller = new KafkaBatchPuller(new Stack(new App()), 'Puller', {
    brokers: ['b1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  try {
    puller.addPipeline('Orders', { topic: 'orders', ...props });
    return [];
  } catch (error) {
    return (error as Error).message.split('\n  - ').slice(1);
  }
}

interface SameVerdict {
  /** The value, in words. */
  readonly value: string;
  /** The value as props, and the prop a problem names. */
  readonly props: Partial<PullerPipelineOptions>;
  readonly prop: string;
  /** The same value as variables, and the variable a problem names. */
  readonly variables: Record<string, string>;
  readonly variable: string;
  readonly accepted: boolean;
}

const parquetJson = { format: OutputFormat.PARQUET, valueFormat: ValueFormat.JSON };
const column = { name: 'id', type: ColumnType.STRING, path: 'id' };

const cases: SameVerdict[] = [
  ...[
    { value: 'a batch interval of 2 minutes', seconds: 120, accepted: true },
    { value: 'a batch interval of 0', seconds: 0, accepted: false },
    { value: 'a batch interval of part of a second', seconds: 60.5, accepted: false },
    { value: 'a batch interval over a week', seconds: 8 * 24 * 3600, accepted: false },
  ].map(({ value, seconds, accepted }) => ({
    value,
    props: { batchInterval: Duration.millis(seconds * 1000) },
    prop: 'batchInterval',
    variables: { BATCH_INTERVAL_SECONDS: String(seconds) },
    variable: 'BATCH_INTERVAL_SECONDS',
    accepted,
  })),
  ...[
    { value: 'a poll interval as long as the batch interval', seconds: 60, accepted: false },
    { value: 'a poll interval of 0', seconds: 0, accepted: false },
    { value: 'a poll interval of half a second', seconds: 0.5, accepted: true },
  ].map(({ value, seconds, accepted }) => ({
    value,
    props: { pollInterval: Duration.millis(seconds * 1000) },
    prop: 'pollInterval',
    variables: { POLL_INTERVAL_SECONDS: String(seconds) },
    variable: 'POLL_INTERVAL_SECONDS',
    accepted,
  })),
  {
    value: 'an allowed lateness of 0',
    props: { allowedLateness: Duration.seconds(0) },
    prop: 'allowedLateness',
    variables: { ALLOWED_LATENESS_SECONDS: '0' },
    variable: 'ALLOWED_LATENESS_SECONDS',
    accepted: true,
  },
  ...[
    { value: 'the smallest part size', size: Size.bytes(52_429), mib: '0.05', accepted: true },
    { value: 'a part size of half a MiB', size: Size.kibibytes(512), mib: '0.5', accepted: true },
    { value: 'a part size below the smallest', size: Size.kibibytes(40), mib: '0.04', accepted: false },
    { value: 'a part size above 4 GiB', size: Size.mebibytes(4097), mib: '4097', accepted: false },
  ].map(({ value, size, mib, accepted }) => ({
    value,
    props: { partSize: size },
    prop: 'partSize',
    variables: { PART_SIZE_MB: mib },
    variable: 'PART_SIZE_MB',
    accepted,
  })),
  {
    value: 'a fetch size above 64 MiB',
    props: { fetchPartitionSize: Size.mebibytes(65), fetchQueueSize: Size.mebibytes(128) },
    prop: 'fetchPartitionSize',
    variables: { FETCH_PARTITION_MB: '65', FETCH_QUEUE_MB: '128' },
    variable: 'FETCH_PARTITION_MB',
    accepted: false,
  },
  {
    value: 'a fetch size above the default queue',
    props: { fetchPartitionSize: Size.mebibytes(32) },
    prop: 'fetchQueueSize',
    variables: { FETCH_PARTITION_MB: '32' },
    variable: 'FETCH_QUEUE_MB',
    accepted: false,
  },
  {
    value: 'a fetch queue of one fetch',
    props: { fetchPartitionSize: Size.kibibytes(512), fetchQueueSize: Size.kibibytes(512) },
    prop: 'fetchQueueSize',
    variables: { FETCH_PARTITION_MB: '0.5', FETCH_QUEUE_MB: '0.5' },
    variable: 'FETCH_QUEUE_MB',
    accepted: false,
  },
  ...[
    { value: '256 shards', shards: 256, accepted: true },
    { value: '0 shards', shards: 0, accepted: false },
    { value: '257 shards', shards: 257, accepted: false },
    { value: '2.5 shards', shards: 2.5, accepted: false },
  ].map(({ value, shards, accepted }) => ({
    value,
    props: { shards },
    prop: 'shards',
    variables: { SHARDS: String(shards) },
    variable: 'SHARDS',
    accepted,
  })),
  {
    value: 'a gzip level of 10',
    props: { compressionLevel: 10 },
    prop: 'compressionLevel',
    variables: { COMPRESSION_LEVEL: '10' },
    variable: 'COMPRESSION_LEVEL',
    accepted: false,
  },
  {
    value: 'a level without a codec that has one',
    props: { compression: 'none', compressionLevel: 1 },
    prop: 'compressionLevel',
    variables: { COMPRESSION: 'none', COMPRESSION_LEVEL: '1' },
    variable: 'COMPRESSION_LEVEL',
    accepted: false,
  },
  ...(zstdAvailable()
    ? [
        {
          value: 'a zstd level of 19',
          props: { compression: 'zstd', compressionLevel: 19 } as const,
          prop: 'compressionLevel',
          variables: { COMPRESSION: 'zstd', COMPRESSION_LEVEL: '19' },
          variable: 'COMPRESSION_LEVEL',
          accepted: true,
        },
      ]
    : []),
  ...[
    { value: 'a topic name with dots and dashes', topic: 'shop.orders-v1', accepted: true },
    { value: 'a topic name with a space', topic: 'bad topic', accepted: false },
    { value: 'a topic name of 250 characters', topic: 'x'.repeat(250), accepted: false },
  ].map(({ value, topic, accepted }) => ({
    value,
    props: { topic },
    prop: 'topic',
    variables: { KAFKA_TOPIC: topic },
    variable: 'KAFKA_TOPIC',
    accepted,
  })),
  {
    value: 'a consumer group',
    props: { groupId: 'orders-to-s3' },
    prop: 'groupId',
    variables: { KAFKA_GROUP_ID: 'orders-to-s3' },
    variable: 'KAFKA_GROUP_ID',
    accepted: true,
  },
  ...[
    { value: 'an output prefix of two segments', prefix: 'landing/kafka', accepted: true },
    { value: 'an output prefix with a wildcard', prefix: 'landing/*', accepted: false },
    { value: 'an output prefix with an empty segment', prefix: 'landing//kafka', accepted: false },
    { value: 'an output prefix with a space', prefix: 'landing zone', accepted: false },
  ].map(({ value, prefix, accepted }) => ({
    value,
    props: { outputPrefix: prefix },
    prop: 'outputPrefix',
    variables: { OUTPUT_PREFIX: prefix },
    variable: 'OUTPUT_PREFIX',
    accepted,
  })),
  {
    value: 'snappy NDJSON',
    props: { compression: 'snappy' },
    prop: 'compression',
    variables: { COMPRESSION: 'snappy' },
    variable: 'COMPRESSION',
    accepted: false,
  },
  {
    value: 'snappy Parquet',
    props: { compression: 'snappy', format: OutputFormat.PARQUET },
    prop: 'compression',
    variables: { COMPRESSION: 'snappy', OUTPUT_FORMAT: 'parquet' },
    variable: 'COMPRESSION',
    accepted: true,
  },
  {
    value: 'columns of NDJSON objects',
    props: { columns: [column] },
    prop: 'columns',
    variables: { VALUE_COLUMNS: 'id:string:id' },
    variable: 'VALUE_COLUMNS',
    accepted: false,
  },
  {
    value: 'columns of Parquet files with JSON values',
    props: { ...parquetJson, columns: [column] },
    prop: 'columns',
    variables: { OUTPUT_FORMAT: 'parquet', VALUE_FORMAT: 'json', VALUE_COLUMNS: 'id:string:id' },
    variable: 'VALUE_COLUMNS',
    accepted: true,
  },
];

describe('the construct and the config give the same verdict', () => {
  it.each(cases)('on $value', ({ props, prop, variables, variable, accepted }) => {
    const fromProps = constructProblems(props);
    const fromVariables = configProblems(variables);

    expect(fromProps.length === 0).toBe(accepted);
    expect(fromVariables.length === 0).toBe(accepted);
    if (!accepted) {
      expect(fromProps.some((problem) => problem.startsWith(prop))).toBe(true);
      expect(fromVariables.some((problem) => problem.startsWith(variable))).toBe(true);
    }
  });

  it('in the same words, but for the names', () => {
    const [fromProps] = constructProblems({
      fetchPartitionSize: Size.mebibytes(8),
      fetchQueueSize: Size.mebibytes(4),
    });
    const [fromVariables] = configProblems({ FETCH_PARTITION_MB: '8', FETCH_QUEUE_MB: '4' });

    expect(fromProps).toBe(
      'fetchQueueSize (4 MiB) must be at least fetchPartitionSize (8 MiB): the queue holds whole fetches',
    );
    expect(fromVariables).toBe(
      'FETCH_QUEUE_MB (4 MiB) must be at least FETCH_PARTITION_MB (8 MiB): the queue holds whole fetches',
    );
  });
});

describe('what only the construct restricts, on top of the shared rule', () => {
  it.each<[string, Partial<PullerPipelineOptions>, Record<string, string>]>([
    [
      'a batch interval of part of a minute (the schedule runs whole minutes)',
      { batchInterval: Duration.seconds(90) },
      { BATCH_INTERVAL_SECONDS: '90' },
    ],
    [
      'a batch interval of 2 days (the alarms look back a day)',
      { batchInterval: Duration.days(2) },
      { BATCH_INTERVAL_SECONDS: '172800' },
    ],
    [
      'a group with an IAM wildcard (the grants name it)',
      { groupId: 'orders-*' },
      { KAFKA_GROUP_ID: 'orders-*' },
    ],
  ])('refuses %s, which the handler runs', (_case, props, variables) => {
    expect(constructProblems(props)).toHaveLength(1);
    expect(configProblems(variables)).toEqual([]);
  });

  it('refuses a group with white space around it, which the handler would read trimmed', () => {
    expect(constructProblems({ groupId: ' orders ' })).toEqual([
      "groupId must not start or end with white space, got ' orders '",
    ]);
    expect(loadConfig({ ...validVariables, KAFKA_GROUP_ID: ' orders ' }).groupId).toBe('orders');
  });
});

describe('allowed lateness within the run', () => {
  it('refuses a lateness a run cannot wait out before it stops new work', () => {
    expect(
      constructProblems({ allowedLateness: Duration.seconds(50), timeout: Duration.seconds(60) }),
    ).toEqual([
      "allowedLateness must be shorter than timeout less safetyMargin (a run plans a window only when it can wait that long after the window's end), got 50 seconds, 1 minute and 10 seconds",
    ]);
    expect(
      constructProblems({ allowedLateness: Duration.seconds(49), timeout: Duration.seconds(60) }),
    ).toEqual([]);
  });

  it('names the poll interval when the lateness is its default', () => {
    const problems = constructProblems({
      batchInterval: Duration.minutes(5),
      pollInterval: Duration.minutes(2),
      timeout: Duration.minutes(2),
    });
    expect(problems).toEqual([
      expect.stringMatching(/^allowedLateness \(the poll interval\) must be shorter/),
    ]);
  });
});

describe('the rules themselves', () => {
  const seconds = (name: string, value: number): Setting => ({ name, value, shown: `${value} s` });
  const mib = (name: string, value: number): Setting => ({ name, value, shown: `${value} MiB` });

  it('lets the lateness reach just short of the budget less the margin', () => {
    const budget = seconds('budget', 60);
    const margin = seconds('margin', 10);
    expect(latenessBudgetProblem(seconds('lateness', 49.9), budget, margin)).toBeUndefined();
    expect(latenessBudgetProblem(seconds('lateness', 50), budget, margin)).toMatch(
      /^lateness must be shorter/,
    );
  });

  it('lets the queue hold exactly one fetch', () => {
    expect(fetchQueueProblem(mib('queue', 8), mib('fetch', 8))).toBeUndefined();
    expect(fetchQueueProblem(mib('queue', 7.99), mib('fetch', 8))).toMatch(/^queue \(7.99 MiB\)/);
  });

  it.each([
    ['', true],
    ['raw', true],
    ["a!_.'()=-b/c", true],
    ['/raw', false],
    ['raw/', false],
    ['raw?', false],
  ])('takes the output prefix %j: %s', (prefix, accepted) => {
    const problem = outputPrefixProblem({ name: 'prefix', value: prefix, shown: prefix });
    expect(problem === undefined).toBe(accepted);
  });
});
