// The rules a pipeline's settings obey, each written once. The handler's settings (src/config.ts) check
// their variables with them and the CDK construct checks its props with them, so a value one accepts the
// other accepts too. Each caller passes the name its user knows a setting by (a variable or a prop), so a
// message names the culprit. A rule answers what is wrong, or undefined when nothing is. Pure: no I/O.
import { isTopicName, TOPIC_NAME_RULE } from './kafka-names.js';
import { decodedWithRegistry, OutputFormat, ValueFormat, writtenAsJson } from './value-format.js';

/** A setting as a rule sees it. */
export interface Setting<T = number> {
  /** The name its user knows it by: the construct's prop or the handler's variable. */
  readonly name: string;
  /** Its value, in the rule's unit: seconds for durations, MiB for sizes. */
  readonly value: T;
  /** The value as its user reads it in a message ('1 minute', '60 s', '8 MiB'). */
  readonly shown: string;
}

/** A numeric setting's range and default. */
export interface SettingRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/** The longest batch or poll interval, seconds (a week). */
export const MAX_INTERVAL_SECONDS = 7 * 24 * 3600;

/** More shards than this would exceed what one Step Functions Map and one state item keep track of well. */
export const MAX_SHARDS = 256;

/**
 * A partition's share of a window is cut into parts of about this many uncompressed MiB. Small parts are
 * allowed (tests, tiny windows): S3 takes an object below its 5 MiB multipart minimum in one PUT.
 */
export const PART_SIZE_MB = { min: 0.05, max: 4096, default: 64 } as const satisfies SettingRange;

/**
 * The most one fetch returns per partition, and the fetched bytes held ahead of the writer. The defaults
 * are the measured best (README, Measured figures); the queue holds whole fetches, so it is never
 * smaller than one.
 */
export const FETCH_SIZES_MB = {
  partition: { min: 0.01, max: 64, default: 1 },
  queue: { min: 1, max: 1024, default: 16 },
} as const satisfies Record<string, SettingRange>;

/** The codecs an NDJSON object may be compressed with (Parquet's snappy is a codec inside the file). */
const NDJSON_CODECS: readonly string[] = ['gzip', 'zstd', 'none'];

// The key characters that need no escaping in S3, in an IAM resource (no '*' or '?') or in a file path.
const PREFIX = /^[A-Za-z0-9!_.'()=-]+(\/[A-Za-z0-9!_.'()=-]+)*$/;

/** An http(s) URL: a scheme, a host, then any path without white space. */
const HTTP_URL = /^https?:\/\/[^\s/]+(\/\S*)?$/;

/** A batch or poll interval: longer than nothing, at most a week. */
export function intervalProblem(interval: Setting): string | undefined {
  if (!(interval.value > 0)) return `${interval.name} must be greater than 0`;
  if (interval.value > MAX_INTERVAL_SECONDS) {
    return `${interval.name} must be at most ${MAX_INTERVAL_SECONDS} (7 days)`;
  }
  return undefined;
}

/** The batch interval: an interval of whole seconds, since window keys carry their bounds to the second. */
export function batchIntervalProblem(batch: Setting): string | undefined {
  const problem = intervalProblem(batch);
  if (problem) return problem;
  return Number.isInteger(batch.value) ? undefined : `${batch.name} must be a whole number of seconds`;
}

/** A poll waits less than a window lasts: an idle partition's clock must be able to pass a window's end. */
export function pollIntervalProblem(poll: Setting, batch: Setting): string | undefined {
  return poll.value < batch.value
    ? undefined
    : `${poll.name} must be shorter than ${batch.name}, got ${poll.shown} and ${batch.shown}`;
}

/** A duration that may be zero but not negative (the allowed lateness, a margin, a tolerance). */
export function notNegativeProblem(duration: Setting): string | undefined {
  return duration.value >= 0 ? undefined : `${duration.name} must be 0 or more`;
}

/**
 * The allowed lateness fits in a run: a run plans a window only when the window's end plus the lateness
 * comes before it stops new work (its budget less the safety margin), so a lateness that does not fit
 * leaves every window to a later run than the one after its end.
 */
export function latenessBudgetProblem(
  lateness: Setting,
  budget: Setting,
  margin: Setting,
): string | undefined {
  return lateness.value + margin.value < budget.value
    ? undefined
    : `${lateness.name} must be shorter than ${budget.name} less ${margin.name} (a run plans a window only when it can wait that long after the window's end), got ${lateness.shown}, ${budget.shown} and ${margin.shown}`;
}

/** A size within its range. */
export function sizeProblem(size: Setting, range: SettingRange): string | undefined {
  return size.value >= range.min && size.value <= range.max
    ? undefined
    : `${size.name} must be from ${range.min} to ${range.max} MiB, got ${size.shown}`;
}

/** The fetch queue holds whole fetches, so it is at least one fetch. */
export function fetchQueueProblem(queue: Setting, partition: Setting): string | undefined {
  return queue.value >= partition.value
    ? undefined
    : `${queue.name} (${queue.shown}) must be at least ${partition.name} (${partition.shown}): the queue holds whole fetches`;
}

/** The shard count: a whole number from 1 to MAX_SHARDS. */
export function shardsProblem(shards: Setting): string | undefined {
  return Number.isInteger(shards.value) && shards.value >= 1 && shards.value <= MAX_SHARDS
    ? undefined
    : `${shards.name} must be a whole number from 1 to ${MAX_SHARDS}, got ${shards.shown}`;
}

/** A topic name Kafka accepts. */
export function topicProblem(topic: Setting<string>): string | undefined {
  return isTopicName(topic.value)
    ? undefined
    : `${topic.name} must be a valid Kafka topic name (${TOPIC_NAME_RULE}), got ${topic.shown}`;
}

/**
 * A consumer group: not empty, and without white space around it, which the handler trims (the group
 * it would use would not be the one named).
 */
export function groupIdProblem(group: Setting<string>): string | undefined {
  if (group.value.trim() === '') return `${group.name} must not be empty`;
  return group.value.trim() === group.value
    ? undefined
    : `${group.name} must not start or end with white space, got ${group.shown}`;
}

/** A key prefix: empty, or '/'-separated segments of characters safe in keys, IAM resources and paths. */
export function outputPrefixProblem(prefix: Setting<string>): string | undefined {
  return prefix.value === '' || PREFIX.test(prefix.value)
    ? undefined
    : `${prefix.name} must be empty or '/'-separated segments of letters, digits and !_.'()=- (no leading or trailing '/'), got ${prefix.shown}`;
}

/** NDJSON objects are compressed with gzip, zstd or nothing; snappy exists only inside Parquet files. */
export function ndjsonCompressionProblem(
  compression: Setting<string>,
  format: Setting<string>,
): string | undefined {
  return format.value !== OutputFormat.NDJSON || NDJSON_CODECS.includes(compression.value)
    ? undefined
    : `${compression.name} must be gzip, zstd or none when ${format.name} is ndjson (got ${compression.shown})`;
}

/** Declared columns are typed Parquet columns taken from JSON values (read as JSON, or decoded from a registry's). */
export function columnsFormatProblem(
  columns: Setting,
  format: Setting<string>,
  valueFormat: Setting<string>,
): string | undefined {
  return columns.value === 0 ||
    (format.value === OutputFormat.PARQUET && writtenAsJson(valueFormat.value as ValueFormat))
    ? undefined
    : `${columns.name} needs ${format.name} parquet and ${valueFormat.name} json, confluent or glue`;
}

/**
 * A key or value format that decodes with a schema registry needs the registry's address, an http(s)
 * URL; a registry setting with no such format is a mistake (it would do nothing), so it is refused too.
 */
export function registryUrlProblem(
  url: Setting<string | undefined>,
  keyFormat: Setting<string>,
  valueFormat: Setting<string>,
): string | undefined {
  const decoding = [keyFormat, valueFormat].filter((f) => f.value === ValueFormat.CONFLUENT);
  // Unused without a confluent format, as the Iceberg settings are without an Iceberg table.
  if (decoding.length === 0) return undefined;
  if (url.value === undefined)
    return `${url.name} is required when ${decoding.map((f) => f.name).join(' and ')} ${decoding.length > 1 ? 'are' : 'is'} confluent`;
  return httpUrlProblem({ ...url, value: url.value });
}

// The AWS Glue Schema Registry's rule for a registry name (CreateRegistry's RegistryName).
const GLUE_REGISTRY_NAME = /^[a-zA-Z0-9\-_$#.]{1,255}$/;

/** A Glue Schema Registry's name, as Glue takes it. */
export function glueRegistryNameRule(name: Setting<string>): string | undefined {
  return GLUE_REGISTRY_NAME.test(name.value)
    ? undefined
    : `${name.name} must be 1 to 255 letters, digits and -_$#., got ${name.shown}`;
}

/**
 * The Glue Schema Registry a `glue` key or value format's versions must belong to: optional, since a
 * version id names its schema wherever it is, but only with a glue format (elsewhere it would do
 * nothing), and a name Glue takes.
 */
export function glueRegistryNameProblem(
  name: Setting<string | undefined>,
  keyFormat: Setting<string>,
  valueFormat: Setting<string>,
): string | undefined {
  // Unused without a glue format, as a schema registry's URL is without a confluent one.
  if (name.value === undefined) return undefined;
  if (keyFormat.value !== ValueFormat.GLUE && valueFormat.value !== ValueFormat.GLUE) return undefined;
  return glueRegistryNameRule({ ...name, value: name.value });
}

/** A pipeline decodes with one schema registry: keys and values cannot use two (confluent and glue). */
export function oneRegistryProblem(
  keyFormat: Setting<string>,
  valueFormat: Setting<string>,
): string | undefined {
  const registries = new Set(
    [keyFormat.value, valueFormat.value].filter((f) => decodedWithRegistry(f as ValueFormat)),
  );
  return registries.size > 1
    ? `${keyFormat.name} and ${valueFormat.name} must not decode with two schema registries, got ${keyFormat.shown} and ${valueFormat.shown}`
    : undefined;
}

/** A value of an enumeration (a format, a codec), for values that no type checked (JavaScript callers). */
export function oneOfProblem(setting: Setting<string>, allowed: readonly string[]): string | undefined {
  return allowed.includes(setting.value)
    ? undefined
    : `${setting.name} must be one of ${allowed.join(', ')}, got ${setting.shown}`;
}

/** What a window is also landed as, beside its objects and manifest. */
export const TableFormat = { NONE: 'none', ICEBERG: 'iceberg' } as const;
/** What a window is also landed as. */
export type TableFormat = (typeof TableFormat)[keyof typeof TableFormat];

/** How requests to an Iceberg REST catalog are signed: not at all, or with SigV4 for an AWS service. */
export const CatalogSigning = { NONE: 'none', S3_TABLES: 's3tables', GLUE: 'glue' } as const;
/** How requests to an Iceberg REST catalog are signed. */
export type CatalogSigning = (typeof CatalogSigning)[keyof typeof CatalogSigning];

/**
 * The Iceberg REST endpoint of an AWS catalog service in a region (S3 Tables: the warehouse is the table
 * bucket's ARN; Glue: the account id), or undefined for a catalog that is not AWS's.
 */
export function awsCatalogEndpoint(signing: CatalogSigning, region: string): string | undefined {
  return signing === CatalogSigning.NONE ? undefined : `https://${signing}.${region}.amazonaws.com/iceberg`;
}

// S3 Tables' rule for namespace and table names, the strictest of the catalogs served (Glue's allows the
// same), so a name one catalog takes the others take too.
const ICEBERG_NAME = /^[a-z0-9][a-z0-9_]{0,254}$/;

/**
 * An Iceberg table's data files are Parquet objects in S3: the table refers to them by their s3://
 * locations, so both the format and the output are fixed.
 */
export function tableFormatProblem(
  tableFormat: Setting<string>,
  format: Setting<string>,
  s3Output: Setting<boolean>,
): string | undefined {
  if (tableFormat.value !== TableFormat.ICEBERG) return undefined;
  const needs = [
    ...(format.value === OutputFormat.PARQUET ? [] : [`${format.name} parquet (got ${format.shown})`]),
    ...(s3Output.value ? [] : [`an S3 output (${s3Output.name}; got ${s3Output.shown})`]),
  ];
  return needs.length === 0
    ? undefined
    : `${tableFormat.name} iceberg needs ${needs.join(' and ')}: the table's data files are the window's Parquet parts, referred to by their s3:// locations`;
}

/** A namespace or table name every Iceberg catalog served takes: lowercase letters, digits and '_'. */
export function icebergNameProblem(name: Setting<string>): string | undefined {
  return ICEBERG_NAME.test(name.value)
    ? undefined
    : `${name.name} must be 1 to 255 lowercase letters, digits and '_', starting with a letter or digit, got ${name.shown}`;
}

/** The table a topic lands in when none is named: the topic's name as an Iceberg name. */
export function defaultIcebergTable(topic: string): string {
  const name = topic.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return /^[a-z0-9]/.test(name) ? name : `t${name}`;
}

/** Where an Iceberg table keeps its metadata: an `s3://bucket/path` location (Iceberg's S3 file IO). */
export function tableLocationProblem(location: Setting<string>): string | undefined {
  return /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/.test(location.value)
    ? undefined
    : `${location.name} must be an s3://bucket/path location, got ${location.shown}`;
}

/** A service's address (an Iceberg REST catalog's base, a schema registry's): an http(s) URL. */
export function httpUrlProblem(url: Setting<string>): string | undefined {
  return HTTP_URL.test(url.value)
    ? undefined
    : `${url.name} must be an http:// or https:// URL, got ${url.shown}`;
}
