// The function's environment: the variables the handler reads its settings from (src/config.ts), set
// from the pipeline's props and its puller's resources.
import type { Duration } from 'aws-cdk-lib';
import { ConfigVariables } from '../src/config.js';
import { formatColumns } from '../src/core/column-declarations.js';
import { ValueFormat } from '../src/core/value-format.js';
import { HANDLER_NODE_OPTIONS } from './handler-bundle.js';
import type { PipelineIcebergTable } from './iceberg-table.js';
import type { KafkaBatchPuller } from './kafka-batch-puller.js';
import type { PullerPipelineOptions, ResolvedOptions } from './pipeline-options.js';
import { mebibytesOf, secondsOf } from './prop-settings.js';
import { StartPosition } from './start-position.js';

/** Variables the construct sets itself; `environment` may not override them (KAFKA_CLIENT_ID it may set). */
export const MANAGED_VARIABLES: ReadonlySet<string> = new Set<string>([
  ...Object.values(ConfigVariables).filter((name) => name !== ConfigVariables.clientId),
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOG_LEVEL',
]);

const seconds = (duration: Duration): string => String(secondsOf(duration));

/** Whether the pipeline's keys or values are read in `format` (a registry's: then it decodes with it). */
export function readsFormat(
  pipeline: Pick<ResolvedOptions, 'keyFormat' | 'valueFormat'>,
  format: ValueFormat,
): boolean {
  return pipeline.keyFormat === format || pipeline.valueFormat === format;
}

/** The variables handed to the pipeline's function: `options.environment`, then every setting the props give. */
export function pipelineEnvironment(
  puller: KafkaBatchPuller,
  options: PullerPipelineOptions,
  resolved: ResolvedOptions,
  icebergTable?: PipelineIcebergTable,
): Record<string, string> {
  const V = ConfigVariables;
  const env: Record<string, string> = {
    ...options.environment,
    [V.brokers]: puller.brokers.join(','),
    [V.topic]: resolved.topic,
    [V.groupId]: resolved.groupId,
    [V.batchIntervalSeconds]: seconds(resolved.batchInterval),
    [V.pollIntervalSeconds]: seconds(resolved.pollInterval),
    [V.startPosition]: (options.startPosition ?? StartPosition.EARLIEST).value,
    [V.outputBucket]: puller.bucket.bucketName,
    [V.outputPrefix]: resolved.outputPrefix,
    [V.stateTable]: puller.stateTable.tableName,
    [V.compression]: resolved.compression,
    [V.format]: resolved.format,
    [V.keyFormat]: resolved.keyFormat,
    [V.valueFormat]: resolved.valueFormat,
    ...(resolved.columns.length > 0 ? { [V.columns]: formatColumns(resolved.columns) } : {}),
    [V.partSizeMb]: String(mebibytesOf(resolved.partSize)),
    [V.security]: puller.kafkaSecurity,
    [V.safetyMarginSeconds]: seconds(resolved.safetyMargin),
    POWERTOOLS_SERVICE_NAME: puller.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: puller.metricsNamespace,
    POWERTOOLS_LOG_LEVEL: puller.logLevel,
    NODE_OPTIONS: HANDLER_NODE_OPTIONS,
  };
  // Set only with shards: one shard is the handler's default, and today's functions keep their settings.
  if (resolved.shards > 1) env[V.shards] = String(resolved.shards);
  if (options.compressionLevel !== undefined) env[V.compressionLevel] = String(options.compressionLevel);
  // Set only when given, as the level: the handler's defaults are the measured ones.
  if (options.fetchPartitionSize) env[V.fetchPartitionMb] = String(mebibytesOf(options.fetchPartitionSize));
  if (options.fetchQueueSize) env[V.fetchQueueMb] = String(mebibytesOf(options.fetchQueueSize));
  if (options.allowedLateness) env[V.allowedLatenessSeconds] = seconds(options.allowedLateness);
  if (options.futureTolerance) env[V.futureToleranceSeconds] = seconds(options.futureTolerance);
  // The secret's ARN only: the function reads the credentials at run time.
  if (puller.saslSecret) env[V.saslSecretArn] = puller.saslSecret.secretArn;
  if (icebergTable) Object.assign(env, icebergTable.environment());
  if (readsFormat(resolved, ValueFormat.GLUE) && puller.glueSchemaRegistryName) {
    env[V.glueRegistryName] = puller.glueSchemaRegistryName;
  }
  if (readsFormat(resolved, ValueFormat.CONFLUENT) && puller.schemaRegistryUrl) {
    env[V.registryUrl] = puller.schemaRegistryUrl;
    // The secret's ARN only: the function reads the login at run time.
    if (puller.schemaRegistrySecret) env[V.registrySecretArn] = puller.schemaRegistrySecret.secretArn;
  }
  return env;
}
