// The Glue Schema Registry's SchemaSource against a Glue client that answers as Glue does: what becomes
// a schema, what is the record's fault (an unknown version id, another registry's version) and what
// fails the run (access denied, throttling, a 5xx, the network), and that each version is asked once.
import {
  AccessDeniedException,
  EntityNotFoundException,
  type GetSchemaVersionCommandOutput,
  type GlueClient,
  InternalServiceException,
  ThrottlingException,
} from '@aws-sdk/client-glue';
import { describe, expect, it, vi } from 'vitest';
import { GlueSchemaSource, registryOfSchemaArn } from '../../src/adapters/glue-schema-source.js';
import { FormatMismatch } from '../../src/core/value-format.js';
import { AccessDeniedError, ConnectionError } from '../../src/errors.js';

const VERSION = '6f1c2b4e-0d2a-4c59-9a57-3f2b1e0c9d01';
const ARN = 'arn:aws:glue:eu-west-1:123456789012:schema/orders-registry/orders-value';
const AVRO = '{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}';
const $metadata = {};

const answer = (fields: Partial<GetSchemaVersionCommandOutput> = {}): GetSchemaVersionCommandOutput => ({
  SchemaVersionId: VERSION,
  SchemaDefinition: AVRO,
  DataFormat: 'AVRO',
  SchemaArn: ARN,
  VersionNumber: 1,
  Status: 'AVAILABLE',
  $metadata,
  ...fields,
});

/** A Glue client whose every GetSchemaVersion gets `reply`'s answer, and the inputs it was sent. */
function glueClient(reply: () => Promise<GetSchemaVersionCommandOutput>) {
  const inputs: unknown[] = [];
  const client = {
    send: vi.fn(async (command: { input: unknown }) => {
      inputs.push(command.input);
      return reply();
    }),
  } as unknown as GlueClient;
  return { client, inputs };
}

describe('GlueSchemaSource', () => {
  it('gives the version as a schema of its data format, asking Glue once per version id', async () => {
    const { client, inputs } = glueClient(async () => answer());
    const source = new GlueSchemaSource({ client });

    const [first, second] = await Promise.all([source.schemaById(VERSION), source.schemaById(VERSION)]);
    const third = await source.schemaById(VERSION);

    // The schema's ARN and version number tell a newer version from an older one.
    expect(first).toEqual({
      type: 'AVRO',
      text: AVRO,
      references: [],
      lineage: { schema: ARN, version: 1 },
    });
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(inputs).toEqual([{ SchemaVersionId: VERSION }]);
  });

  it.each([
    ['JSON', 'JSON'],
    ['PROTOBUF', 'PROTOBUF'],
  ] as const)('reads a %s version as a %s schema', async (format, type) => {
    const { client } = glueClient(async () => answer({ DataFormat: format, SchemaDefinition: 'text' }));
    expect(await new GlueSchemaSource({ client }).schemaById(VERSION)).toEqual({
      type,
      text: 'text',
      references: [],
      lineage: { schema: ARN, version: 1 },
    });
  });

  it('answers nothing for a version id Glue does not hold: its records go to the errors object', async () => {
    const { client } = glueClient(() =>
      Promise.reject(new EntityNotFoundException({ message: 'Schema version is not found.', $metadata })),
    );
    expect(await new GlueSchemaSource({ client }).schemaById(VERSION)).toBeUndefined();
  });

  it("refuses a version of another registry's schema when a registry is named, saying whose it is", async () => {
    const { client } = glueClient(async () => answer());
    const refused = await new GlueSchemaSource({ client, registryName: 'payments' }).schemaById(VERSION);
    const taken = await new GlueSchemaSource({ client, registryName: 'orders-registry' }).schemaById(VERSION);

    expect(refused).toEqual(
      new FormatMismatch(
        `schema version id ${VERSION} belongs to registry 'orders-registry', not to 'payments'`,
      ),
    );
    expect(taken).toMatchObject({ type: 'AVRO' });
  });

  it('refuses a version whose answer has no definition or a data format it cannot read', async () => {
    const missing = glueClient(async () => answer({ SchemaDefinition: undefined }));
    const unknown = glueClient(async () => answer({ DataFormat: 'THRIFT' as never }));
    expect(await new GlueSchemaSource(missing).schemaById(VERSION)).toEqual(
      new FormatMismatch(`schema version id ${VERSION} has no schema definition`),
    );
    expect(await new GlueSchemaSource(unknown).schemaById(VERSION)).toEqual(
      new FormatMismatch(
        `schema version id ${VERSION} has data format THRIFT, which is not Avro, JSON or Protobuf`,
      ),
    );
  });

  it('fails the run with AccessDeniedError when Glue refuses the credentials', async () => {
    const { client } = glueClient(() =>
      Promise.reject(new AccessDeniedException({ message: 'not authorized', $metadata })),
    );
    const lookup = new GlueSchemaSource({ client }).schemaById(VERSION);
    await expect(lookup).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(lookup).rejects.toThrow(
      `the Glue Schema Registry could not answer for schema version id ${VERSION}`,
    );
  });

  it.each([
    ['throttling', () => new ThrottlingException({ message: 'Rate exceeded', $metadata })],
    ['a 5xx', () => new InternalServiceException({ message: 'oops', $metadata: { httpStatusCode: 500 } })],
    ['the network', () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
  ])('fails the run with a transient ConnectionError on %s, and asks again next time', async (_, error) => {
    let calls = 0;
    const { client } = glueClient(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(error()) : Promise.resolve(answer());
    });
    const source = new GlueSchemaSource({ client });

    const failed = source.schemaById(VERSION);
    await expect(failed).rejects.toBeInstanceOf(ConnectionError);
    await expect(failed).rejects.toMatchObject({ kind: 'transient' });
    expect(await source.schemaById(VERSION)).toMatchObject({ type: 'AVRO' });
    expect(calls).toBe(2);
  });

  it.each([
    [ARN, 'orders-registry'],
    ['arn:aws:glue:us-east-1:123456789012:schema/default-registry/s', 'default-registry'],
    ['arn:aws:glue:us-east-1:123456789012:registry/orders-registry', undefined],
    ['', undefined],
  ])('reads the registry of schema ARN %j as %j', (arn, registry) => {
    expect(registryOfSchemaArn(arn)).toBe(registry);
  });
});
