// Registry-encoded values landed end to end: the real broker, moto and the bed's schema registry, each
// value written by Confluent's own serializers. Avro, Protobuf (its schema registered as .proto text, or
// by the serializer as a descriptor) and JSON Schema values land decoded (NDJSON and Parquet, read back
// by DuckDB); two versions of a subject in one window each read with their own;
// values that cannot be read go to the errors object and nothing is dropped; a registry that is down
// fails the run, which lands nothing, and the next run lands the window once; a retried window writes
// the same bytes.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  AvroSerializer,
  JsonSerializer,
  ProtobufSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../src/core/manifest.js';
import type { ErrorRow } from '../src/core/record-format.js';
import {
  createTopic,
  getObject,
  newPipeline,
  parseNdjson,
  produce,
  readLanded,
  runOnce,
  storedOffsets,
  type TestRecord,
} from './support/bed.js';
import { queryParquetBytes } from './support/duckdb.js';
import { dyingAdapters } from './support/dying-adapters.js';
import { messageDesc, protoRegistry } from './support/proto-descriptor.js';
import {
  AVRO_ORDER_V1,
  AVRO_ORDER_V2,
  REGISTRY_START_TIMEOUT_MS,
  registerSchema,
  registryUrl,
} from './support/registry-bed.js';
import { type RegistryProxy, registryProxy } from './support/registry-proxy.js';
import { expectExactlyOnce, windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
/** A window well in the past, so one run closes it. */
const pastWindow = () => Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
const CREATED_AT = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const CREATED_ISO = new Date(CREATED_AT).toISOString();

const ORDER_AVRO = {
  type: 'record',
  name: 'Order',
  namespace: 'landing',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
    { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    {
      name: 'customer',
      type: {
        type: 'record',
        name: 'Customer',
        fields: [
          { name: 'name', type: 'string' },
          { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['BASIC', 'GOLD'] } },
        ],
      },
    },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

/** Orders as the second message of their file, with a nested message and enum, int64 and a Timestamp. */
const ORDER_PROTO = `syntax = "proto3";
package landing;

import "google/protobuf/timestamp.proto";

message Header {
  string source = 1;
}

message Order {
  enum Status {
    STATUS_UNKNOWN = 0;
    PAID = 1;
    SHIPPED = 2;
  }
  message Line {
    string sku = 1;
    int32 quantity = 2;
  }
  string id = 1;
  int64 amount = 2;
  google.protobuf.Timestamp created_at = 3;
  Status status = 4;
  repeated Line lines = 5;
  Line first_line = 6;
}
`;

const ORDER_JSON_SCHEMA = {
  // The registry takes a JSON schema only when it says which draft it is.
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    id: { type: 'string' },
    amount: { type: 'integer' },
    created_at: { type: 'string' },
    customer: { type: 'object', properties: { name: { type: 'string' } } },
  },
  required: ['id', 'amount'],
};

/** Columns declared on the decoded values, in the Parquet runs. */
const COLUMNS = {
  OUTPUT_FORMAT: 'parquet',
  VALUE_COLUMNS:
    'id:string:id,amount:bigint:amount,created_at:timestamp:created_at,customer:string:customer.name,status:string:status',
};

/** A produced value and the JSON it must land as. */
interface Produced {
  readonly value: Buffer;
  readonly landed: unknown;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Records, one per value, a millisecond apart from `start`, on partition 0. */
const recordsOf = (values: readonly Buffer[], start: number): TestRecord[] =>
  values.map((value, i) => ({ partition: 0, timestamp: start + i, value }));

/** The rows and the error rows of every window landed in `bucket`, in offset order. */
async function landedNdjson(bucket: string) {
  const { manifests } = await readLanded(bucket);
  const rows: Array<{ offset: number; value: unknown; valueEncoding: string }> = [];
  const errors: ErrorRow[] = [];
  for (const object of manifests.flatMap((m) => m.objects)) {
    const parsed = parseNdjson(object.key, await getObject(bucket, object.key));
    if (object.kind === 'data') rows.push(...(parsed as typeof rows));
    else errors.push(...(parsed as ErrorRow[]));
  }
  return {
    manifests,
    rows: rows.sort((a, b) => a.offset - b.offset),
    errors: errors.sort((a, b) => a.offset - b.offset),
  };
}

/** Produces `values` into one past window of `topic`, lands it once as NDJSON, and reads what landed. */
async function landOnce(topic: string, values: readonly Buffer[], registry: string) {
  await produce(topic, recordsOf(values, pastWindow()));
  const { bucket, config } = await newPipeline(topic, {
    VALUE_FORMAT: 'confluent',
    SCHEMA_REGISTRY_URL: registry,
  });
  await runOnce(config, { now: windowClock(MINUTE), seconds: 15 });
  return landedNdjson(bucket);
}

/** The error rows of every window landed in `bucket`, in offset order. */
async function landedErrors(bucket: string): Promise<ErrorRow[]> {
  const errors: ErrorRow[] = [];
  for (const object of (await readLanded(bucket)).manifests.flatMap((m) => m.objects)) {
    if (object.kind === 'errors')
      errors.push(...(parseNdjson(object.key, await getObject(bucket, object.key)) as ErrorRow[]));
  }
  return errors.sort((a, b) => a.offset - b.offset);
}

/** `select` run by DuckDB over each Parquet data object of `bucket`, the rows in offset order. */
async function landedParquet(bucket: string, select: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const object of (await readLanded(bucket)).manifests.flatMap((m) => m.objects)) {
    if (object.kind !== 'data') continue;
    const bytes = await getObject(bucket, object.key);
    rows.push(...(await queryParquetBytes(bytes, (file) => `select ${select} from read_parquet(${file})`)));
  }
  return rows.sort((a, b) => Number(a.offset) - Number(b.offset));
}

/** Every data and errors object of `bucket`'s windows with records, by key, as its SHA-256. */
async function landedObjectHashes(bucket: string): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  const { manifests } = await readLanded(bucket);
  for (const object of manifests.flatMap((m: Manifest) => m.objects)) {
    hashes[object.key] = sha256(await getObject(bucket, object.key));
  }
  return hashes;
}

describe('registry-encoded values landed from the real registry', () => {
  let url = '';
  let client: SchemaRegistryClient;

  beforeAll(async () => {
    url = await registryUrl();
    client = new SchemaRegistryClient({ baseURLs: [url] });
  }, REGISTRY_START_TIMEOUT_MS);

  /** Avro orders under `<subjectTopic>-value`, as Confluent's serializer writes them. */
  async function avroOrders(subjectTopic: string): Promise<Produced[]> {
    await registerSchema(url, `${subjectTopic}-value`, 'AVRO', JSON.stringify(ORDER_AVRO));
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const orders = [
      {
        id: 'a-1',
        amount: 1250,
        created_at: CREATED_AT,
        customer: { name: 'Ada', tier: 'GOLD' },
        tags: ['gift', 'express'],
        note: 'ring twice',
      },
      { id: 'a-2', amount: -7, created_at: 0, customer: { name: 'Bo', tier: 'BASIC' }, tags: [], note: null },
    ];
    return Promise.all(
      orders.map(async (order) => ({
        value: await serializer.serialize(subjectTopic, order),
        landed: { ...order, created_at: new Date(order.created_at).toISOString() },
      })),
    );
  }

  /**
   * Protobuf orders (and one bare nested Line) under `<subjectTopic>-value`: its `.proto` text registered
   * first, or (`descriptor`) registered by the serializer itself, as a base64 FileDescriptorProto.
   */
  async function protobufOrders(
    subjectTopic: string,
    registered: 'text' | 'descriptor',
  ): Promise<Produced[]> {
    if (registered === 'text') await registerSchema(url, `${subjectTopic}-value`, 'PROTOBUF', ORDER_PROTO);
    const descriptors = protoRegistry(ORDER_PROTO, 'landing/orders.proto');
    const order = messageDesc(descriptors, 'landing.Order');
    const line = messageDesc(descriptors, 'landing.Order.Line');
    const serializer = new ProtobufSerializer(
      client,
      SerdeType.VALUE,
      registered === 'text'
        ? { useLatestVersion: true, autoRegisterSchemas: false }
        : { autoRegisterSchemas: true },
    );
    serializer.registry.add(order);
    serializer.registry.add(line);
    const serialize = (message: Parameters<typeof serializer.serialize>[1]) =>
      serializer.serialize(subjectTopic, message);
    const full = create(order, {
      id: 'p-1',
      amount: 9_007_199_254_740_993n,
      createdAt: timestampFromMs(CREATED_AT),
      status: 2,
      lines: [
        { sku: 's-1', quantity: 2 },
        { sku: 's-2', quantity: 1 },
      ],
      firstLine: { sku: 's-1', quantity: 2 },
    });
    return [
      {
        value: await serialize(full),
        landed: {
          id: 'p-1',
          amount: '9007199254740993',
          created_at: CREATED_ISO,
          status: 'SHIPPED',
          lines: [
            { sku: 's-1', quantity: 2 },
            { sku: 's-2', quantity: 1 },
          ],
          first_line: { sku: 's-1', quantity: 2 },
        },
      },
      {
        // Unset fields: scalars as their defaults, messages as null.
        value: await serialize(create(order, { id: 'p-2', amount: 40n })),
        landed: {
          id: 'p-2',
          amount: '40',
          created_at: null,
          status: 'STATUS_UNKNOWN',
          lines: [],
          first_line: null,
        },
      },
      {
        // A nested message written on its own: message indexes [1, 0].
        value: await serialize(create(line, { sku: 's-9', quantity: 5 })),
        landed: { sku: 's-9', quantity: 5 },
      },
    ];
  }

  /** JSON Schema orders under `<subjectTopic>-value`, validated by the serializer. */
  async function jsonSchemaOrders(subjectTopic: string): Promise<Produced[]> {
    await registerSchema(url, `${subjectTopic}-value`, 'JSON', JSON.stringify(ORDER_JSON_SCHEMA));
    const serializer = new JsonSerializer(client, SerdeType.VALUE, {
      useLatestVersion: true,
      validate: true,
    });
    const orders = [
      { id: 'j-1', amount: 70, created_at: CREATED_ISO, customer: { name: 'Cy' } },
      { id: 'j-2', amount: 3 },
    ];
    return Promise.all(
      orders.map(async (order) => ({
        value: await serializer.serialize(subjectTopic, order),
        landed: order,
      })),
    );
  }

  it('lands Avro, Protobuf and JSON Schema values decoded: nested JSON in NDJSON, declared Parquet columns equal to what was produced', async () => {
    const topic = await createTopic(1);
    const produced = [
      ...(await avroOrders(`${topic}.avro`)),
      ...(await protobufOrders(`${topic}.protobuf`, 'text')),
      ...(await jsonSchemaOrders(`${topic}.json`)),
      ...(await protobufOrders(`${topic}.descriptor`, 'descriptor')),
    ];
    // The Order message is the second of its file; its Line the first nested in it.
    expect([...(produced[2]?.value.subarray(5, 7) ?? [])]).toEqual([2, 2]);
    expect([...(produced[4]?.value.subarray(5, 8) ?? [])]).toEqual([4, 2, 0]);
    // The registry returns the serializer's own registration as it was made: a base64 descriptor.
    const selfRegistered = await client.getLatestSchemaMetadata(`${topic}.descriptor-value`);
    expect(selfRegistered.schema).toMatch(/^[A-Za-z0-9+/]+=*$/);
    await produce(
      topic,
      recordsOf(
        produced.map((p) => p.value),
        pastWindow(),
      ),
    );
    const asNdjson = await newPipeline(topic, { VALUE_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: url });
    const asParquet = await newPipeline(topic, {
      VALUE_FORMAT: 'confluent',
      SCHEMA_REGISTRY_URL: url,
      ...COLUMNS,
    });

    await Promise.all(
      [asNdjson, asParquet].map((p) => runOnce(p.config, { now: windowClock(MINUTE), seconds: 15 })),
    );

    const ndjson = await landedNdjson(asNdjson.bucket);
    expect(ndjson.errors).toEqual([]);
    expect(ndjson.rows.map((r) => r.valueEncoding)).toEqual(produced.map(() => 'json'));
    expect(ndjson.rows.map((r) => r.value)).toEqual(produced.map((p) => p.landed));
    // In Parquet the value is a typed column of its schema's shape (a part per schema, and per Protobuf
    // message: Order, then the bare Line), which the declared columns read as they read JSON values.
    const parquet = await landedParquet(
      asParquet.bucket,
      '"offset", id, amount, epoch_ms(created_at) as created_at, customer, status, to_json(value) as value',
    );
    const column = (landed: unknown, path: string) =>
      path
        .split('.')
        .reduce<unknown>((at, step) => (at as Record<string, unknown> | null)?.[step] ?? null, landed);
    expect(parquet).toEqual(
      produced.map(({ landed }, offset) => {
        const createdAt = column(landed, 'created_at');
        const id = column(landed, 'id');
        return {
          offset: String(offset),
          id,
          amount: column(landed, 'amount') === null ? null : String(column(landed, 'amount')),
          created_at: createdAt === null ? null : String(Date.parse(createdAt as string)),
          customer: column(landed, 'customer.name'),
          status: column(landed, 'status'),
          value: expect.stringContaining(id === null ? '"sku":"s-9"' : `"id":"${id}"`),
        };
      }),
    );
    expect(await landedErrors(asParquet.bucket)).toEqual([]);
  });

  it('lands two versions of a subject in one window, each value read with the version it was written with', async () => {
    const topic = await createTopic(1);
    const subject = `${topic}-value`;
    const v1 = await registerSchema(url, subject, 'AVRO', JSON.stringify(AVRO_ORDER_V1));
    const v2 = await registerSchema(url, subject, 'AVRO', JSON.stringify(AVRO_ORDER_V2));
    const withVersion = (id: number) => new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id });
    const values = [
      await withVersion(v1).serialize(topic, { id: 'o-1', amount: 10 }),
      await withVersion(v2).serialize(topic, { id: 'o-2', amount: 20, currency: 'USD' }),
      await withVersion(v1).serialize(topic, { id: 'o-3', amount: 30 }),
    ];
    expect(values.map((v) => v.readInt32BE(1))).toEqual([v1, v2, v1]);

    const { manifests, rows, errors } = await landOnce(topic, values, url);

    expect(errors).toEqual([]);
    expect(manifests.filter((m) => m.totals.records > 0)).toHaveLength(1);
    // Version 1's values have no currency: they are not read with version 2 (which would add 'EUR').
    expect(rows.map((r) => r.value)).toEqual([
      { id: 'o-1', amount: 10 },
      { id: 'o-2', amount: 20, currency: 'USD' },
      { id: 'o-3', amount: 30 },
    ]);
  });

  it('sends an unknown schema id and truncated payloads to the errors object, naming the schema id, and lands the rest', async () => {
    const topic = await createTopic(1);
    const [good, other] = await avroOrders(topic);
    const goodValue = good?.value as Buffer;
    const schemaId = goodValue.readInt32BE(1);
    const unknownId = 2_000_000_000;
    const unknown = Buffer.from(goodValue);
    unknown.writeInt32BE(unknownId, 1);
    const values = [
      goodValue,
      unknown,
      goodValue.subarray(0, goodValue.length - 4),
      goodValue.subarray(0, 5),
      other?.value as Buffer,
    ];

    const { manifests, rows, errors } = await landOnce(topic, values, url);

    expect(rows.map((r) => [r.offset, r.value])).toEqual([
      [0, good?.landed],
      [4, other?.landed],
    ]);
    expect(errors.map((e) => e.offset)).toEqual([1, 2, 3]);
    expect(errors[0]?.reason).toBe(`schema id ${unknownId} is not in the schema registry`);
    for (const truncated of errors.slice(1)) {
      expect(truncated.reason).toMatch(
        new RegExp(`^the value cannot be read with Avro schema id ${schemaId}: `),
      );
    }
    // The record itself is kept, its bytes as they were.
    const kept = errors[1]?.record;
    expect(Buffer.from(kept?.value ?? '', kept?.valueEncoding === 'base64' ? 'base64' : 'utf8')).toEqual(
      values[2],
    );
    // Nothing dropped: every record is a row or an error row, and the manifests count them so.
    expect(rows.length + errors.length).toBe((await storedOffsets(topic)).length);
    const totals = manifests.reduce(
      (sum, m) => ({ records: sum.records + m.totals.records, errors: sum.errors + m.totals.errorRecords }),
      { records: 0, errors: 0 },
    );
    expect(totals).toEqual({ records: 2, errors: 3 });
  });

  describe('with a registry that goes down', () => {
    let proxy: RegistryProxy;

    beforeAll(async () => {
      proxy = await registryProxy(url);
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it('fails the run with a ConnectionError naming the registry, lands nothing, and the next run lands the window once', async () => {
      const topic = await createTopic(1);
      const produced = [...(await avroOrders(`${topic}.avro`)), ...(await jsonSchemaOrders(`${topic}.json`))];
      await produce(
        topic,
        recordsOf(
          produced.map((p) => p.value),
          pastWindow(),
        ),
      );
      const { bucket, config } = await newPipeline(topic, {
        VALUE_FORMAT: 'confluent',
        SCHEMA_REGISTRY_URL: proxy.url,
      });

      proxy.goDown();
      const failed = runOnce(config, { now: windowClock(MINUTE), seconds: 15 });
      await expect(failed).rejects.toMatchObject({
        name: 'ConnectionError',
        kind: 'transient',
        message: expect.stringContaining(
          `the schema registry at ${proxy.url} could not answer for schema id`,
        ),
      });
      expect(proxy.refused()).toBeGreaterThan(0);
      const afterFailure = await readLanded(bucket);
      expect(afterFailure.manifests).toEqual([]);
      expect(afterFailure.records).toEqual([]);
      proxy.comeBack();
      await runOnce(config, { now: windowClock(MINUTE), seconds: 15 });

      const manifests = await expectExactlyOnce(bucket, topic);
      expect(manifests.reduce((sum, m) => sum + m.totals.errorRecords, 0)).toBe(0);
      expect((await landedNdjson(bucket)).rows.map((r) => r.value)).toEqual(produced.map((p) => p.landed));
    });
  });

  it('writes byte-identical Parquet parts when a window is landed again, by another pipeline or after a run died', async () => {
    const topic = await createTopic(2);
    const produced = [
      ...(await avroOrders(`${topic}.avro`)),
      ...(await protobufOrders(`${topic}.protobuf`, 'text')),
      ...(await jsonSchemaOrders(`${topic}.json`)),
    ];
    const start = pastWindow();
    await produce(
      topic,
      produced.map(({ value }, i) => ({ partition: i % 2, timestamp: start + i, value })),
    );
    const variables = { VALUE_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: url, ...COLUMNS };
    const clean = await newPipeline(topic, variables);
    const retried = await newPipeline(topic, variables);

    // One clock for both of the retried pipeline's runs: the second passes the dead run's lease.
    const clock = windowClock(MINUTE);
    await runOnce(clean.config, { now: clock, seconds: 15 });
    await expect(
      runOnce(retried.config, {
        now: clock,
        seconds: 4,
        adapt: (adapters) => dyingAdapters({ kind: 'part-written', occurrence: 1 }, adapters),
      }),
    ).rejects.toThrow(/process died/);
    await sleep(4_000); // the dead run's lease lasts until its deadline
    await runOnce(retried.config, { now: clock, seconds: 15 });

    const expected = await landedObjectHashes(clean.bucket);
    // Each partition's values change schema at each record (Avro, Protobuf, JSON Schema): a part each.
    expect(Object.keys(expected).filter((key) => key.endsWith('.parquet')).length).toBeGreaterThan(2);
    expect(await landedObjectHashes(retried.bucket)).toEqual(expected);
    await expectExactlyOnce(retried.bucket, topic);
  });
});
