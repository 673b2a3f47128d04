// Builds the source, sink and store a config names: Kafka always; S3 or a local folder; DynamoDB or a
// local file; an Iceberg table when the table format is iceberg; a schema registry (Confluent-compatible,
// or the Glue Schema Registry) when a format decodes with one. The Lambda handler and the CLI both start here.
import type { S3Client } from '@aws-sdk/client-s3';
import type { PullerConfig } from '../config.js';
import { CatalogSigning, TableFormat } from '../core/setting-rules.js';
import { IcebergWindowTable } from '../iceberg/iceberg-window-table.js';
import { RestTableCatalog } from '../iceberg/rest-table-catalog.js';
import { S3MetadataFiles } from '../iceberg/s3-metadata-files.js';
import { sigV4Fetch } from '../iceberg/sigv4-fetch.js';
import type {
  BatchSink,
  RecordSource,
  SchemaSource,
  StateStore,
  TableRollback,
  WindowTable,
} from '../ports.js';
import {
  type AwsClientOptions,
  createDynamoDbClient,
  createGlueClient,
  createS3Client,
} from './aws-clients.js';
import { DirectorySink } from './directory-sink.js';
import { DynamoDbStateStore } from './dynamodb-state-store.js';
import { FileStateStore } from './file-state-store.js';
import { GlueSchemaSource } from './glue-schema-source.js';
import { createKafkaClient } from './kafka-client.js';
import { KafkaSource } from './kafka-source.js';
import { RegistrySchemaSource } from './registry-schema-source.js';
import { S3Sink } from './s3-sink.js';

/** The adapters of one run. A source serves one run: create new adapters for the next. */
export interface Adapters {
  readonly source: RecordSource;
  readonly sink: BatchSink;
  readonly store: StateStore;
  /** The Iceberg table closed windows are committed to; absent unless the table format is iceberg. */
  readonly table?: WindowTable & TableRollback;
  /** The registry `confluent` or `glue` keys and values are decoded with; absent unless a format is one. */
  readonly schemas?: SchemaSource;
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
  const table = s3 ? windowTable(config, s3, sink) : undefined;
  const { registry, glueRegistry } = config;
  const glue = glueRegistry ? createGlueClient(options) : undefined;
  const schemas: SchemaSource | undefined = registry
    ? new RegistrySchemaSource({ url: registry.url, login: registry.login })
    : glue && new GlueSchemaSource({ client: glue, ...glueRegistry });
  return {
    source,
    sink,
    store,
    ...(table ? { table } : {}),
    ...(schemas ? { schemas } : {}),
    close: async () => {
      await source.close();
      s3?.destroy();
      dynamodb?.destroy();
      glue?.destroy();
    },
  };
}

/** The Iceberg table of a pipeline whose table format is iceberg (its output is S3: the config says so). */
function windowTable(
  config: PullerConfig,
  s3: S3Client,
  sink: BatchSink,
): (WindowTable & TableRollback) | undefined {
  const target = config.table;
  if (target.format !== TableFormat.ICEBERG) return undefined;
  const catalog = new RestTableCatalog({
    uri: target.catalogUrl,
    ...(target.warehouse ? { warehouse: target.warehouse } : {}),
    ...(target.signing === CatalogSigning.NONE
      ? {}
      : { fetch: sigV4Fetch(target.signing, target.region ?? '') }),
  });
  return new IcebergWindowTable({
    io: { catalog, files: new S3MetadataFiles(s3) },
    table: { namespace: [target.namespace], name: target.table },
    layout: { keyFormat: config.keyFormat, valueFormat: config.valueFormat, columns: config.columns },
    locate: (key) => sink.locate(key),
    ...(target.location ? { tableLocation: target.location } : {}),
  });
}
