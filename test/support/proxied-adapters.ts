// Runs the engine with its S3 sink and DynamoDB store talking to the emulator through a FaultProxy, the
// way the Lambda builds them (same clients, same retry policy), with a short client timeout so that
// `slow` answers time out.
import { createDynamoDbClient, createS3Client } from '../../src/adapters/aws-clients.js';
import type { AwsRetry } from '../../src/adapters/aws-retry.js';
import { DynamoDbStateStore } from '../../src/adapters/dynamodb-state-store.js';
import { S3Sink } from '../../src/adapters/s3-sink.js';
import type { PullerConfig } from '../../src/config.js';
import type { RunReport } from '../../src/engine/run-types.js';
import { type RunAdapters, runOnce } from './bed.js';
import type { FaultProxy } from './fault-proxy.js';

/** Below the proxy's SLOW_ANSWER_MS, so a held answer times out. */
export const PROXIED_REQUEST_TIMEOUT_MS = 1_000;

/** Options of a run through the proxy. */
export interface ProxiedRunOptions {
  readonly seconds?: number;
  readonly runId?: string;
  readonly endedRunIds?: readonly string[];
  /** Each retried AWS call. */
  readonly onRetry?: (retry: AwsRetry) => void;
  readonly adapt?: (adapters: RunAdapters) => RunAdapters;
}

/** Runs the engine once with S3 and DynamoDB behind `proxy`. */
export async function runThroughProxy(
  proxy: FaultProxy,
  config: PullerConfig,
  options: ProxiedRunOptions = {},
): Promise<RunReport> {
  const { seconds = 30, adapt = (a: RunAdapters) => a, onRetry, ...rest } = options;
  const deadlineMs = Date.now() + seconds * 1000;
  const clientOptions = {
    endpoint: proxy.url,
    deadlineMs,
    requestTimeoutMs: PROXIED_REQUEST_TIMEOUT_MS,
    ...(onRetry ? { onRetry } : {}),
  };
  const s3 = createS3Client(clientOptions);
  const dynamodb = createDynamoDbClient(clientOptions);
  if (config.output.kind !== 's3' || config.state.kind !== 'dynamodb') {
    throw new Error('runThroughProxy needs a pipeline on S3 and DynamoDB');
  }
  const sink = new S3Sink(s3, config.output.bucket);
  const store = new DynamoDbStateStore(dynamodb, config.state.table);
  try {
    return await runOnce(config, {
      seconds,
      ...rest,
      adapt: (adapters) => adapt({ source: adapters.source, sink, store }),
    });
  } finally {
    s3.destroy();
    dynamodb.destroy();
  }
}
