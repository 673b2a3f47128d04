// The flags that describe a pipeline (brokers, topic, group, output, state, tuning) and their mapping
// onto the configuration variables `loadConfig` reads, so the CLI and the Lambda share one validation.
import { resolve } from 'node:path';
import { ConfigVariables, loadConfig, type PullerConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { REGISTRY_PASSWORD_VARIABLE } from '../registry-config.js';
import { DEFAULT_ICEBERG_NAMESPACE } from '../table-format-config.js';
import type { FlagSpec, ParsedFlags } from './parse-args.js';
import { UsageError } from './usage-error.js';

const V = ConfigVariables;

/** Where `run` writes batches when `--output` is not given. */
export const defaultOutput = './kafka-batches';
/** Where state is kept when `--state` is not given. */
export const defaultState = './kafka-batch-puller-state.json';

/** Flags that reach the Kafka cluster: every command has them. */
export const connectionFlags: readonly FlagSpec[] = [
  {
    name: 'broker',
    type: 'list',
    placeholder: '<host:port>',
    help: 'Kafka bootstrap broker; repeat the flag or give a comma-separated list',
    defaultHelp: '$KAFKA_BROKERS',
    variable: V.brokers,
  },
  { name: 'topic', type: 'string', placeholder: '<name>', help: 'the topic (required)', variable: V.topic },
  {
    name: 'security',
    type: 'string',
    placeholder: '<mode>',
    help: 'plaintext, tls, scram-sha-512 (MSK SCRAM) or msk-iam',
    default: 'plaintext',
    variable: V.security,
  },
  {
    name: 'sasl-secret-arn',
    type: 'string',
    placeholder: '<arn>',
    help: 'Secrets Manager secret with the SCRAM username and password (with --security scram-sha-512)',
    variable: V.saslSecretArn,
  },
  {
    name: 'region',
    type: 'string',
    placeholder: '<region>',
    help: 'AWS region for msk-iam, S3 and DynamoDB',
    defaultHelp: '$AWS_REGION',
    variable: V.region,
  },
];

/** The consumer group flag, shared by `run` and `status`. */
export const groupFlag: FlagSpec = {
  name: 'group-id',
  type: 'string',
  placeholder: '<id>',
  help: 'the consumer group; exclusive to this pipeline (required)',
  variable: V.groupId,
};

/** The state flag, shared by `run` and `status`. */
export const stateFlag: FlagSpec = {
  name: 'state',
  type: 'string',
  placeholder: '<file>|dynamodb://<table>',
  help: 'where the window boundary, offsets and lease are kept',
  default: defaultState,
};

/** The flags only `run` has: the window rule, the output and its format. */
export const runTuningFlags: readonly FlagSpec[] = [
  {
    name: 'batch-interval-seconds',
    type: 'string',
    placeholder: '<seconds>',
    help: 'window length; windows align to multiples of it, and a run starts every interval',
    default: '300',
    variable: V.batchIntervalSeconds,
  },
  {
    name: 'poll-interval-seconds',
    type: 'string',
    placeholder: '<seconds>',
    help: 'how long one poll waits for records',
    default: '5',
    variable: V.pollIntervalSeconds,
  },
  {
    name: 'allowed-lateness-seconds',
    type: 'string',
    placeholder: '<seconds>',
    help: 'how long a window waits for an idle partition after its end',
    defaultHelp: 'the poll interval',
    variable: V.allowedLatenessSeconds,
  },
  {
    name: 'start',
    type: 'string',
    placeholder: '<position>',
    help: 'where a new pipeline starts: earliest, latest or an ISO-8601 time',
    default: 'earliest',
    variable: V.startPosition,
  },
  {
    name: 'output',
    type: 'string',
    placeholder: '<dir>|s3://<bucket>/<prefix>',
    help: 'where batches are written',
    default: defaultOutput,
  },
  {
    name: 'format',
    type: 'string',
    placeholder: '<ndjson|parquet>',
    help: 'what data objects are written as',
    default: 'ndjson',
    variable: V.format,
  },
  {
    name: 'compression',
    type: 'string',
    placeholder: '<codec>',
    help: 'gzip, zstd (Node 22.15+) or none for ndjson; snappy, gzip, zstd or none for parquet (its codec)',
    defaultHelp: 'gzip for ndjson, snappy for parquet',
    variable: V.compression,
  },
  {
    name: 'compression-level',
    type: 'string',
    placeholder: '<level>',
    help: 'ndjson only: gzip 1-9, zstd 1-19; lower is faster, higher is smaller',
    defaultHelp: '6 for gzip, 3 for zstd',
    variable: V.compressionLevel,
  },
  {
    name: 'value-format',
    type: 'string',
    placeholder: '<format>',
    help: 'how record values are read: string, json, binary, or confluent or glue (a schema registry); a json value that does not parse, or a confluent or glue one that does not decode, goes to the errors object',
    default: 'string',
    variable: V.valueFormat,
  },
  {
    name: 'key-format',
    type: 'string',
    placeholder: '<format>',
    help: 'how record keys are read (as --value-format)',
    default: 'string',
    variable: V.keyFormat,
  },
  {
    name: 'column',
    type: 'list',
    placeholder: '<name:type:path>',
    help: 'a typed Parquet column from each JSON value (types: string, bigint, double, boolean, timestamp, json); repeat the flag',
    variable: V.columns,
  },
  {
    name: 'part-size-mb',
    type: 'string',
    placeholder: '<MiB>',
    help: "a partition's share of a window is cut into parts of about this size",
    default: '64',
    variable: V.partSizeMb,
  },
  {
    name: 'fetch-partition-mb',
    type: 'string',
    placeholder: '<MiB>',
    help: 'the most one Kafka fetch returns per partition',
    default: '1',
    variable: V.fetchPartitionMb,
  },
  {
    name: 'fetch-queue-mb',
    type: 'string',
    placeholder: '<MiB>',
    help: 'fetched bytes held ahead of the writer before fetching pauses',
    default: '16',
    variable: V.fetchQueueMb,
  },
  {
    name: 'shards',
    type: 'string',
    placeholder: '<n>',
    help: "how many worker threads read each window's partitions in parallel",
    default: '1',
    variable: V.shards,
  },
  {
    name: 'safety-margin-seconds',
    type: 'string',
    placeholder: '<seconds>',
    help: 'a run starts no new work this close to the next scheduled run',
    default: '2',
    variable: V.safetyMarginSeconds,
  },
  {
    name: 'client-id',
    type: 'string',
    placeholder: '<id>',
    help: 'Kafka client id',
    default: 'kafka-batch-puller',
    variable: V.clientId,
  },
  ...tableFormatFlags(),
  ...registryFlags(),
];

/** The flags that find the schemas of keys and values in the confluent and glue formats. */
function registryFlags(): FlagSpec[] {
  return [
    {
      name: 'schema-registry-url',
      type: 'string',
      placeholder: '<url>',
      help: "the Confluent-compatible schema registry's base URL (with --value-format or --key-format confluent)",
      variable: V.registryUrl,
    },
    {
      name: 'schema-registry-secret-arn',
      type: 'string',
      placeholder: '<arn>',
      help: 'Secrets Manager secret with the registry username and password',
      variable: V.registrySecretArn,
    },
    {
      name: 'schema-registry-user',
      type: 'string',
      placeholder: '<name>',
      help: `the registry's basic authentication user; its password is read from $${REGISTRY_PASSWORD_VARIABLE}`,
    },
    {
      name: 'glue-schema-registry-name',
      type: 'string',
      placeholder: '<name>',
      help: 'with --value-format or --key-format glue: the Glue Schema Registry every schema version must belong to (default: any)',
      variable: V.glueRegistryName,
    },
  ];
}

/** The flags that commit each closed window to an Iceberg table as well. */
export function tableFormatFlags(): FlagSpec[] {
  return [
    {
      name: 'table-format',
      type: 'string',
      placeholder: '<none|iceberg>',
      help: 'iceberg: also commit each window as one Iceberg snapshot (needs --format parquet and an s3:// output)',
      default: 'none',
      variable: V.tableFormat,
    },
    {
      name: 'iceberg-catalog-url',
      type: 'string',
      placeholder: '<url>',
      help: "the Iceberg REST catalog's base URL, without /v1",
      defaultHelp: "AWS's endpoint with --iceberg-signing-service s3tables or glue",
      variable: V.catalogUrl,
    },
    {
      name: 'iceberg-warehouse',
      type: 'string',
      placeholder: '<id>',
      help: "the catalog's warehouse: S3 Tables, the table bucket's ARN; Glue, the account id",
      variable: V.warehouse,
    },
    {
      name: 'iceberg-namespace',
      type: 'string',
      placeholder: '<name>',
      help: "the table's namespace, created when missing",
      default: DEFAULT_ICEBERG_NAMESPACE,
      variable: V.namespace,
    },
    {
      name: 'iceberg-table',
      type: 'string',
      placeholder: '<name>',
      help: 'the table, created when missing',
      defaultHelp: 'the topic, lowercase, other characters as _',
      variable: V.table,
    },
    {
      name: 'iceberg-signing-service',
      type: 'string',
      placeholder: '<service>',
      help: 'none, or s3tables or glue: sign catalog requests with SigV4 for Amazon S3 Tables or AWS Glue',
      default: 'none',
      variable: V.signing,
    },
    {
      name: 'iceberg-table-location',
      type: 'string',
      placeholder: '<s3-url>',
      help: 'where a table created by the run keeps its metadata (s3://bucket/path)',
      defaultHelp: "the catalog's choice",
      variable: V.location,
    },
  ];
}

/** Where flag values that are not simple variables map: these name the flag in error messages. */
const compositeVariables: Readonly<Record<string, string>> = {
  [V.outputBucket]: 'output',
  [V.outputDirectory]: 'output',
  [V.outputPrefix]: 'output',
  [V.stateTable]: 'state',
  [V.stateFile]: 'state',
};

function outputVariables(output: string, command: string): Record<string, string> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(output)?.[1];
  if (scheme === undefined) return { [V.outputDirectory]: resolve(output) };
  if (scheme !== 's3') {
    throw new UsageError(`--output must be a folder or s3://<bucket>/<prefix> (got '${output}')`, command);
  }
  const [bucket = '', ...prefix] = output.slice('s3://'.length).split('/');
  if (bucket === '') throw new UsageError(`--output '${output}' names no bucket`, command);
  return { [V.outputBucket]: bucket, [V.outputPrefix]: prefix.join('/') };
}

function stateVariables(state: string, command: string): Record<string, string> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(state)?.[1];
  if (scheme === undefined) return { [V.stateFile]: resolve(state) };
  const table = state.slice(`${scheme}://`.length);
  if (scheme !== 'dynamodb' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(table)) {
    throw new UsageError(`--state must be a file or dynamodb://<table> (got '${state}')`, command);
  }
  return { [V.stateTable]: table };
}

/** Every flag that sets a configuration variable, in help order. */
export const allPipelineFlags: readonly FlagSpec[] = [
  ...connectionFlags,
  groupFlag,
  stateFlag,
  ...runTuningFlags,
];

/**
 * The configuration variables the flags set. A flag that is absent, or that the command does not
 * have, takes its default; `--broker` and `--region` fall back to KAFKA_BROKERS and AWS_REGION, which
 * shells set for the local test bed and for AWS. No other environment variable is read here (the
 * registry password, SCHEMA_REGISTRY_PASSWORD, is read by `configFromFlags`).
 */
export function variablesFromFlags(
  flags: ParsedFlags,
  command: string,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const variables: Record<string, string | undefined> = {};
  const given = (spec: FlagSpec) => flags.strings.get(spec.name) ?? spec.default;
  for (const spec of allPipelineFlags) {
    if (!spec.variable) continue;
    variables[spec.variable] = spec.type === 'list' ? flags.lists.get(spec.name)?.join(',') : given(spec);
  }
  variables[V.brokers] ??= env[V.brokers];
  variables[V.region] ??= env[V.region];
  Object.assign(variables, outputVariables(flags.strings.get('output') ?? defaultOutput, command));
  Object.assign(variables, stateVariables(flags.strings.get('state') ?? defaultState, command));
  return variables;
}

/**
 * Validates the variables with `loadConfig`. A `ConfigError` becomes a `UsageError` on one line whose
 * problems name flags instead of variables (`BATCH_INTERVAL_SECONDS` reads `--batch-interval-seconds`).
 */
export function configFromVariables(
  variables: Record<string, string | undefined>,
  command: string,
): PullerConfig {
  try {
    return loadConfig(variables);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const names: Record<string, string> = { ...compositeVariables };
    for (const spec of allPipelineFlags) if (spec.variable) names[spec.variable] = spec.name;
    // Longest first, so a variable whose name contains a shorter one is replaced whole.
    const variableNames = Object.keys(names).sort((a, b) => b.length - a.length);
    const pattern = new RegExp(`\\b(${variableNames.join('|')})\\b`, 'g');
    const problems = [...new Set(error.problems.map((p) => p.replace(pattern, (v) => `--${names[v] ?? v}`)))];
    throw new UsageError(problems.join('; '), command);
  }
}

/**
 * The validated configuration the flags describe: `variablesFromFlags`, then `configFromVariables`, then
 * the registry login `--schema-registry-user` gives (with its password from the environment).
 */
export function configFromFlags(
  flags: ParsedFlags,
  command: string,
  env: Readonly<Record<string, string | undefined>>,
): PullerConfig {
  const config = configFromVariables(variablesFromFlags(flags, command, env), command);
  const username = flags.strings.get('schema-registry-user')?.trim();
  if (!username) return config;
  const { registry } = config;
  const refuse = (problem: string) => {
    throw new UsageError(`--schema-registry-user ${problem}`, command);
  };
  if (!registry) return refuse('needs --schema-registry-url');
  if (registry.login.kind === 'secret')
    return refuse('and --schema-registry-secret-arn are two logins: give one');
  const password = env[REGISTRY_PASSWORD_VARIABLE];
  if (!password)
    return refuse(`needs the password in the ${REGISTRY_PASSWORD_VARIABLE} environment variable`);
  return { ...config, registry: { ...registry, login: { kind: 'basic', username, password } } };
}

/**
 * Points the AWS SDK's S3 and DynamoDB clients at `--region`, when given. The adapters take no region
 * setting; the SDK resolves it from AWS_REGION, so the flag sets that for this process.
 */
export function applyRegionFlag(flags: ParsedFlags): void {
  const region = flags.strings.get('region')?.trim();
  if (region) process.env[V.region] = region;
}
