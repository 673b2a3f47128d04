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
import { configProblems } from './config-problems.js';

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
const problemsWith = (variables: Record<string, string>) =>
  configProblems({ ...validVariables, ...variables });

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

/** The cases of one setting: each value given as a prop and as a variable. */
function casesOf<T>(
  prop: string,
  variable: string,
  asProps: (value: T) => Partial<PullerPipelineOptions>,
  asVariable: (value: T) => string,
  values: readonly (readonly [string, T, boolean])[],
): SameVerdict[] {
  return values.map(([value, v, accepted]) => ({
    value,
    props: asProps(v),
    prop,
    variables: { [variable]: asVariable(v) },
    variable,
    accepted,
  }));
}

const seconds = (s: number) => Duration.millis(s * 1000);

const cases: SameVerdict[] = [
  ...casesOf(
    'batchInterval',
    'BATCH_INTERVAL_SECONDS',
    (s: number) => ({ batchInterval: seconds(s) }),
    String,
    [
      ['a batch interval of 2 minutes', 120, true],
      ['a batch interval of 0', 0, false],
      ['a batch interval of part of a second', 60.5, false],
      ['a batch interval over a week', 8 * 24 * 3600, false],
    ],
  ),
  ...casesOf('pollInterval', 'POLL_INTERVAL_SECONDS', (s: number) => ({ pollInterval: seconds(s) }), String, [
    ['a poll interval as long as the batch interval', 60, false],
    ['a poll interval of 0', 0, false],
    ['a poll interval of half a second', 0.5, true],
  ]),
  ...casesOf(
    'allowedLateness',
    'ALLOWED_LATENESS_SECONDS',
    (s: number) => ({ allowedLateness: seconds(s) }),
    String,
    [['an allowed lateness of 0', 0, true]],
  ),
  ...casesOf(
    'partSize',
    'PART_SIZE_MB',
    (size: Size) => ({ partSize: size }),
    (size) => String(size.toBytes() / 2 ** 20),
    [
      ['the smallest part size', Size.bytes(0.05 * 2 ** 20), true],
      ['a part size of half a MiB', Size.kibibytes(512), true],
      ['a part size below the smallest', Size.kibibytes(40), false],
      ['a part size above 4 GiB', Size.mebibytes(4097), false],
    ],
  ),
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
  ...casesOf('shards', 'SHARDS', (shards: number) => ({ shards }), String, [
    ['256 shards', 256, true],
    ['0 shards', 0, false],
    ['257 shards', 257, false],
    ['2.5 shards', 2.5, false],
  ]),
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
  ...casesOf('topic', 'KAFKA_TOPIC', (topic: string) => ({ topic }), String, [
    ['a topic name with dots and dashes', 'shop.orders-v1', true],
    ['a topic name with a space', 'bad topic', false],
    ['a topic name of 250 characters', 'x'.repeat(250), false],
  ]),
  ...casesOf('groupId', 'KAFKA_GROUP_ID', (groupId: string) => ({ groupId }), String, [
    ['a consumer group', 'orders-to-s3', true],
  ]),
  ...casesOf('outputPrefix', 'OUTPUT_PREFIX', (outputPrefix: string) => ({ outputPrefix }), String, [
    ['an output prefix of two segments', 'landing/kafka', true],
    ['an output prefix with a wildcard', 'landing/*', false],
    ['an output prefix with an empty segment', 'landing//kafka', false],
    ['an output prefix with a space', 'landing zone', false],
  ]),
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
    const fromVariables = problemsWith(variables);

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
    const [fromVariables] = problemsWith({ FETCH_PARTITION_MB: '8', FETCH_QUEUE_MB: '4' });

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
    expect(problemsWith(variables)).toEqual([]);
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
  const inSeconds = (name: string, value: number): Setting => ({ name, value, shown: `${value} s` });
  const mib = (name: string, value: number): Setting => ({ name, value, shown: `${value} MiB` });

  it('lets the lateness reach just short of the budget less the margin', () => {
    const budget = inSeconds('budget', 60);
    const margin = inSeconds('margin', 10);
    expect(latenessBudgetProblem(inSeconds('lateness', 49.9), budget, margin)).toBeUndefined();
    expect(latenessBudgetProblem(inSeconds('lateness', 50), budget, margin)).toMatch(
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
