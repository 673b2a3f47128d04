// Registry-decoded values in the Iceberg table: the real broker, moto, the bed's schema registry and the
// REST catalog, read back by pyiceberg. The table's `value` column takes the Avro schema's shape (a
// struct with a decimal, a list, a map and a nested record) and grows with the subject's next version:
// a field added at the top and one inside the nested record, so rows of the older version's parts read
// them as null, and older values in the newer version's part as the newer version's defaults.

import { AvroSerializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';
import { beforeAll, describe, expect, it } from 'vitest';
import { ICEBERG_METADATA_FOLDER } from '../../src/core/key-layout.js';
import { TableFormat } from '../../src/core/setting-rules.js';
import { createTopic, newPipeline, produce, runOnce, uniqueName } from '../support/bed.js';
import { confluentAvro } from '../support/confluent-wire.js';
import { REGISTRY_START_TIMEOUT_MS, registerSchema, registryUrl } from '../support/registry-bed.js';
import { expectExactlyOnce, windowClock } from '../support/shard-bed.js';
import { catalogUrl, icebergIo, readWithPyiceberg } from './catalog-bed.js';

const MINUTE = 60_000;
const NAMESPACE = 'typed_values_tests';

const ORDER_V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'iceberg',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'stock', type: { type: 'map', values: 'int' } },
    {
      name: 'customer',
      type: { type: 'record', name: 'Customer', fields: [{ name: 'name', type: 'string' }] },
    },
  ],
};

/** Version 2: a top-level field and a field of the nested record added, each with a default (BACKWARD). */
const ORDER_V2 = {
  ...ORDER_V1,
  fields: [
    ...ORDER_V1.fields.slice(0, 4),
    {
      name: 'customer',
      type: {
        type: 'record',
        name: 'Customer',
        fields: [
          { name: 'name', type: 'string' },
          { name: 'tier', type: 'string', default: 'basic' },
        ],
      },
    },
    { name: 'currency', type: 'string', default: 'EUR' },
  ],
};

/** An order of `id` with price `cents` / 100. */
function order(id: string, cents: number, extra: { currency?: string; tier?: string } = {}) {
  const price = Buffer.alloc(4);
  price.writeInt32BE(cents);
  return {
    id,
    price,
    tags: [id],
    stock: { a: cents % 7 },
    customer: { name: `c-${id}`, ...(extra.tier ? { tier: extra.tier } : {}) },
    ...(extra.currency ? { currency: extra.currency } : {}),
  };
}

let catalog: string;
let registry: string;

/**
 * The settings of a pipeline of `topic` that lands registry-decoded values as typed Parquet and in the
 * Iceberg table `table`, its metadata in the pipeline's data folder as the construct places it.
 */
const typedIcebergVariables = (topic: string, table: string) => (bucket: string) => ({
  OUTPUT_FORMAT: 'parquet',
  VALUE_FORMAT: 'confluent',
  SCHEMA_REGISTRY_URL: registry,
  TABLE_FORMAT: 'iceberg',
  ICEBERG_CATALOG_URL: catalog,
  ICEBERG_NAMESPACE: NAMESPACE,
  ICEBERG_TABLE: table,
  ICEBERG_TABLE_LOCATION: `s3://${bucket}/topic=${topic}/${ICEBERG_METADATA_FOLDER}`,
});

beforeAll(async () => {
  [catalog, registry] = await Promise.all([catalogUrl(), registryUrl()]);
  await (await icebergIo(catalog)).catalog.createNamespaceIfMissing([NAMESPACE]);
}, REGISTRY_START_TIMEOUT_MS);

describe('registry-decoded values in an Iceberg table', () => {
  it("gives the table's value column the schema's shape, and grows it, nested fields included, with the next version", async () => {
    const topic = await createTopic(1);
    const client = new SchemaRegistryClient({ baseURLs: [registry] });
    const v1 = await registerSchema(registry, `${topic}-value`, 'AVRO', JSON.stringify(ORDER_V1));
    const v2 = await registerSchema(registry, `${topic}-value`, 'AVRO', JSON.stringify(ORDER_V2));
    const writer = (id: number) => new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id });
    const first = (Math.floor(Date.now() / MINUTE) - 4) * MINUTE;
    const values = [
      // window 1: version 1 only
      [first, await writer(v1).serialize(topic, order('o-1', 1230))],
      // window 2: version 1, then version 2, then version 1 again (read as version 2)
      [first + MINUTE, await writer(v1).serialize(topic, order('o-2', 5))],
      [
        first + MINUTE + 1,
        await writer(v2).serialize(topic, order('o-3', -99, { currency: 'USD', tier: 'gold' })),
      ],
      [first + MINUTE + 2, await writer(v1).serialize(topic, order('o-4', 100000))],
    ] as const;
    await produce(
      topic,
      values.map(([timestamp, value]) => ({ partition: 0, timestamp, value })),
    );
    const table = uniqueName('t').replaceAll('-', '_');
    const { config } = await newPipeline(topic, typedIcebergVariables(topic, table));

    await runOnce(config, { now: windowClock(MINUTE), seconds: 30 });

    const loaded = await (await icebergIo(catalog)).catalog.loadTable({
      namespace: [NAMESPACE],
      name: table,
    });
    const metadata = loaded?.metadata;
    // Created with version 1's shape by the first window, evolved by the second: two schemas.
    expect(metadata?.schemas).toHaveLength(2);
    const current = metadata?.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
    const value = current?.fields.find((f) => f.name === 'value');
    const typeText = (type: unknown): unknown =>
      typeof type === 'string'
        ? type
        : (type as { type: string }).type === 'struct'
          ? Object.fromEntries(
              (type as { fields: { name: string; type: unknown }[] }).fields.map((f) => [
                f.name,
                typeText(f.type),
              ]),
            )
          : (type as { type: string }).type;
    expect(typeText(value?.type)).toEqual({
      id: 'string',
      price: 'decimal(10, 2)',
      tags: 'list',
      stock: 'map',
      customer: { name: 'string', tier: 'string' },
      currency: 'string',
    });

    const read = await readWithPyiceberg(NAMESPACE, table);
    expect(read.snapshots).toHaveLength(2);
    expect(read.rows.map((row) => row.value)).toEqual([
      // version 1's parts have no currency or tier: null
      {
        id: 'o-1',
        price: '12.30',
        tags: ['o-1'],
        stock: [['a', 5]],
        customer: { name: 'c-o-1', tier: null },
        currency: null,
      },
      {
        id: 'o-2',
        price: '0.05',
        tags: ['o-2'],
        stock: [['a', 5]],
        customer: { name: 'c-o-2', tier: null },
        currency: null,
      },
      {
        id: 'o-3',
        price: '-0.99',
        tags: ['o-3'],
        stock: [['a', -1]],
        customer: { name: 'c-o-3', tier: 'gold' },
        currency: 'USD',
      },
      // version 1's value after version 2's, in version 2's part: its defaults
      {
        id: 'o-4',
        price: '1000.00',
        tags: ['o-4'],
        stock: [['a', 5]],
        customer: { name: 'c-o-4', tier: 'basic' },
        currency: 'EUR',
      },
    ]);
  });
});

describe('a window whose schema versions cannot share a column', () => {
  it('fails its commit naming the field, and closes, its parts as written, in a run without the table', async () => {
    const topic = await createTopic(1);
    // Two subjects of one topic (RecordNameStrategy-like): `amount` a long in one, text in the other.
    const asLong = await registerSchema(
      registry,
      `${topic}-long`,
      'AVRO',
      JSON.stringify({ ...ORDER_V1, fields: [{ name: 'amount', type: 'long' }] }),
    );
    const asText = await registerSchema(
      registry,
      `${topic}-text`,
      'AVRO',
      JSON.stringify({ ...ORDER_V1, fields: [{ name: 'amount', type: 'string' }] }),
    );
    const framed = (id: number, type: string, amount: unknown) =>
      confluentAvro(id, { type: 'record', name: 'Order', fields: [{ name: 'amount', type }] }, { amount });
    const start = (Math.floor(Date.now() / MINUTE) - 3) * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: start, value: framed(asLong, 'long', 5) },
      { partition: 0, timestamp: start + 1, value: framed(asText, 'string', 'five') },
    ]);
    const table = uniqueName('t').replaceAll('-', '_');
    const { bucket, config } = await newPipeline(topic, typedIcebergVariables(topic, table));

    await expect(runOnce(config, { now: windowClock(MINUTE), seconds: 30 })).rejects.toMatchObject({
      name: 'TableSchemaMismatchError',
      message: expect.stringContaining('value.amount is long in one schema version and string in another'),
    });
    expect(
      await (await icebergIo(catalog)).catalog.loadTable({ namespace: [NAMESPACE], name: table }),
    ).toBeUndefined();

    // The same pipeline, one run without the table: the window closes by its manifest, every record in it.
    const withoutTable = { ...config, table: { format: TableFormat.NONE } };
    await runOnce(withoutTable, { now: windowClock(MINUTE), seconds: 30 });
    await expectExactlyOnce(bucket, topic);
  });
});
