// Proves the test bed's schema registry: Confluent's REST API (Apicurio Registry from
// scripts/registry.sh) with Confluent's default BACKWARD compatibility, and values in Confluent's wire
// format written and read back by Confluent's own client for Avro, Protobuf and JSON Schema.
import { create, createFileRegistry, type DescMessage } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';
import {
  AvroDeserializer,
  AvroSerializer,
  JsonDeserializer,
  JsonSerializer,
  ProtobufDeserializer,
  ProtobufSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry';
import { beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './support/bed.js';
import {
  AVRO_ORDER_V1,
  AVRO_ORDER_V2,
  REGISTRY_START_TIMEOUT_MS,
  registryUrl,
} from './support/registry-bed.js';

/** Version 2 plus a field without a default: its readers cannot read older records. */
const ORDER_WITHOUT_DEFAULT = {
  ...AVRO_ORDER_V2,
  fields: [...AVRO_ORDER_V2.fields, { name: 'region', type: 'string' }],
};

/**
 * A Protobuf file of two messages, `bed.Header` then `bed.Order`, as protoc would describe it: the wire
 * format names a message by its indexes in the file, so writing the second one proves they are written.
 */
function ordersProtoFile() {
  const field = (name: string, number: number, type: FieldDescriptorProto_Type) => ({
    name,
    number,
    type,
    label: FieldDescriptorProto_Label.OPTIONAL,
    jsonName: name,
  });
  return createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: 'bed/orders.proto',
      package: 'bed',
      syntax: 'proto3',
      messageType: [
        { name: 'Header', field: [field('source', 1, FieldDescriptorProto_Type.STRING)] },
        {
          name: 'Order',
          field: [
            field('id', 1, FieldDescriptorProto_Type.STRING),
            field('amount', 2, FieldDescriptorProto_Type.INT64),
          ],
        },
      ],
    }),
    () => undefined,
  );
}

/** The schema id a Confluent wire-format value names: a zero byte, then the id in 4 big-endian bytes. */
function schemaIdOf(value: Buffer): number {
  expect(value[0]).toBe(0);
  return value.readInt32BE(1);
}

describe('schema registry bed', () => {
  let url = '';
  let client: SchemaRegistryClient;

  beforeAll(async () => {
    url = await registryUrl();
    client = new SchemaRegistryClient({ baseURLs: [url] });
  }, REGISTRY_START_TIMEOUT_MS);

  async function request(method: string, path: string, body?: unknown) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const registerAvro = (subject: string, schema: object) =>
    request('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(schema) });

  it('registers a BACKWARD-compatible second version and refuses an incompatible one with 409', async () => {
    const subject = `${uniqueName('orders')}-value`;

    const first = await registerAvro(subject, AVRO_ORDER_V1);
    const second = await registerAvro(subject, AVRO_ORDER_V2);
    const refused = await registerAvro(subject, ORDER_WITHOUT_DEFAULT);

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.id).not.toBe(first.body.id);
    expect(refused.status).toBe(409);
    expect((await request('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect((await request('GET', `/subjects/${subject}/versions/latest`)).body).toMatchObject({
      version: 2,
      id: second.body.id,
    });
    const byId = await request('GET', `/schemas/ids/${second.body.id}`);
    expect(JSON.parse(byId.body.schema as string)).toEqual(AVRO_ORDER_V2);
  });

  it('round-trips an Avro value in the wire format, naming the registered schema', async () => {
    const topic = uniqueName('avro');
    const { body } = await registerAvro(`${topic}-value`, AVRO_ORDER_V2);
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const order = { id: 'o-1', amount: 1250, currency: 'USD' };

    const value = await serializer.serialize(topic, order);

    expect(schemaIdOf(value)).toBe(body.id);
    expect(await new AvroDeserializer(client, SerdeType.VALUE, {}).deserialize(topic, value)).toEqual(order);
  });

  it('round-trips a Protobuf value of the second message in its file, with its message index', async () => {
    const topic = uniqueName('protobuf');
    const orderMessage = ordersProtoFile().getMessage('bed.Order') as DescMessage;
    const serializer = new ProtobufSerializer(client, SerdeType.VALUE, { autoRegisterSchemas: true });
    serializer.registry.add(orderMessage);
    const order = create(orderMessage, { id: 'o-2', amount: 990n });

    const value = await serializer.serialize(topic, order);

    const registered = await client.getLatestSchemaMetadata(`${topic}-value`);
    expect(registered.schemaType).toBe('PROTOBUF');
    expect(schemaIdOf(value)).toBe(registered.id);
    // Message indexes as zig-zag varints: a count of 1 (2), then index 1 (2).
    expect([...value.subarray(5, 7)]).toEqual([2, 2]);
    expect(await new ProtobufDeserializer(client, SerdeType.VALUE, {}).deserialize(topic, value)).toEqual(
      order,
    );
  });

  it('round-trips a JSON Schema value, validated against the registered schema', async () => {
    const topic = uniqueName('json');
    const schema = {
      // The registry takes a JSON schema only when it says which draft it is.
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { id: { type: 'string' }, amount: { type: 'integer' } },
      required: ['id', 'amount'],
    };
    const { body } = await request('POST', `/subjects/${topic}-value/versions`, {
      schemaType: 'JSON',
      schema: JSON.stringify(schema),
    });
    const serializer = new JsonSerializer(client, SerdeType.VALUE, {
      useLatestVersion: true,
      validate: true,
    });
    const order = { id: 'o-3', amount: 70 };

    const value = await serializer.serialize(topic, order);

    expect(schemaIdOf(value)).toBe(body.id);
    expect(await new JsonDeserializer(client, SerdeType.VALUE, {}).deserialize(topic, value)).toEqual(order);
    await expect(serializer.serialize(topic, { id: 'o-4' })).rejects.toThrow(/Invalid message/);
  });
});
