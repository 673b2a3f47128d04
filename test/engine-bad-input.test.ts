// Bad input, each with its exact outcome: nothing is dropped silently, and bad settings or state
// fail clearly without touching anything.
import { createHash } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import type { ErrorRow, OutputRow } from '../src/core/record-format.js';
import { ConnectionError, StateCorruptError, TopicNotFoundError } from '../src/errors.js';
import {
  createTopic,
  dynamodb,
  getObject,
  listKeys,
  newPipeline,
  parseNdjson,
  produce,
  readLanded,
  runOnce,
  uniqueName,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;

async function rowsOf(bucket: string, kind: 'data' | 'errors'): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const manifest of (await readLanded(bucket)).manifests) {
    for (const object of manifest.objects.filter((o) => o.kind === kind)) {
      rows.push(...parseNdjson(object.key, await getObject(bucket, object.key)));
    }
  }
  return rows;
}

const pastWindow = () => Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

describe('bad input', () => {
  it('keeps binary keys and values as base64, null as null, and every repeated header', async () => {
    const topic = await createTopic(1);
    const t = pastWindow();
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    await produce(topic, [
      { partition: 0, timestamp: t + 1, key: binary, value: binary },
      { partition: 0, timestamp: t + 2, key: null, value: null },
      {
        partition: 0,
        timestamp: t + 3,
        key: 'k',
        value: 'héllo',
        headers: { trace: ['a', 'b'], bin: binary },
      },
      { partition: 0, timestamp: t + MINUTE },
    ]);
    const { bucket, config } = await newPipeline(topic);
    await runOnce(config, { now: windowClock(MINUTE) });

    const rows = (await rowsOf(bucket, 'data')) as OutputRow[];
    const [first, second, third] = rows.filter((r) => r.timestamp < t + MINUTE);
    expect(first).toMatchObject({
      key: '//4AgA==',
      keyEncoding: 'base64',
      value: '//4AgA==',
      valueEncoding: 'base64',
    });
    expect(second).toMatchObject({ key: null, keyEncoding: null, value: null, valueEncoding: null });
    expect(third).toMatchObject({ key: 'k', keyEncoding: 'utf8', value: 'héllo', valueEncoding: 'utf8' });
    expect(third?.headers).toEqual([
      { key: 'trace', value: 'a', valueEncoding: 'utf8' },
      { key: 'trace', value: 'b', valueEncoding: 'utf8' },
      { key: 'bin', value: '//4AgA==', valueEncoding: 'base64' },
    ]);
  });

  it('writes a 5 MB record whole', async () => {
    const topic = await createTopic(1);
    const t = pastWindow();
    const big = Buffer.alloc(5 * 1024 * 1024, 'z');
    big.write('start', 0);
    big.write('end', big.length - 3);
    await produce(topic, [
      { partition: 0, timestamp: t + 1, value: 'small' },
      { partition: 0, timestamp: t + 2, value: big },
      { partition: 0, timestamp: t + 3, value: 'after' },
      { partition: 0, timestamp: t + MINUTE },
    ]);
    const { bucket, config } = await newPipeline(topic, { PART_SIZE_MB: '1' });
    await runOnce(config);

    const rows = ((await rowsOf(bucket, 'data')) as OutputRow[]).filter((r) => r.timestamp < t + MINUTE);
    expect(rows.map((r) => r.value?.length)).toEqual([5, big.length, 5]);
    const digest = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(digest(rows[1]?.value ?? '')).toBe(digest(big.toString()));
  });

  it('counts a record stamped far in the past as late, and sends one far in the future to the errors object', async () => {
    // Kafka 4 rejects timestamps over an hour ahead by default; a topic can allow them.
    const topic = await createTopic(1, uniqueName('t'), {
      'message.timestamp.after.max.ms': '9223372036854775807',
    });
    const t = pastWindow();
    const year2100 = Date.parse('2100-01-01T00:00:00Z');
    await produce(topic, [
      { partition: 0, timestamp: t + 1, value: 'first' },
      { partition: 0, timestamp: Date.parse('1999-12-31T23:59:59Z'), value: 'ancient' },
      { partition: 0, timestamp: year2100, value: 'future' },
      { partition: 0, timestamp: t + 2, value: 'second' },
      { partition: 0, timestamp: t + MINUTE },
    ]);
    const { bucket, config } = await newPipeline(topic);
    // One second into a window by this clock, with less time than the rest: no wait for the open window.
    const report = await runOnce(config, { now: windowClock(MINUTE) });

    const window = report.windowsClosed[0]?.manifest;
    expect(window?.window.startMs).toBe(t);
    expect(window?.totals).toMatchObject({ records: 3, lateRecords: 1, errorRecords: 1 });
    const data = (await rowsOf(bucket, 'data')) as OutputRow[];
    expect(data.filter((r) => r.timestamp < t + MINUTE).map((r) => r.value)).toEqual([
      'first',
      'ancient',
      'second',
    ]);
    const errors = (await rowsOf(bucket, 'errors')) as ErrorRow[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      partition: 0,
      offset: 2,
      timestamp: year2100,
      record: { value: 'future' },
    });
    expect(errors[0]?.reason).toMatch(/future/);
  });

  it('skips the empty windows between a record from 1970 and the rest of the topic', async () => {
    const topic = await createTopic(1);
    const t = pastWindow();
    await produce(topic, [
      { partition: 0, timestamp: 1_000, value: 'epoch' },
      { partition: 0, timestamp: t + 1, value: 'now-ish' },
      { partition: 0, timestamp: t + MINUTE },
    ]);
    const { config } = await newPipeline(topic);
    const report = await runOnce(config);

    const starts = report.windowsClosed.map((w) => w.manifest.window.startMs);
    expect(starts[0]).toBe(0);
    expect(starts).toContain(t);
    expect(report.windowsClosed.length).toBeLessThan(20);
  });

  it('sends records whose parse hook throws to the errors object with the reason, and counts them', async () => {
    const topic = await createTopic(2);
    const t = pastWindow();
    await produce(topic, [
      { partition: 0, timestamp: t + 1, value: '{"amount": 3}' },
      { partition: 0, timestamp: t + 2, value: 'not json' },
      { partition: 1, timestamp: t + 3, value: '{"amount": 5}' },
      { partition: 0, timestamp: t + MINUTE, value: '{}' },
      { partition: 1, timestamp: t + MINUTE, value: '{}' },
    ]);
    const { bucket, config } = await newPipeline(topic);
    const report = await runOnce(config, {
      hooks: {
        parseRecord: (row) => ({
          offset: row.offset,
          partition: row.partition,
          ...JSON.parse(row.value ?? ''),
        }),
      },
    });

    expect(report.windowsClosed[0]?.manifest.totals).toMatchObject({ records: 2, errorRecords: 1 });
    const data = await rowsOf(bucket, 'data');
    expect(data.slice(0, 2)).toEqual([
      { offset: 0, partition: 0, amount: 3 },
      { offset: 0, partition: 1, amount: 5 },
    ]);
    const errors = (await rowsOf(bucket, 'errors')) as ErrorRow[];
    expect(errors).toEqual([
      expect.objectContaining({
        partition: 0,
        offset: 1,
        reason: expect.stringMatching(/^parseRecord failed: .*JSON/),
      }),
    ]);
    expect(errors[0]?.record.value).toBe('not json');
    const errorKeys = (await listKeys(bucket)).filter((k) => k.includes('errors/'));
    expect(errorKeys).toHaveLength(1);
  });

  it('fails on a topic that does not exist, before writing any state', async () => {
    const { config, table, pipelineId } = await newPipeline(uniqueName('missing'));
    await expect(runOnce(config)).rejects.toBeInstanceOf(TopicNotFoundError);
    expect(await new DynamoDbStateStore(dynamodb, table).load(pipelineId)).toBeUndefined();
  });

  it('fails within a bounded time on an unreachable broker, before writing any state', async () => {
    const topic = uniqueName('t');
    const { config, table, pipelineId } = await newPipeline(topic, { KAFKA_BROKERS: '127.0.0.1:9' });
    await expect(runOnce(config)).rejects.toBeInstanceOf(ConnectionError);
    expect(await new DynamoDbStateStore(dynamodb, table).load(pipelineId)).toBeUndefined();
  }, 30_000);

  it('refuses a malformed state item with a clear error and leaves it as it is', async () => {
    const topic = await createTopic(1);
    const { config, table, pipelineId } = await newPipeline(topic);
    const item = { pipelineId: { S: pipelineId }, version: { N: '3' }, offsets: { S: 'not a map' } };
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));

    const failure = runOnce(config);
    await expect(failure).rejects.toBeInstanceOf(StateCorruptError);
    await expect(failure).rejects.toThrow(
      new RegExp(`pipeline '${pipelineId.replace('|', '\\|')}' is malformed.*offsets`),
    );
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const after = await dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { pipelineId: { S: pipelineId } } }),
    );
    expect(after.Item).toEqual(item);
  });
});
