// Registry-decoded values landed as typed Parquet columns: the real broker, moto and the bed's schema
// registry, each value written by Confluent's own serializers, each part read back by DuckDB. The
// `value` column takes the shape of the value's schema (Avro, Protobuf, JSON Schema), with the logical
// types as Parquet's; a window holding two versions of a subject is cut into a part per newer version,
// older values read as the newer one.
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  AvroSerializer,
  JsonSerializer,
  ProtobufSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorRow } from '../src/core/record-format.js';
import {
  createTopic,
  getObject,
  newPipeline,
  parseNdjson,
  produce,
  readLanded,
  runOnce,
  type TestRecord,
} from './support/bed.js';
import { queryParquetBytes } from './support/duckdb.js';
import { messageDesc, protoRegistry } from './support/proto-descriptor.js';
import {
  AVRO_ORDER_V1,
  AVRO_ORDER_V2,
  REGISTRY_START_TIMEOUT_MS,
  registerSchema,
  registryUrl,
} from './support/registry-bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
/** A window well in the past, so one run closes it. */
const pastWindow = () => Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
const CREATED_AT = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** An Avro record with every type the columns map. */
const EVERY_AVRO_TYPE = {
  type: 'record',
  name: 'Reading',
  namespace: 'typed',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'count', type: 'int' },
    { name: 'total', type: 'long' },
    { name: 'ratio', type: 'double' },
    { name: 'weight', type: 'float' },
    { name: 'ok', type: 'boolean' },
    { name: 'raw', type: 'bytes' },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'at_micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'ref', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'place', type: { type: 'record', name: 'Place', fields: [{ name: 'city', type: 'string' }] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'counts', type: { type: 'map', values: 'long' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'either', type: ['string', 'long'] },
  ],
};

const ORDER_PROTO = `syntax = "proto3";
package typed;

import "google/protobuf/timestamp.proto";

message Order {
  message Line {
    string sku = 1;
    int32 quantity = 2;
  }
  string id = 1;
  int64 amount = 2;
  uint64 big = 3;
  google.protobuf.Timestamp created_at = 4;
  repeated Line lines = 5;
  repeated string notes = 6;
}
`;

const ORDER_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    id: { type: 'string' },
    amount: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    customer: { type: 'object', properties: { name: { type: 'string' } } },
    tags: { type: 'array', items: { type: 'string' } },
  },
};

/** Records, one per value, a millisecond apart, on partition 0 of one past window. */
const recordsOf = (values: readonly Buffer[]): TestRecord[] => {
  const start = pastWindow();
  return values.map((value, i) => ({ partition: 0, timestamp: start + i, value }));
};

/**
 * Lands `values` as Parquet with the bed's registry; answers each data part's rows of `select`, and the
 * reasons of the error rows.
 */
async function landParquet(topic: string, values: readonly Buffer[], url: string, select: string) {
  await produce(topic, recordsOf(values));
  const { bucket, config } = await newPipeline(topic, {
    VALUE_FORMAT: 'confluent',
    SCHEMA_REGISTRY_URL: url,
    OUTPUT_FORMAT: 'parquet',
  });
  await runOnce(config, { now: windowClock(MINUTE), seconds: 15 });
  const { manifests } = await readLanded(bucket);
  const parts: Array<Array<Record<string, unknown>>> = [];
  const reasons: string[] = [];
  for (const manifest of manifests) {
    for (const object of manifest.objects.filter((o) => o.kind === 'errors')) {
      const rows = parseNdjson(object.key, await getObject(bucket, object.key)) as ErrorRow[];
      reasons.push(...rows.map((row) => row.reason));
    }
    for (const object of manifest.objects.filter((o) => o.kind === 'data')) {
      const bytes = await getObject(bucket, object.key);
      parts.push(
        await queryParquetBytes(
          bytes,
          (file) => `select ${select} from read_parquet(${file}) order by "offset"`,
        ),
      );
    }
  }
  return { parts, errors: reasons };
}

describe('registry-decoded values as typed Parquet columns', () => {
  let url = '';
  let client: SchemaRegistryClient;

  beforeAll(async () => {
    url = await registryUrl();
    client = new SchemaRegistryClient({ baseURLs: [url] });
  }, REGISTRY_START_TIMEOUT_MS);

  it('gives an Avro value the columns of its schema: structs, lists, maps and the logical types', async () => {
    const topic = await createTopic(1);
    await registerSchema(url, `${topic}-value`, 'AVRO', JSON.stringify(EVERY_AVRO_TYPE));
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const reading = {
      id: 'r-1',
      count: -3,
      total: 1_234_567_890_123_456,
      ratio: 0.25,
      weight: 1.5,
      ok: true,
      raw: Buffer.from([0, 255, 7]),
      level: 'HIGH',
      at: CREATED_AT,
      at_micros: CREATED_AT * 1000 + 9,
      day: 20_455,
      price: Buffer.from([0x30, 0x39]), // 12345 unscaled: 123.45
      ref: '0f8fad5b-d9cb-469f-a165-70867728950e',
      place: { city: 'Lisbon' },
      tags: ['a', 'b'],
      counts: { x: 1, y: 2 },
      note: null,
      either: 42,
    };
    const value = await serializer.serialize(topic, reading);

    const { parts, errors } = await landParquet(
      topic,
      [value],
      url,
      `typeof(value) as type, value.id, value.count, value.total::varchar as total, value.ratio, value.weight,
       value.ok, hex(value.raw) as raw, value.level, epoch_ms(value.at) as at, epoch_us(value.at_micros) as at_micros,
       value.day::varchar as day, value.price::varchar as price, value.ref, value.place.city as city, value.tags,
       value.counts['y'] as y, value.note, value.either`,
    );

    expect(errors).toEqual([]);
    expect(parts).toHaveLength(1);
    const [row] = parts[0] ?? [];
    expect(row?.type).toBe(
      'STRUCT(id VARCHAR, count INTEGER, total BIGINT, ratio DOUBLE, weight FLOAT, ok BOOLEAN, raw BLOB, ' +
        '"level" VARCHAR, "at" TIMESTAMP WITH TIME ZONE, at_micros TIMESTAMP WITH TIME ZONE, "day" DATE, ' +
        'price DECIMAL(10,2), "ref" VARCHAR, place STRUCT(city VARCHAR), tags VARCHAR[], ' +
        'counts MAP(VARCHAR, BIGINT), note VARCHAR, either VARCHAR)',
    );
    expect(row).toMatchObject({
      id: 'r-1',
      count: -3,
      total: '1234567890123456',
      ratio: 0.25,
      weight: 1.5,
      ok: true,
      raw: '00FF07',
      level: 'HIGH',
      at: String(CREATED_AT),
      at_micros: String(CREATED_AT * 1000 + 9),
      day: '2026-01-02',
      price: '123.45',
      ref: '0f8fad5b-d9cb-469f-a165-70867728950e',
      city: 'Lisbon',
      tags: ['a', 'b'],
      y: '2',
      note: null,
      // A union of two types is one JSON text column.
      either: '42',
    });
  });

  it('gives a Protobuf value the columns of its message, and a JSON Schema value those of its properties', async () => {
    const protobufTopic = await createTopic(1);
    await registerSchema(url, `${protobufTopic}-value`, 'PROTOBUF', ORDER_PROTO);
    const descriptors = protoRegistry(ORDER_PROTO, 'typed/orders.proto');
    const order = messageDesc(descriptors, 'typed.Order');
    const protobuf = new ProtobufSerializer(client, SerdeType.VALUE, {
      useLatestVersion: true,
      autoRegisterSchemas: false,
    });
    protobuf.registry.add(order);
    const protobufValue = await protobuf.serialize(
      protobufTopic,
      create(order, {
        id: 'p-1',
        amount: -9_007_199_254_740_993n,
        big: 18_446_744_073_709_551_615n,
        createdAt: timestampFromMs(CREATED_AT),
        lines: [{ sku: 's-1', quantity: 2 }],
        notes: ['fragile'],
      }),
    );
    const jsonTopic = await createTopic(1);
    await registerSchema(url, `${jsonTopic}-value`, 'JSON', JSON.stringify(ORDER_JSON_SCHEMA));
    const json = new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const jsonValue = await json.serialize(jsonTopic, {
      id: 'j-1',
      amount: 70,
      created_at: '2026-01-02T03:04:05.678901Z',
      customer: { name: 'Cy' },
      tags: ['new'],
    });
    // A property the schema does not declare: no column can hold it, so the value goes to the errors.
    const undeclared = await json.serialize(jsonTopic, { id: 'j-2', amount: 1, coupon: 'FREE' });

    const [protobufLanded, jsonLanded] = await Promise.all([
      landParquet(
        protobufTopic,
        [protobufValue],
        url,
        `typeof(value) as type, value.id, value.amount::varchar as amount, value.big::varchar as big,
         epoch_us(value.created_at) as created_at, value.lines[1].sku as sku, value.notes`,
      ),
      landParquet(
        jsonTopic,
        [jsonValue, undeclared],
        url,
        `typeof(value) as type, value.id, value.amount, epoch_us(value.created_at) as created_at,
         value.customer.name as customer, value.tags`,
      ),
    ]);

    expect(protobufLanded.errors).toEqual([]);
    expect(protobufLanded.parts).toEqual([
      [
        {
          type:
            'STRUCT(id VARCHAR, amount BIGINT, big DECIMAL(20,0), created_at TIMESTAMP WITH TIME ZONE, ' +
            'lines STRUCT(sku VARCHAR, quantity INTEGER)[], notes VARCHAR[])',
          id: 'p-1',
          amount: '-9007199254740993',
          big: '18446744073709551615',
          created_at: String(CREATED_AT * 1000),
          sku: 's-1',
          notes: ['fragile'],
        },
      ],
    ]);
    expect(jsonLanded.errors).toEqual([
      "value field 'value' has a field 'coupon' that its schema does not declare, so its columns cannot hold it",
    ]);
    expect(jsonLanded.parts).toEqual([
      [
        {
          type: 'STRUCT(id VARCHAR, amount BIGINT, created_at TIMESTAMP WITH TIME ZONE, customer STRUCT("name" VARCHAR), tags VARCHAR[])',
          id: 'j-1',
          amount: '70',
          created_at: String(CREATED_AT * 1000 + 901),
          customer: 'Cy',
          tags: ['new'],
        },
      ],
    ]);
  });

  it('cuts a part where a newer version of the subject starts, and reads older values after it as the newer version', async () => {
    const topic = await createTopic(1);
    const subject = `${topic}-value`;
    const v1 = await registerSchema(url, subject, 'AVRO', JSON.stringify(AVRO_ORDER_V1));
    const v2 = await registerSchema(url, subject, 'AVRO', JSON.stringify(AVRO_ORDER_V2));
    const withVersion = (id: number) => new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id });
    const values = [
      await withVersion(v1).serialize(topic, { id: 'o-1', amount: 10 }),
      await withVersion(v1).serialize(topic, { id: 'o-2', amount: 20 }),
      await withVersion(v2).serialize(topic, { id: 'o-3', amount: 30, currency: 'USD' }),
      await withVersion(v1).serialize(topic, { id: 'o-4', amount: 40 }),
    ];

    const { parts, errors } = await landParquet(
      topic,
      values,
      url,
      `"offset", typeof(value) as type, to_json(value) as value`,
    );

    expect(errors).toEqual([]);
    // Version 1's part ends where version 2 starts; version 1's later value is read as version 2, whose
    // default fills the field it lacks.
    expect(parts).toEqual([
      [
        { offset: '0', type: 'STRUCT(id VARCHAR, amount BIGINT)', value: '{"id":"o-1","amount":10}' },
        { offset: '1', type: 'STRUCT(id VARCHAR, amount BIGINT)', value: '{"id":"o-2","amount":20}' },
      ],
      [
        {
          offset: '2',
          type: 'STRUCT(id VARCHAR, amount BIGINT, currency VARCHAR)',
          value: '{"id":"o-3","amount":30,"currency":"USD"}',
        },
        {
          offset: '3',
          type: 'STRUCT(id VARCHAR, amount BIGINT, currency VARCHAR)',
          value: '{"id":"o-4","amount":40,"currency":"EUR"}',
        },
      ],
    ]);
  });
});
