// The CDK constructs of kafka-batch-puller.
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
