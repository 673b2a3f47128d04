// Builds the source, sink and store a config names: Kafka always; S3 or a local folder; DynamoDB or a
// local file. The Lambda handler and the CLI both start here.
import type { PullerConfig } from '../config.js';
import type { BatchSink, RecordSource, StateStore } from '../ports.js';
import { type AwsClientOptions, createDynamoDbClient, createS3Client } from './aws-clients.js';
import { DirectorySink } from './directory-sink.js';
import { DynamoDbStateStore } from './dynamodb-state-store.js';
import { FileStateStore } from './file-state-store.js';
import { createKafkaClient } from './kafka-client.js';
import { KafkaSource } from './kafka-source.js';
import { S3Sink } from './s3-sink.js';

/** The adapters of one run. A source serves one run: create new adapters for the next. */
export interface Adapters {
  readonly source: RecordSource;
  readonly sink: BatchSink;
  readonly store: StateStore;
  /** Releases what the adapters hold (connections); the engine already closes the source. */
  close(): Promise<void>;
}

/** How the AWS clients of one run behave: the run's deadline bounds their retries. */
export type AdapterOptions = Pick<AwsClientOptions, 'deadlineMs' | 'onRetry'>;

/** Creates the adapters named by `config`. */
export async function createAdapters(config: PullerConfig, options: AdapterOptions = {}): Promise<Adapters> {
  const kafka = await createKafkaClient(config);
  const source = new KafkaSource(kafka, config.topic, config.groupId, config.fetch);
  const s3 = config.output.kind === 's3' ? createS3Client(options) : undefined;
  const dynamodb = config.state.kind === 'dynamodb' ? createDynamoDbClient(options) : undefined;
  const sink: BatchSink =
    s3 && config.output.kind === 's3'
      ? new S3Sink(s3, config.output.bucket)
      : new DirectorySink(config.output.kind === 'directory' ? config.output.path : '.');
  const store: StateStore =
    dynamodb && config.state.kind === 'dynamodb'
      ? new DynamoDbStateStore(dynamodb, config.state.table)
      : new FileStateStore(config.state.kind === 'file' ? config.state.path : '');
  return {
    source,
    sink,
    store,
    close: async () => {
      await source.close();
      s3?.destroy();
      dynamodb?.destroy();
    },
  };
}
