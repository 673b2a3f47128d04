// The SchemaSource of the AWS Glue Schema Registry: `GetSchemaVersion` by schema version id, through the
// AWS SDK's Glue client (the function's role, or the CLI's credentials; the client's retry policy
// rides out throttling and 5xx answers). Each version is fetched once for the life of this source (one
// run); the promise is what is kept, so lookups at the same time share one request. A registry that
// cannot answer fails the run (ConnectionError, AccessDeniedError); only a version id it does not hold,
// or one of another registry than the one named, is the record's fault.
import {
  type DataFormat,
  EntityNotFoundException,
  GetSchemaVersionCommand,
  type GetSchemaVersionCommandOutput,
  type GlueClient,
} from '@aws-sdk/client-glue';
import { FormatMismatch } from '../core/value-format.js';
import { connectionFailure } from '../errors.js';
import { type RegisteredSchema, type SchemaId, type SchemaSource, SchemaType } from '../ports.js';
import { LookupCache } from './lookup-cache.js';

/** How a GlueSchemaSource reaches its registry. */
export interface GlueSchemaSourceOptions {
  /** The Glue client the versions are read with. */
  readonly client: GlueClient;
  /**
   * The registry every version must belong to; a version of another registry's schema is refused.
   * @default - versions of any registry the credentials may read
   */
  readonly registryName?: string;
}

/** Glue's data formats, as the schema types the readers know. */
const SCHEMA_TYPES: Readonly<Record<DataFormat, SchemaType>> = {
  AVRO: SchemaType.AVRO,
  JSON: SchemaType.JSON,
  PROTOBUF: SchemaType.PROTOBUF,
};

/** The registry of a schema ARN, `arn:aws:glue:<region>:<account>:schema/<registry>/<schema>`. */
export function registryOfSchemaArn(arn: string): string | undefined {
  return /:schema\/([^/]+)\//.exec(arn)?.[1];
}

/** The AWS Glue Schema Registry, as the engine's SchemaSource. */
export class GlueSchemaSource implements SchemaSource {
  private readonly versions = new LookupCache<string, RegisteredSchema | FormatMismatch | undefined>();

  constructor(private readonly options: GlueSchemaSourceOptions) {}

  schemaById(id: SchemaId): Promise<RegisteredSchema | FormatMismatch | undefined> {
    const versionId = String(id);
    return this.versions.get(versionId, () => this.fetch(versionId));
  }

  private async fetch(versionId: string): Promise<RegisteredSchema | FormatMismatch | undefined> {
    let version: GetSchemaVersionCommandOutput;
    try {
      version = await this.options.client.send(new GetSchemaVersionCommand({ SchemaVersionId: versionId }));
    } catch (error) {
      if (error instanceof EntityNotFoundException) return undefined;
      throw connectionFailure(
        `the Glue Schema Registry could not answer for schema version id ${versionId}`,
        error,
      );
    }
    return this.schemaOf(versionId, version);
  }

  /** The version as a schema the readers take, or why the pipeline may not use it. */
  private schemaOf(
    versionId: string,
    version: GetSchemaVersionCommandOutput,
  ): RegisteredSchema | FormatMismatch {
    const { registryName } = this.options;
    const registry = registryOfSchemaArn(version.SchemaArn ?? '');
    if (registryName !== undefined && registry !== registryName) {
      return new FormatMismatch(
        `schema version id ${versionId} belongs to ${registry === undefined ? 'no registry the answer names' : `registry '${registry}'`}, not to '${registryName}'`,
      );
    }
    const type = version.DataFormat === undefined ? undefined : SCHEMA_TYPES[version.DataFormat];
    if (type === undefined || version.SchemaDefinition === undefined) {
      return new FormatMismatch(
        `schema version id ${versionId} has ${type === undefined ? `data format ${version.DataFormat ?? '(none)'}, which is not Avro, JSON or Protobuf` : 'no schema definition'}`,
      );
    }
    // Glue's Protobuf schemas do not import other registered schemas: there are no references to resolve.
    return {
      type,
      text: version.SchemaDefinition,
      references: [],
      ...(version.SchemaArn && version.VersionNumber !== undefined
        ? { lineage: { schema: version.SchemaArn, version: version.VersionNumber } }
        : {}),
    };
  }
}
