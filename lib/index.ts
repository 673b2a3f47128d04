// The public API of kafka-batch-puller's CDK constructs (the package's main entry). Every type a public
// prop uses is exported here; helpers and the CDK app's context parsing are not.
export { Compression } from '../src/config.js';
export { ColumnType, type DeclaredColumn } from '../src/core/parquet-schema.js';
export { TableFormat } from '../src/core/setting-rules.js';
export { OutputFormat, ValueFormat } from '../src/core/value-format.js';
export { PullerMetric } from '../src/metric-names.js';
export { PipelineGlueTable, type PipelineGlueTableProps } from './glue-table.js';
export { PipelineIcebergTable, type PipelineIcebergTableProps } from './iceberg-table.js';
export { KafkaBatchPuller } from './kafka-batch-puller.js';
export {
  KafkaBatchPullerStack,
  type KafkaBatchPullerStackProps,
  type StackPipelineOptions,
} from './kafka-batch-puller-stack.js';
export { KafkaSecurityMode } from './kafka-security.js';
export type { PullerPipelineOptions } from './pipeline-options.js';
export { PullerPipeline, type PullerPipelineProps } from './puller-pipeline.js';
export { type KafkaBatchPullerProps, PullerLogLevel } from './puller-props.js';
export { ShardStateMachine, type ShardStateMachineProps } from './shard-state-machine.js';
export { StartPosition } from './start-position.js';
