// The package's `kafka-batch-puller/handler` entry: what a user's own handler file needs to wrap the
// puller's handler with hooks, and the types of what the hooks receive. A handler file using it is
// bundled by the construct (`handlerEntry`).
export type { Compression } from '../config.js';
export type { Manifest, ManifestObject, ManifestPartition } from '../core/manifest.js';
export type { Encoding, ErrorRow, OutputHeader, OutputRow } from '../core/record-format.js';
export { type PullerHooks, RunOutcome } from '../engine/run-types.js';
export { PullerMetric } from '../metric-names.js';
export { createHandler, type HandlerResult, handler, type PullerHandler } from './handler.js';
export type { StepResponse } from './run-step.js';
