// Settings are validated once, every problem named, before anything runs.
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller } from '../../lib/kafka-batch-puller.js';
import { KafkaSecurityMode } from '../../lib/kafka-security.js';
import { loadConfig } from '../../src/config.js';
import { zstdAvailable } from '../../src/core/zstd-support.js';
import { configProblems } from './config-problems.js';

const valid = {
  KAFKA_BROKERS: 'b1:9092,b2:9092',
  KAFKA_TOPIC: 'orders',
  KAFKA_GROUP_ID: 'landing',
  BATCH_INTERVAL_SECONDS: '60',
  POLL_INTERVAL_SECONDS: '10',
  OUTPUT_BUCKET: 'my-bucket',
  STATE_TABLE: 'state',
};

const problemsOf = configProblems;

describe('config', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(valid)).toMatchObject({
      brokers: ['b1:9092', 'b2:9092'],
      batchIntervalMs: 60_000,
      pollIntervalMs: 10_000,
      allowedLatenessMs: 10_000,
      startPosition: { kind: 'earliest' },
      output: { kind: 's3', bucket: 'my-bucket', prefix: '' },
      state: { kind: 'dynamodb', table: 'state' },
      compression: 'gzip',
      partSizeBytes: 64 * 1024 * 1024,
      security: { mechanism: 'plaintext' },
      fetch: { maxBytesPerPartition: 1024 * 1024, maxQueuedBytes: 16 * 1024 * 1024 },
      format: 'ndjson',
      keyFormat: 'string',
      valueFormat: 'string',
      columns: [],
    });
  });

  it('defaults Parquet to snappy and checks format, value format, codec and columns together', () => {
    expect(loadConfig({ ...valid, OUTPUT_FORMAT: 'parquet' })).toMatchObject({
      format: 'parquet',
      compression: 'snappy',
    });
    expect(problemsOf({ ...valid, COMPRESSION: 'snappy' })).toEqual([
      'COMPRESSION must be gzip, zstd or none when OUTPUT_FORMAT is ndjson (got snappy)',
    ]);
    expect(problemsOf({ ...valid, OUTPUT_FORMAT: 'csv', VALUE_FORMAT: 'xml' })).toEqual([
      'OUTPUT_FORMAT must be ndjson or parquet',
      'VALUE_FORMAT must be string, json, binary, confluent or glue',
    ]);
    expect(problemsOf({ ...valid, VALUE_COLUMNS: 'id:string:id' })).toEqual([
      'VALUE_COLUMNS needs OUTPUT_FORMAT parquet and VALUE_FORMAT json, confluent or glue',
    ]);
    const parquetJson = { ...valid, OUTPUT_FORMAT: 'parquet', VALUE_FORMAT: 'json' };
    expect(problemsOf({ ...parquetJson, VALUE_COLUMNS: 'offset:bigint:o' })).toEqual([
      "VALUE_COLUMNS column name 'offset' is taken by the envelope or a partition (topic, partition, offset, timestamp, key, key_encoding, value, value_encoding, headers, date, hour, window)",
    ]);
    expect(problemsOf({ ...parquetJson, VALUE_COLUMNS: 'a:int:x' })).toEqual([
      "VALUE_COLUMNS column 'a' has type 'int'; the types are string, bigint, double, boolean, timestamp, json",
    ]);
    expect(problemsOf({ ...parquetJson, VALUE_COLUMNS: 'a:string:x,a:bigint:y' })).toEqual([
      "VALUE_COLUMNS column 'a' is declared twice",
    ]);
    expect(problemsOf({ ...parquetJson, VALUE_COLUMNS: 'a:string' })).toEqual([
      "VALUE_COLUMNS entry 'a:string' must be name:type:path",
    ]);
    const zstd = problemsOf({ ...valid, OUTPUT_FORMAT: 'parquet', COMPRESSION: 'zstd' });
    if (zstdAvailable()) expect(zstd).toEqual([]);
    else expect(zstd).toEqual([expect.stringMatching(/^COMPRESSION zstd needs Node.js 22.15 or later/)]);
  });

  it('takes a compression level per codec, and names the setting when a level does not fit', () => {
    expect(loadConfig(valid).compressionLevel).toBe(6);
    expect(loadConfig({ ...valid, COMPRESSION_LEVEL: '1' }).compressionLevel).toBe(1);
    expect(loadConfig({ ...valid, COMPRESSION: 'none' }).compressionLevel).toBeNull();
    expect(loadConfig({ ...valid, OUTPUT_FORMAT: 'parquet' }).compressionLevel).toBeNull();
    expect(problemsOf({ ...valid, COMPRESSION_LEVEL: '10' })).toEqual([
      'COMPRESSION_LEVEL must be a whole number from 1 to 9 for gzip (got 10)',
    ]);
    expect(problemsOf({ ...valid, COMPRESSION_LEVEL: 'fast' })).toEqual([
      "COMPRESSION_LEVEL must be a whole number (got 'fast')",
    ]);
    expect(problemsOf({ ...valid, COMPRESSION_LEVEL: '2.5' })).toEqual([
      "COMPRESSION_LEVEL must be a whole number (got '2.5')",
    ]);
    expect(problemsOf({ ...valid, COMPRESSION: 'none', COMPRESSION_LEVEL: '1' })).toEqual([
      'COMPRESSION_LEVEL applies to gzip (1–9) and zstd (1–19); compression none has no level',
    ]);
    expect(problemsOf({ ...valid, OUTPUT_FORMAT: 'parquet', COMPRESSION_LEVEL: '1' })).toEqual([
      "COMPRESSION_LEVEL applies to NDJSON objects (gzip 1–9, zstd 1–19); Parquet's snappy codec has no level setting here",
    ]);
    if (zstdAvailable()) {
      expect(loadConfig({ ...valid, COMPRESSION: 'zstd' }).compressionLevel).toBe(3);
      expect(loadConfig({ ...valid, COMPRESSION: 'zstd', COMPRESSION_LEVEL: '19' }).compressionLevel).toBe(
        19,
      );
      expect(problemsOf({ ...valid, COMPRESSION: 'zstd', COMPRESSION_LEVEL: '20' })).toEqual([
        'COMPRESSION_LEVEL must be a whole number from 1 to 19 for zstd (got 20)',
      ]);
    }
  });

  it('takes zstd for NDJSON objects where the runtime has it, and says which Node it needs where not', () => {
    const zstd = problemsOf({ ...valid, COMPRESSION: 'zstd' });
    if (zstdAvailable()) expect(zstd).toEqual([]);
    else {
      expect(zstd).toEqual([
        `COMPRESSION zstd needs Node.js 22.15 or later (this is ${process.version}); use gzip`,
      ]);
    }
  });

  it.each([
    [{ POLL_INTERVAL_SECONDS: '60' }, 'POLL_INTERVAL_SECONDS must be shorter than BATCH_INTERVAL_SECONDS'],
    [
      { BATCH_INTERVAL_SECONDS: '1.5', POLL_INTERVAL_SECONDS: '1' },
      'BATCH_INTERVAL_SECONDS must be a whole number of seconds',
    ],
    [{ KAFKA_BROKERS: 'nohost' }, 'KAFKA_BROKERS must be a comma-separated list of host:port'],
    [{ KAFKA_TOPIC: 'bad topic' }, 'KAFKA_TOPIC must be a valid Kafka topic name'],
    [{ START_POSITION: 'yesterday' }, 'START_POSITION must be earliest, latest or an ISO-8601 time'],
    [{ COMPRESSION: 'zip' }, 'COMPRESSION must be gzip, zstd or none'],
    [
      { KAFKA_SECURITY: 'scram-sha-512' },
      'KAFKA_SASL_SECRET_ARN is required when KAFKA_SECURITY is scram-sha-512',
    ],
    [{ OUTPUT_DIRECTORY: '/tmp/x' }, 'exactly one of OUTPUT_BUCKET or OUTPUT_DIRECTORY must be set'],
    [{ OUTPUT_BUCKET: 'Bad_Bucket' }, "OUTPUT_BUCKET 'Bad_Bucket' is not a valid S3 bucket name"],
    [{ PART_SIZE_MB: '0' }, 'PART_SIZE_MB must be from 0.05 to 4096 MiB, got 0 MiB'],
    [{ FETCH_PARTITION_MB: 'lots' }, 'FETCH_PARTITION_MB must be a number of MiB'],
    [
      { FETCH_PARTITION_MB: '8', FETCH_QUEUE_MB: '4' },
      'FETCH_QUEUE_MB (4 MiB) must be at least FETCH_PARTITION_MB (8 MiB)',
    ],
  ])('rejects %o naming the setting', (override, message) => {
    expect(problemsOf({ ...valid, ...override }).join('\n')).toContain(message);
  });

  it('names every missing required setting at once', () => {
    expect(problemsOf({})).toEqual(
      expect.arrayContaining([
        'KAFKA_BROKERS is required',
        'KAFKA_TOPIC is required',
        'KAFKA_GROUP_ID is required',
      ]),
    );
  });

  it('reads the fetch settings in MiB', () => {
    expect(loadConfig({ ...valid, FETCH_PARTITION_MB: '2', FETCH_QUEUE_MB: '32' }).fetch).toEqual({
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxQueuedBytes: 32 * 1024 * 1024,
    });
  });

  it('reads an ISO-8601 start time', () => {
    expect(loadConfig({ ...valid, START_POSITION: '2026-01-31T00:00:00Z' }).startPosition).toEqual({
      kind: 'timestamp',
      timestampMs: Date.parse('2026-01-31T00:00:00Z'),
    });
  });
});

describe('the config and the construct apply the same broker rule', () => {
  const constructAccepts = (brokers: string) => {
    const stack = new Stack(new App());
    try {
      new KafkaBatchPuller(stack, 'Puller', {
        brokers: [brokers],
        kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
      });
      return true;
    } catch {
      return false;
    }
  };
  const configAccepts = (brokers: string) => problemsOf({ ...valid, KAFKA_BROKERS: brokers }).length === 0;

  it.each(['b1:9092,b2:9092', 'b1:9092, b2:9092', 'b1', 'b1:9092,b2', 'b1:x'])('%j', (brokers) => {
    expect(configAccepts(brokers)).toBe(constructAccepts(brokers));
  });
});
