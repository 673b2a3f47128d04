// Writes sample orders as Avro in Confluent's wire format, with Confluent's own serializer: registers the
// order schema under `<topic>-value` of the schema registry at SCHEMA_REGISTRY_URL, creates the topic
// (one partition) when it does not exist, and sends the orders with timestamps spread evenly back from
// now, as `produce-sample` does for JSON. For trying `--value-format confluent` against the test bed.
//   node scripts/produce-avro-sample.mjs --topic <name> [--count 200] [--time-spread-seconds 180]
import { parseArgs } from 'node:util';
import { AvroSerializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    topic: { type: 'string' },
    count: { type: 'string', default: '200' },
    'time-spread-seconds': { type: 'string', default: '180' },
  },
});
const registryUrl = process.env.SCHEMA_REGISTRY_URL;
const brokers = process.env.KAFKA_BROKERS;
if (!values.topic || !registryUrl || !brokers) {
  console.error(
    'usage: SCHEMA_REGISTRY_URL=... KAFKA_BROKERS=... node scripts/produce-avro-sample.mjs --topic <name> [--count N] [--time-spread-seconds S]',
  );
  process.exit(2);
}
const topic = values.topic;
const count = Number(values.count);
const spreadMs = Number(values['time-spread-seconds']) * 1000;

const ORDER = {
  type: 'record',
  name: 'Order',
  namespace: 'sample',
  fields: [
    { name: 'order_id', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
    { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    {
      name: 'customer',
      type: {
        type: 'record',
        name: 'Customer',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'vip', type: 'boolean' },
        ],
      },
    },
  ],
};

const client = new SchemaRegistryClient({ baseURLs: [registryUrl] });
await client.register(`${topic}-value`, { schemaType: 'AVRO', schema: JSON.stringify(ORDER) });
const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });

const kafka = new Kafka({
  clientId: 'produce-avro-sample',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
await admin.disconnect();

const now = Date.now();
const messages = [];
for (let i = 0; i < count; i += 1) {
  const timestamp = count === 1 ? now : Math.round(now - spreadMs + (spreadMs * i) / (count - 1));
  const user = `user-${String((i * 37) % 150).padStart(6, '0')}`;
  const order = {
    order_id: `ord-${i}`,
    amount: Math.round(((i * 7919) % 30000) + 100) / 100,
    currency: ORDER.fields[2].type.symbols[i % 3],
    created_at: timestamp,
    customer: { id: user, vip: i % 10 === 0 },
  };
  messages.push({ key: user, value: await serializer.serialize(topic, order), timestamp: String(timestamp) });
}
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
await producer.send({ topic, acks: -1, messages });
await producer.disconnect();
console.log(`produced ${count} Avro orders to ${topic} (schema subject ${topic}-value)`);
