// Values in the AWS Glue Schema Registry's wire format on a real broker, decoded with schema versions
// registered in the emulator's Glue Schema Registry (moto serves CreateRegistry, CreateSchema,
// RegisterSchemaVersion and GetSchemaVersion): Avro (written by avsc) uncompressed and zlib-compressed
// and JSON values land decoded, in NDJSON and in Parquet with declared columns read back by DuckDB; an
// unknown version id lands in the errors object with its reason. The engine's own Glue client asks for
// the versions, so the IAM audit checks each GetSchemaVersion against the construct's grant on the
// named registry: a version of another registry, which the emulator serves and the name check sends to
// the errors object, is one the deployed function may not read.
import { randomUUID } from 'node:crypto';
import {
  CreateRegistryCommand,
  CreateSchemaCommand,
  type DataFormat,
  DeleteRegistryCommand,
  RegisterSchemaVersionCommand,
} from '@aws-sdk/client-glue';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createGlueClient } from '../src/adapters/aws-clients.js';
import type { ErrorRow } from '../src/core/record-format.js';
import {
  createTopic,
  getObject,
  newPipeline,
  parseNdjson,
  produce,
  readLanded,
  runOnce,
  uniqueName,
} from './support/bed.js';
import { queryParquetBytes } from './support/duckdb.js';
import { glueFramed, ORDER_SCHEMA } from './support/glue-wire.js';
import { forArrangement } from './support/iam-audit/arrangement.js';
import { auditCalls } from './support/iam-audit/audit.js';
import { recordedConfigs, takeCalls } from './support/iam-audit/recorder.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
const ORDER = ORDER_SCHEMA;
/** The second version: a field added, with a default. */
const ORDER_WITH_CURRENCY = {
  ...ORDER,
  fields: [...ORDER.fields, { name: 'currency', type: 'string', default: 'EUR' }],
};
const ORDER_JSON = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { id: { type: 'string' }, amount: { type: 'integer' } },
};
const orderType = avro.Type.forSchema(ORDER as avro.Schema);
const AT = Date.UTC(2026, 11, 7, 8, 0, 0, 123);

/** The tests' own Glue client: arranging registries and schemas is no request of the engine's. */
const glue = forArrangement(createGlueClient());

/** Creates a schema in a registry; answers its name and the id of its first version. */
async function registerSchema(
  registryName: string,
  format: DataFormat,
  definition: object,
): Promise<{ schemaName: string; versionId: string }> {
  const created = await glue.send(
    new CreateSchemaCommand({
      RegistryId: { RegistryName: registryName },
      SchemaName: uniqueName(format.toLowerCase()),
      DataFormat: format,
      Compatibility: 'BACKWARD',
      SchemaDefinition: JSON.stringify(definition),
    }),
  );
  return { schemaName: created.SchemaName ?? '', versionId: created.SchemaVersionId ?? '' };
}

/** The error rows of every window of `bucket`. */
async function errorRows(bucket: string): Promise<ErrorRow[]> {
  const rows: ErrorRow[] = [];
  for (const manifest of (await readLanded(bucket)).manifests) {
    for (const object of manifest.objects.filter((o) => o.kind === 'errors'))
      rows.push(...(parseNdjson(object.key, await getObject(bucket, object.key)) as ErrorRow[]));
  }
  return rows;
}

/** The data object keys of every window of `bucket`. */
async function dataKeys(bucket: string): Promise<string[]> {
  const { manifests } = await readLanded(bucket);
  return manifests.flatMap((m) => m.objects.filter((o) => o.kind === 'data').map((o) => o.key));
}

describe('Glue Schema Registry values', () => {
  const registryName = uniqueName('orders-registry');
  const otherRegistry = uniqueName('other-registry');
  let avroV1 = '';
  let avroV2 = '';
  let jsonV1 = '';
  let foreignV1 = '';

  beforeAll(async () => {
    await glue.send(new CreateRegistryCommand({ RegistryName: registryName }));
    await glue.send(new CreateRegistryCommand({ RegistryName: otherRegistry }));
    const orders = await registerSchema(registryName, 'AVRO', ORDER);
    avroV1 = orders.versionId;
    jsonV1 = (await registerSchema(registryName, 'JSON', ORDER_JSON)).versionId;
    foreignV1 = (await registerSchema(otherRegistry, 'AVRO', ORDER)).versionId;
    // A second version of the Avro schema, a field added with a default: both land in one window.
    const second = await glue.send(
      new RegisterSchemaVersionCommand({
        SchemaId: { RegistryName: registryName, SchemaName: orders.schemaName },
        SchemaDefinition: JSON.stringify(ORDER_WITH_CURRENCY),
      }),
    );
    avroV2 = second.SchemaVersionId ?? '';
    expect(new Set([avroV1, avroV2, jsonV1, foreignV1]).size).toBe(4);
  });

  // An account holds 10 registries (Glue's quota, which the emulator keeps): each run frees its own.
  afterAll(async () => {
    for (const name of [registryName, otherRegistry])
      await glue.send(new DeleteRegistryCommand({ RegistryId: { RegistryName: name } })).catch(() => {});
  });

  /** Produces one window of Glue-framed values, and a record of the next window that closes it. */
  async function produceWindow(topic: string): Promise<void> {
    const t = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    const withCurrency = avro.Type.forSchema(ORDER_WITH_CURRENCY as avro.Schema);
    await produce(topic, [
      {
        partition: 0,
        timestamp: t + 1,
        value: glueFramed(avroV1, orderType.toBuffer({ id: 'o-1', amount: 1250, at: AT })),
      },
      {
        partition: 0,
        timestamp: t + 2,
        value: glueFramed(avroV1, orderType.toBuffer({ id: 'o-2', amount: 99, at: AT }), 'zlib'),
      },
      {
        partition: 0,
        timestamp: t + 3,
        value: glueFramed(
          avroV2,
          withCurrency.toBuffer({ id: 'o-3', amount: 7, at: AT, currency: 'USD' }),
          'zlib',
        ),
      },
      { partition: 0, timestamp: t + 4, value: glueFramed(jsonV1, Buffer.from('{"id":"o-4","amount":70}')) },
      { partition: 0, timestamp: t + 5, value: glueFramed(randomUUID(), Buffer.from([2, 0x61])) },
      { partition: 0, timestamp: t + MINUTE, value: null },
    ]);
  }

  it('lands Avro (uncompressed and zlib, two versions) and JSON values decoded in NDJSON; an unknown version goes to the errors object', async () => {
    const topic = await createTopic(1);
    await produceWindow(topic);
    const { bucket, config } = await newPipeline(topic, {
      VALUE_FORMAT: 'glue',
      GLUE_SCHEMA_REGISTRY_NAME: registryName,
    });

    await runOnce(config, { now: windowClock(MINUTE) });

    const rows = (
      await Promise.all(
        (await dataKeys(bucket)).map(async (key) => parseNdjson(key, await getObject(bucket, key))),
      )
    ).flat() as Array<{ offset: number; value: unknown; valueEncoding: string }>;
    expect(rows.map((r) => [r.offset, r.valueEncoding, r.value])).toEqual([
      [0, 'json', { id: 'o-1', amount: 1250, at: '2026-12-07T08:00:00.123Z' }],
      [1, 'json', { id: 'o-2', amount: 99, at: '2026-12-07T08:00:00.123Z' }],
      [2, 'json', { id: 'o-3', amount: 7, at: '2026-12-07T08:00:00.123Z', currency: 'USD' }],
      [3, 'json', { id: 'o-4', amount: 70 }],
      // The next window's null value needs no schema.
      [5, null, null],
    ]);
    const errors = await errorRows(bucket);
    expect(errors.map((e) => e.offset)).toEqual([4]);
    expect(errors[0]?.reason).toMatch(/^schema version id [0-9a-f-]{36} is not in the schema registry$/);
  });

  it("sends another registry's version to the errors object here, which the deployed function may not even read", async () => {
    const topic = await createTopic(1);
    const t = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    await produce(topic, [
      {
        partition: 0,
        timestamp: t,
        value: glueFramed(foreignV1, orderType.toBuffer({ id: 'o', amount: 1, at: AT })),
      },
      { partition: 0, timestamp: t + MINUTE, value: null },
    ]);
    const { bucket, config } = await newPipeline(topic, {
      VALUE_FORMAT: 'glue',
      GLUE_SCHEMA_REGISTRY_NAME: registryName,
    });

    await runOnce(config, { now: windowClock(MINUTE) });

    expect((await errorRows(bucket)).map((e) => e.reason)).toEqual([
      `schema version id ${foreignV1} belongs to registry '${otherRegistry}', not to '${registryName}'`,
    ]);
    // Taken out of the recorder: the denial is this test's finding, not a failure of it.
    const findings = await auditCalls(takeCalls(), recordedConfigs(), {
      stackFolder: inject('iamAuditStackFolder'),
    });
    expect(findings).toEqual([
      expect.objectContaining({
        action: 'glue:GetSchemaVersion',
        resource: expect.stringMatching(new RegExp(`:schema/${otherRegistry}/`)),
        result: 'ImplicitlyDenied',
      }),
    ]);
  });

  it('lands them in Parquet as typed value columns, a part per newer version or other schema, with declared columns, read back by DuckDB', async () => {
    const topic = await createTopic(1);
    await produceWindow(topic);
    const { bucket, config } = await newPipeline(topic, {
      VALUE_FORMAT: 'glue',
      GLUE_SCHEMA_REGISTRY_NAME: registryName,
      OUTPUT_FORMAT: 'parquet',
      VALUE_COLUMNS: 'order_id:string:id,amount:bigint:amount,placed_at:timestamp:at',
    });

    const report = await runOnce(config, { now: windowClock(MINUTE) });

    expect(report.errorRecords).toBe(1);
    const rows = [];
    const types = [];
    // Version 1's part ends where version 2 starts; the JSON schema is another schema: a part of its own.
    // The next window's one value is null: its part has no value column.
    const keys = await dataKeys(bucket);
    expect(keys).toHaveLength(4);
    const nullOnly = await queryParquetBytes(
      await getObject(bucket, keys[3] as string),
      (file) => `select count(*) as n, count(*) filter (column_name = 'value') as value_columns
        from (describe select * from read_parquet(${file}))`,
    );
    expect(nullOnly).toEqual([{ n: '10', value_columns: '0' }]);
    for (const key of keys.slice(0, 3)) {
      const part = await queryParquetBytes(
        await getObject(bucket, key),
        (file) => `select "offset", order_id, amount, epoch_ms(placed_at) as at_ms,
            json_extract_string(to_json(value), '$.currency') as currency, typeof(value) as type
          from read_parquet(${file}) where value is not null`,
      );
      types.push(part[0]?.type);
      rows.push(...part.map(({ type: _, ...row }) => row));
    }
    expect(types.slice(0, 2).sort()).toEqual([
      'STRUCT(id VARCHAR, amount BIGINT, "at" TIMESTAMP WITH TIME ZONE)',
      'STRUCT(id VARCHAR, amount BIGINT, "at" TIMESTAMP WITH TIME ZONE, currency VARCHAR)',
    ]);
    rows.sort((a, b) => Number(a.offset) - Number(b.offset));
    expect(rows).toEqual([
      { offset: '0', order_id: 'o-1', amount: '1250', at_ms: String(AT), currency: null },
      { offset: '1', order_id: 'o-2', amount: '99', at_ms: String(AT), currency: null },
      { offset: '2', order_id: 'o-3', amount: '7', at_ms: String(AT), currency: 'USD' },
      { offset: '3', order_id: 'o-4', amount: '70', at_ms: null, currency: null },
    ]);
  });
});
