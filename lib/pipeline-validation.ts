// Every problem with a pipeline's props, found at once, each naming its prop. What the handler also reads
// is checked with the shared setting rules (src/core/setting-rules.ts), so the construct accepts what the
// function will accept; on top of them come only what a deployed pipeline restricts further: the
// schedule's rate, Lambda's limits, IAM's wildcards, Glue's names and the puller's other pipelines.

import { existsSync, statSync } from 'node:fs';
import { Duration, Token } from 'aws-cdk-lib';
import { Compression } from '../src/config.js';
import { columnProblem } from '../src/core/column-declarations.js';
import { compressionLevelProblem } from '../src/core/compression-level.js';
import * as rules from '../src/core/setting-rules.js';
import { TableFormat } from '../src/core/setting-rules.js';
import { OutputFormat, ValueFormat } from '../src/core/value-format.js';
import { MANAGED_VARIABLES } from './pipeline-environment.js';
import {
  LAMBDA_MAX_TIMEOUT,
  type PullerPipelineOptions,
  type ResolvedOptions,
  typedParquetValues,
} from './pipeline-options.js';
import { durationProp, numberProp, sizeProp, textProp } from './prop-settings.js';
import type { PullerPipeline } from './puller-pipeline.js';

const GLUE_NAME = /^[a-z][a-z0-9_]{0,254}$/;

/** The schema registries the puller offers its pipelines. */
export interface PullerRegistries {
  /** The Confluent-compatible registry's URL. */
  readonly url: string | undefined;
  /** The Glue Schema Registry's name. */
  readonly glueName: string | undefined;
}

/** Every problem with a pipeline's options, each naming its prop; empty when they are valid. */
export function pipelineProblems(
  o: ResolvedOptions,
  options: PullerPipelineOptions,
  others: readonly PullerPipeline[],
  registries: PullerRegistries,
): string[] {
  const problems = [
    rules.topicProblem(textProp('topic', o.topic)),
    groupProblem(o.groupId),
    ...intervalProblems(o),
    ...runProblems(o, options),
    rules.shardsProblem(numberProp('shards', o.shards)),
    !Number.isInteger(o.memorySize) || o.memorySize < 128 || o.memorySize > 10_240
      ? `memorySize must be a whole number of MiB from 128 to 10240, got ${o.memorySize}`
      : undefined,
    rules.sizeProblem(sizeProp('partSize', o.partSize), rules.PART_SIZE_MB),
    rules.oneOfProblem(textProp('compression', o.compression), Object.values(Compression)),
    ...formatProblems(o, registries),
    options.compressionLevel === undefined
      ? undefined
      : compressionLevelProblem('compressionLevel', options.compressionLevel, o.compression, o.format),
    ...fetchSizeProblems(options),
    !Number.isInteger(o.freshnessAlarmIntervals) || o.freshnessAlarmIntervals < 1
      ? `freshnessAlarmIntervals must be a whole number of 1 or more, got ${o.freshnessAlarmIntervals}`
      : undefined,
    rules.outputPrefixProblem(textProp('outputPrefix', o.outputPrefix)),
    ...handlerProblems(options),
    ...sharingProblems(o, others),
  ];
  return problems.filter((problem): problem is string => problem !== undefined);
}

/** The shared group rule, then IAM's: the group is a literal in the function's grants. */
function groupProblem(groupId: string): string | undefined {
  const problem = rules.groupIdProblem(textProp('groupId', groupId));
  if (problem) return problem;
  return Token.isUnresolved(groupId) || /[*?]/.test(groupId)
    ? `groupId must be a non-empty literal without '*' or '?' (IAM wildcards), got '${groupId}'`
    : undefined;
}

/**
 * The shared interval rules, then the schedule's: EventBridge Scheduler runs a rate in whole minutes, and
 * the alarms' periods are one interval, which CloudWatch keeps to a day at most.
 */
function intervalProblems(o: ResolvedOptions): (string | undefined)[] {
  const batch = durationProp('batchInterval', o.batchInterval);
  const poll = durationProp('pollInterval', o.pollInterval);
  const interval = o.batchInterval.toMilliseconds();
  const scheduled =
    rules.batchIntervalProblem(batch) ??
    (interval % 60_000 !== 0 || interval < 60_000 || interval > Duration.days(1).toMilliseconds()
      ? `batchInterval must be a whole number of minutes from 1 minute to 1 day (EventBridge Scheduler runs at most once a minute), got ${o.batchInterval.toHumanString()}`
      : undefined);
  return [scheduled, rules.intervalProblem(poll) ?? rules.pollIntervalProblem(poll, batch)];
}

/** Lambda's timeout, the safety margin within it, and the allowed lateness within what is left. */
function runProblems(o: ResolvedOptions, options: PullerPipelineOptions): (string | undefined)[] {
  const timeout = o.timeout.toMilliseconds();
  const timeoutProblem =
    timeout % 1000 !== 0 || timeout < 1000 || timeout > LAMBDA_MAX_TIMEOUT.toMilliseconds()
      ? `timeout must be a whole number of seconds up to 15 minutes, got ${o.timeout.toHumanString()}`
      : undefined;
  const marginProblem =
    o.safetyMargin.toMilliseconds() >= timeout
      ? `safetyMargin must be shorter than timeout, got ${o.safetyMargin.toHumanString()} and ${o.timeout.toHumanString()}`
      : undefined;
  // Unset, the lateness is the poll interval: name that, since the prop the user set is another.
  const lateness = durationProp(
    options.allowedLateness ? 'allowedLateness' : 'allowedLateness (the poll interval)',
    o.allowedLateness,
  );
  const latenessProblem =
    rules.notNegativeProblem(lateness) ??
    (timeoutProblem || marginProblem
      ? undefined
      : rules.latenessBudgetProblem(
          lateness,
          durationProp('timeout', o.timeout),
          durationProp('safetyMargin', o.safetyMargin),
        ));
  return [timeoutProblem, marginProblem, latenessProblem];
}

/** Problems with the format, value and key formats, columns and Glue names, each naming its prop. */
function formatProblems(o: ResolvedOptions, registries: PullerRegistries): (string | undefined)[] {
  const format = textProp('format', o.format);
  const problems = [
    rules.oneOfProblem(format, Object.values(OutputFormat)),
    rules.oneOfProblem(textProp('valueFormat', o.valueFormat), Object.values(ValueFormat)),
    rules.oneOfProblem(textProp('keyFormat', o.keyFormat), Object.values(ValueFormat)),
    // A glue grant is on the named registry's schemas: without a name it would be on every registry's.
    ...(['valueFormat', 'keyFormat'] as const).map((prop) => {
      const needed =
        o[prop] === ValueFormat.CONFLUENT && registries.url === undefined
          ? 'schemaRegistryUrl'
          : o[prop] === ValueFormat.GLUE && registries.glueName === undefined
            ? 'glueSchemaRegistryName'
            : undefined;
      return needed && `${prop} ${o[prop]} needs the puller's ${needed}`;
    }),
    rules.oneRegistryProblem(textProp('keyFormat', o.keyFormat), textProp('valueFormat', o.valueFormat)),
    rules.ndjsonCompressionProblem(
      { name: 'compression', value: o.compression, shown: o.compression },
      format,
    ),
    rules.columnsFormatProblem(
      numberProp('columns', o.columns.length),
      format,
      textProp('valueFormat', o.valueFormat),
    ),
    ...o.columns.map((column, i) => {
      const problem = columnProblem(column, o.columns.slice(0, i));
      return problem && `columns: ${problem}`;
    }),
  ];
  const iceberg = o.tableFormat === TableFormat.ICEBERG;
  problems.push(
    rules.oneOfProblem(textProp('tableFormat', o.tableFormat), Object.values(TableFormat)),
    rules.tableFormatProblem(textProp('tableFormat', o.tableFormat), format, {
      name: 'bucket',
      value: true,
      shown: 'the puller bucket',
    }),
    iceberg && o.glueTable
      ? `glueTable must not be true with tableFormat iceberg: the Iceberg table '${o.glueTableName}' takes the Hive-style table's place (and name)`
      : undefined,
    !iceberg && o.glueTable && typedParquetValues(o)
      ? `glueTable must not be true with format parquet and valueFormat ${o.valueFormat}: the typed value column follows the registry's schema, which a Hive-style table declared at deploy time cannot; use tableFormat iceberg, whose table evolves with the schema`
      : undefined,
  );
  if (o.glueTable || iceberg) {
    for (const [prop, name] of [
      ['glueDatabaseName', o.glueDatabaseName],
      ['glueTableName', o.glueTableName],
    ] as const) {
      if (Token.isUnresolved(name) || !GLUE_NAME.test(name)) {
        problems.push(
          `${prop} must be lowercase letters, digits and '_', starting with a letter, got '${name}'`,
        );
      }
    }
  }
  return problems;
}

/**
 * The fetch sizes given, each in its range, and the queue at least one fetch; a size not given is the
 * handler's default, which the function will use.
 */
function fetchSizeProblems(options: PullerPipelineOptions): (string | undefined)[] {
  const sizeOrDefault = (
    name: string,
    given: PullerPipelineOptions['fetchPartitionSize'],
    range: rules.SettingRange,
  ) =>
    given
      ? sizeProp(name, given)
      : ({ name, value: range.default, shown: `${range.default} MiB, the default` } satisfies rules.Setting);
  const partition = sizeOrDefault(
    'fetchPartitionSize',
    options.fetchPartitionSize,
    rules.FETCH_SIZES_MB.partition,
  );
  const queue = sizeOrDefault('fetchQueueSize', options.fetchQueueSize, rules.FETCH_SIZES_MB.queue);
  return [
    options.fetchPartitionSize && rules.sizeProblem(partition, rules.FETCH_SIZES_MB.partition),
    options.fetchQueueSize && rules.sizeProblem(queue, rules.FETCH_SIZES_MB.queue),
    rules.fetchQueueProblem(queue, partition),
  ];
}

/** The handler file and the extra variables: the construct sets its own variables. */
function handlerProblems(options: PullerPipelineOptions): string[] {
  const { environment, handlerEntry } = options;
  const problems: string[] = [];
  if (handlerEntry !== undefined && !(existsSync(handlerEntry) && statSync(handlerEntry).isFile())) {
    problems.push(`handlerEntry must be the path of an existing handler file, got '${handlerEntry}'`);
  }
  for (const name of Object.keys(environment ?? {})) {
    if (MANAGED_VARIABLES.has(name)) {
      problems.push(`environment must not set ${name}; the construct sets it from its props`);
    }
  }
  return problems;
}

/** What a pipeline may not share with the puller's other pipelines: its group, its Glue table, its output. */
function sharingProblems(o: ResolvedOptions, others: readonly PullerPipeline[]): string[] {
  const problems: string[] = [];
  for (const other of others) {
    if (other.groupId === o.groupId) {
      problems.push(
        `groupId '${o.groupId}' is already used by pipeline '${other.node.id}'; each pipeline needs its own consumer group`,
      );
    }
    // Either kind of table: a Hive-style and an Iceberg table cannot share a name either.
    const otherTable = other.glueTable ?? other.icebergTable;
    if (
      (o.glueTable || o.tableFormat === TableFormat.ICEBERG) &&
      otherTable?.databaseName === o.glueDatabaseName &&
      otherTable.tableName === o.glueTableName
    ) {
      problems.push(
        `glueTableName '${o.glueTableName}' is already used in database '${o.glueDatabaseName}' by pipeline '${other.node.id}'; give this pipeline another glueTableName`,
      );
    }
    if (other.topic === o.topic && other.outputPrefix === o.outputPrefix) {
      problems.push(
        `topic '${o.topic}' already lands under outputPrefix '${o.outputPrefix}' (pipeline '${other.node.id}'); give this pipeline another outputPrefix`,
      );
    }
  }
  return problems;
}
