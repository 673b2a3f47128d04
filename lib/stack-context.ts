// Reads the stack's props from CDK context: cdk.json's defaults, overridden with `-c key=value`. Values
// from cdk.json keep their JSON types; values from the command line are strings, so both are accepted.
import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Compression } from '../src/config.js';
import { parseColumns } from '../src/core/column-declarations.js';
import type { DeclaredColumn } from '../src/core/parquet-schema.js';
import { TableFormat } from '../src/core/setting-rules.js';
import { type OutputFormat, ValueFormat } from '../src/core/value-format.js';
import type { KafkaBatchPullerStackProps, StackPipelineOptions } from './kafka-batch-puller-stack.js';
import type { KafkaSecurityMode } from './kafka-security.js';
import { StartPosition } from './start-position.js';

/** The app's settings from context. */
export interface AppSettings {
  /** Name of the stack (context `stackName`). */
  readonly stackName: string;
  /** Whether to run the cdk-nag AwsSolutions checks at synth (context `nag`). */
  readonly nag: boolean;
  /** The stack's props. */
  readonly props: KafkaBatchPullerStackProps;
}

/** The context keys the app reads; each is documented in the README's "Deploy to AWS" section. */
export const ContextKeys = {
  stackName: 'stackName',
  nag: 'nag',
  brokers: 'brokers',
  kafkaSecurity: 'kafkaSecurity',
  mskClusterArn: 'mskClusterArn',
  saslSecretArn: 'saslSecretArn',
  saslSecretKmsKeyArn: 'saslSecretKmsKeyArn',
  schemaRegistryUrl: 'schemaRegistryUrl',
  glueSchemaRegistryName: 'glueSchemaRegistryName',
  schemaRegistrySecretArn: 'schemaRegistrySecretArn',
  schemaRegistrySecretKmsKeyArn: 'schemaRegistrySecretKmsKeyArn',
  vpcId: 'vpcId',
  subnetIds: 'subnetIds',
  routeTableIds: 'routeTableIds',
  availabilityZones: 'availabilityZones',
  securityGroupIds: 'securityGroupIds',
  createVpcEndpoints: 'createVpcEndpoints',
  bucketName: 'bucketName',
  bucketKmsKeyArn: 'bucketKmsKeyArn',
  serverAccessLogsBucketName: 'serverAccessLogsBucketName',
  tableKmsKeyArn: 'tableKmsKeyArn',
  removalPolicy: 'removalPolicy',
  alarmTopicArn: 'alarmTopicArn',
  logRetentionDays: 'logRetentionDays',
  logLevel: 'logLevel',
  architecture: 'architecture',
  topics: 'topics',
  pipelines: 'pipelines',
} as const;

/** Pipeline settings: top-level context keys (defaults for every pipeline) and keys of a `pipelines` entry. */
export const PipelineContextKeys = [
  'batchIntervalSeconds',
  'pollIntervalSeconds',
  'allowedLatenessSeconds',
  'futureToleranceSeconds',
  'startPosition',
  'outputPrefix',
  'compression',
  'compressionLevel',
  'format',
  'valueFormat',
  'keyFormat',
  'columns',
  'tableFormat',
  'glueTable',
  'partSizeMb',
  'fetchPartitionMb',
  'fetchQueueMb',
  'safetyMarginSeconds',
  'timeoutSeconds',
  'memoryMb',
  'shards',
  'freshnessAlarmIntervals',
  'enabled',
] as const;

type Get = (key: string) => unknown;

/** A context reader that records every bad value instead of stopping at the first. */
class ContextReader {
  readonly problems: string[] = [];

  constructor(
    private readonly get: Get,
    private readonly where: string,
  ) {}

  private present(key: string): unknown {
    const value = this.get(key);
    return value === undefined || value === null || value === '' ? undefined : value;
  }

  private fail(key: string, expected: string, value: unknown): undefined {
    this.problems.push(`${this.where}${key} must be ${expected}, got ${JSON.stringify(value)}`);
    return undefined;
  }

  string(key: string): string | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value.trim() : this.fail(key, 'a string', value);
  }

  number(key: string): number | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    return Number.isFinite(n) ? n : this.fail(key, 'a number', value);
  }

  boolean(key: string): boolean | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(key, 'true or false', value);
  }

  /** A JSON array, or a comma-separated string. */
  list(key: string): string[] | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
      return value.map((s) => s.trim());
    if (typeof value === 'string') {
      return value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    }
    return this.fail(key, 'a comma-separated list', value);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
    return this.fail(key, `one of ${allowed.join(', ')}`, value);
  }

  seconds(key: string): Duration | undefined {
    const n = this.number(key);
    if (n === undefined) return undefined;
    return n >= 0
      ? Duration.millis(Math.round(n * 1000))
      : this.fail(key, 'a number of seconds, 0 or more', n);
  }
}

const RETENTION: Record<number, logs.RetentionDays> = Object.fromEntries(
  Object.values(logs.RetentionDays)
    .filter((days): days is logs.RetentionDays => typeof days === 'number')
    .map((days) => [days, days]),
);

/** Declared columns from `name:type:path,...`; a problem is recorded on `read`. */
function columnsOf(read: ContextReader, text: string | undefined): DeclaredColumn[] | undefined {
  if (text === undefined) return undefined;
  const columns = parseColumns(text);
  if (typeof columns === 'string') {
    read.problems.push(`columns: ${columns}`);
    return undefined;
  }
  return columns;
}

function pipelineOptions(
  read: ContextReader,
  fallback: ContextReader | undefined,
): Omit<StackPipelineOptions, 'topic'> {
  const pick = <T>(f: (r: ContextReader) => T | undefined): T | undefined =>
    f(read) ?? (fallback ? f(fallback) : undefined);
  const startPosition = pick((r) => r.string('startPosition'));
  const parsedStart = startPosition === undefined ? undefined : StartPosition.parse(startPosition);
  if (startPosition !== undefined && !parsedStart) {
    read.problems.push(`startPosition must be earliest, latest or an ISO-8601 time, got "${startPosition}"`);
  }
  const batchInterval = pick((r) => r.seconds('batchIntervalSeconds'));
  const partSizeMb = pick((r) => r.number('partSizeMb'));
  const memoryMb = pick((r) => r.number('memoryMb'));
  const fetchPartitionMb = pick((r) => r.number('fetchPartitionMb'));
  const fetchQueueMb = pick((r) => r.number('fetchQueueMb'));
  const entries = {
    batchInterval,
    pollInterval: pick((r) => r.seconds('pollIntervalSeconds')),
    allowedLateness: pick((r) => r.seconds('allowedLatenessSeconds')),
    futureTolerance: pick((r) => r.seconds('futureToleranceSeconds')),
    startPosition: parsedStart,
    outputPrefix: pick((r) => r.string('outputPrefix')),
    compression: pick((r) => r.oneOf<Compression>('compression', ['gzip', 'none', 'snappy', 'zstd'])),
    compressionLevel: pick((r) => r.number('compressionLevel')),
    format: pick((r) => r.oneOf<OutputFormat>('format', ['ndjson', 'parquet'])),
    valueFormat: pick((r) => r.oneOf<ValueFormat>('valueFormat', Object.values(ValueFormat))),
    keyFormat: pick((r) => r.oneOf<ValueFormat>('keyFormat', Object.values(ValueFormat))),
    columns: columnsOf(
      read,
      pick((r) => r.string('columns')),
    ),
    tableFormat: pick((r) => r.oneOf<TableFormat>('tableFormat', Object.values(TableFormat))),
    glueTable: pick((r) => r.boolean('glueTable')),
    partSize: partSizeMb === undefined ? undefined : Size.bytes(Math.round(partSizeMb * 2 ** 20)),
    fetchPartitionSize:
      fetchPartitionMb === undefined ? undefined : Size.bytes(Math.round(fetchPartitionMb * 2 ** 20)),
    fetchQueueSize: fetchQueueMb === undefined ? undefined : Size.bytes(Math.round(fetchQueueMb * 2 ** 20)),
    safetyMargin: pick((r) => r.seconds('safetyMarginSeconds')),
    timeout: pick((r) => r.seconds('timeoutSeconds')),
    memorySize: memoryMb,
    shards: pick((r) => r.number('shards')),
    freshnessAlarmIntervals: pick((r) => r.number('freshnessAlarmIntervals')),
    enabled: pick((r) => r.boolean('enabled')),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

/**
 * The app's settings from CDK context.
 * @throws Error listing every bad or missing context value, each naming its key.
 */
export function appSettingsFromContext(get: Get): AppSettings {
  const read = new ContextReader(get, 'context ');
  const K = ContextKeys;

  const pipelines: StackPipelineOptions[] = [];
  const rawPipelines = get(K.pipelines);
  let entries: unknown = rawPipelines;
  if (typeof rawPipelines === 'string' && rawPipelines.trim() !== '') {
    try {
      entries = JSON.parse(rawPipelines);
    } catch {
      read.problems.push(
        `context pipelines must be a JSON array of {"topic": ...} objects, got ${rawPipelines}`,
      );
      entries = undefined;
    }
  }
  if (entries !== undefined && entries !== null && entries !== '') {
    if (!Array.isArray(entries)) {
      read.problems.push(
        `context pipelines must be a JSON array of {"topic": ...} objects, got ${JSON.stringify(entries)}`,
      );
    } else {
      entries.forEach((entry: unknown, i) => {
        const fields = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
        const known: readonly string[] = ['topic', 'id', 'groupId', ...PipelineContextKeys];
        for (const key of Object.keys(fields).filter((k) => !known.includes(k))) {
          read.problems.push(
            `context pipelines[${i}] has an unknown key ${key}; known keys: ${known.join(', ')}`,
          );
        }
        const own = new ContextReader((key) => fields[key], `context pipelines[${i}].`);
        const topic = own.string('topic');
        if (!topic) own.problems.push(`context pipelines[${i}].topic is required`);
        const id = own.string('id');
        const groupId = own.string('groupId');
        const options = pipelineOptions(own, read);
        read.problems.push(...own.problems);
        pipelines.push({
          topic: topic ?? '',
          ...(id ? { id } : {}),
          ...(groupId ? { groupId } : {}),
          ...options,
        });
      });
    }
  } else {
    const options = pipelineOptions(read, undefined);
    for (const topic of read.list(K.topics) ?? []) pipelines.push({ topic, ...options });
  }
  if (pipelines.length === 0 && read.problems.length === 0) {
    read.problems.push('context topics (or pipelines) must name at least one topic');
  }

  const retentionDays = read.number(K.logRetentionDays);
  if (retentionDays !== undefined && RETENTION[retentionDays] === undefined) {
    read.problems.push(
      `context logRetentionDays must be one of CloudWatch Logs' retention periods (1, 3, 5, 7, 14, 30, 60, 90, ...), got ${retentionDays}`,
    );
  }
  const removal = read.oneOf(K.removalPolicy, ['retain', 'destroy'] as const);
  const architecture = read.oneOf(K.architecture, ['arm64', 'x86_64'] as const);
  const brokers = read.list(K.brokers);
  if (!brokers || brokers.length === 0)
    read.problems.push('context brokers is required (host:port, comma-separated)');
  const kafkaSecurity = read.oneOf<KafkaSecurityMode>(K.kafkaSecurity, [
    'plaintext',
    'tls',
    'scram-sha-512',
    'msk-iam',
  ]);
  if (!kafkaSecurity)
    read.problems.push('context kafkaSecurity is required (plaintext, tls, scram-sha-512 or msk-iam)');

  const optional = {
    mskClusterArn: read.string(K.mskClusterArn),
    saslSecretArn: read.string(K.saslSecretArn),
    saslSecretKmsKeyArn: read.string(K.saslSecretKmsKeyArn),
    schemaRegistryUrl: read.string(K.schemaRegistryUrl),
    glueSchemaRegistryName: read.string(K.glueSchemaRegistryName),
    schemaRegistrySecretArn: read.string(K.schemaRegistrySecretArn),
    schemaRegistrySecretKmsKeyArn: read.string(K.schemaRegistrySecretKmsKeyArn),
    vpcId: read.string(K.vpcId),
    subnetIds: read.list(K.subnetIds),
    routeTableIds: read.list(K.routeTableIds),
    availabilityZones: read.list(K.availabilityZones),
    securityGroupIds: read.list(K.securityGroupIds),
    createVpcEndpoints: read.boolean(K.createVpcEndpoints),
    bucketName: read.string(K.bucketName),
    bucketKmsKeyArn: read.string(K.bucketKmsKeyArn),
    serverAccessLogsBucketName: read.string(K.serverAccessLogsBucketName),
    tableKmsKeyArn: read.string(K.tableKmsKeyArn),
    alarmTopicArn: read.string(K.alarmTopicArn),
    logLevel: read.oneOf(K.logLevel, ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const),
    dataRemovalPolicy:
      removal === undefined
        ? undefined
        : removal === 'destroy'
          ? RemovalPolicy.DESTROY
          : RemovalPolicy.RETAIN,
    architecture:
      architecture === undefined
        ? undefined
        : architecture === 'x86_64'
          ? lambda.Architecture.X86_64
          : lambda.Architecture.ARM_64,
    logRetention: retentionDays === undefined ? undefined : RETENTION[retentionDays],
  };
  const stackName = read.string(K.stackName) ?? 'KafkaBatchPuller';
  const nag = read.boolean(K.nag) ?? true;

  if (read.problems.length > 0) {
    throw new Error(`Invalid CDK context:\n  - ${[...new Set(read.problems)].join('\n  - ')}`);
  }
  return {
    stackName,
    nag,
    props: {
      brokers: brokers ?? [],
      kafkaSecurity: kafkaSecurity as KafkaSecurityMode,
      pipelines,
      ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    },
  };
}
