// The CDK constructs of kafka-batch-puller.

export { ColumnType, type DeclaredColumn } from '../src/core/parquet-schema.js';
export { OutputFormat, ValueFormat } from '../src/core/value-format.js';
export { glueColumns, PipelineGlueTable, type PipelineGlueTableProps } from './glue-table.js';
export { KafkaBatchPuller, type KafkaBatchPullerProps, PullerLogLevel } from './kafka-batch-puller.js';
export {
  constructIdForTopic,
  KafkaBatchPullerStack,
  type KafkaBatchPullerStackProps,
  type StackPipelineOptions,
} from './kafka-batch-puller-stack.js';
export { KafkaSecurityMode, type MskIamResourceArns, mskIamResourceArns } from './kafka-security.js';
export { LambdaInvokeTarget } from './lambda-invoke-target.js';
export { PullerMetric, PullerPipeline, type PullerPipelineOptions } from './puller-pipeline.js';
export { QueueDestination } from './queue-destination.js';
export {
  type AppSettings,
  appSettingsFromContext,
  ContextKeys,
  PipelineContextKeys,
} from './stack-context.js';
export { StartPosition } from './start-position.js';
