// Proves the test bed itself: a real Kafka broker that kafkajs can use, S3 + DynamoDB on the emulator,
// and an Iceberg REST catalog on the loopback address only.
import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient, createS3Client } from '../src/adapters/aws-clients.js';
import { catalogUrl } from './iceberg/catalog-bed.js';
import { forArrangement } from './support/iam-audit/arrangement.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');

describe('test bed', () => {
  it('round-trips 1,000 records through a 3-partition topic on the real broker', async () => {
    const kafka = new Kafka({ clientId: 'bed-test', brokers, logLevel: logLevel.NOTHING });
    const topic = `bed-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 17}`, value: `v${i}` }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `bed-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: string[] = [];
    const partitions = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          partitions.add(partition);
          received.push(message.value?.toString() ?? '');
          if (received.length === sent.length) resolve();
        },
      });
    });
    await consumer.disconnect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();

    expect(received.sort()).toEqual(sent.map((m) => m.value).sort());
    expect(partitions).toEqual(new Set([0, 1, 2]));
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1000);
  });

  it('puts and gets an S3 object on the emulator', async () => {
    const s3 = forArrangement(createS3Client());
    const bucket = `bed-${randomUUID()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'hello bed' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello bed');
  });

  it('rejects a DynamoDB conditional write whose condition fails', async () => {
    const dynamodb = forArrangement(createDynamoDbClient());
    const table = `bed-${randomUUID()}`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const putIfAbsent = new PutItemCommand({
      TableName: table,
      Item: { pk: { S: 'one' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    await dynamodb.send(putIfAbsent);
    await expect(dynamodb.send(putIfAbsent)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('lets exactly one of six concurrent conditional writes to one item win, as DynamoDB does', async () => {
    // Shards record their parts in one item at the same moment: an emulator that let two conditional
    // writes both win would lose a part (moto's own server does, about one round in three).
    const dynamodb = forArrangement(createDynamoDbClient());
    const table = `bed-${randomUUID()}`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    // A state-sized item, so that checking the condition and writing take long enough to overlap.
    const body = {
      L: Array.from({ length: 300 }, (_, i) => ({ M: { key: { S: `part-${i}-${'x'.repeat(50)}` } } })),
    };
    const winners: number[] = [];
    for (let round = 0; round < 30; round++) {
      const pk = { S: `round-${round}` };
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk, version: { N: '0' }, body } }));
      const writes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, writer) =>
          dynamodb.send(
            new PutItemCommand({
              TableName: table,
              Item: { pk, version: { N: '1' }, writer: { N: String(writer) }, body },
              ConditionExpression: 'version = :read',
              ExpressionAttributeValues: { ':read': { N: '0' } },
            }),
          ),
        ),
      );
      winners.push(writes.filter((w) => w.status === 'fulfilled').length);
    }
    expect(winners.filter((n) => n !== 1)).toEqual([]);
  });

  it('serves the Iceberg catalog on 127.0.0.1 and on no other address of the machine', async () => {
    const url = new URL(await catalogUrl());
    const answers = (host: string) =>
      fetch(`http://${host}:${url.port}/v1/config`, { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.status,
        () => 'no answer',
      );
    expect(await answers('127.0.0.1')).toBe(200);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a?.address as string);
    for (const address of others) expect([address, await answers(address)]).toEqual([address, 'no answer']);
  });
});
