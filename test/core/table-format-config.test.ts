// The table format settings: what TABLE_FORMAT=iceberg requires of the other settings, the names and
// catalog it defaults to, and each problem named by its variable. Pure.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems } from './config-problems.js';

const parquetInS3 = {
  KAFKA_BROKERS: 'b1:9092',
  KAFKA_TOPIC: 'Orders.EU-1',
  KAFKA_GROUP_ID: 'landing',
  BATCH_INTERVAL_SECONDS: '60',
  POLL_INTERVAL_SECONDS: '10',
  OUTPUT_BUCKET: 'my-bucket',
  STATE_TABLE: 'state',
  OUTPUT_FORMAT: 'parquet',
};
const iceberg = { ...parquetInS3, TABLE_FORMAT: 'iceberg', ICEBERG_CATALOG_URL: 'http://127.0.0.1:18181' };

describe('table format settings', () => {
  it('lands no table by default', () => {
    expect(loadConfig(parquetInS3).table).toEqual({ format: 'none' });
  });

  it('names the table after the topic in the default namespace', () => {
    expect(loadConfig(iceberg).table).toEqual({
      format: 'iceberg',
      catalogUrl: 'http://127.0.0.1:18181',
      namespace: 'kafka_batch_puller',
      table: 'orders_eu_1',
      signing: 'none',
    });
  });

  it("signs for S3 Tables at the region's endpoint, with the table bucket as warehouse", () => {
    const arn = 'arn:aws:s3tables:eu-west-1:123456789012:bucket/lake';
    const { ICEBERG_CATALOG_URL: _url, ...unsigned } = iceberg;
    const config = loadConfig({
      ...unsigned,
      ICEBERG_SIGNING_SERVICE: 's3tables',
      ICEBERG_WAREHOUSE: arn,
      ICEBERG_NAMESPACE: 'landing',
      ICEBERG_TABLE: 'orders',
      AWS_REGION: 'eu-west-1',
    });
    expect(config.table).toEqual({
      format: 'iceberg',
      catalogUrl: 'https://s3tables.eu-west-1.amazonaws.com/iceberg',
      warehouse: arn,
      namespace: 'landing',
      table: 'orders',
      signing: 's3tables',
      region: 'eu-west-1',
    });
  });

  it.each([
    [
      'NDJSON objects',
      { OUTPUT_FORMAT: 'ndjson' },
      "TABLE_FORMAT iceberg needs OUTPUT_FORMAT parquet (got ndjson): the table's data files are the window's Parquet parts, referred to by their s3:// locations",
    ],
    [
      'a local folder',
      { OUTPUT_BUCKET: '', OUTPUT_DIRECTORY: '/tmp/out' },
      'TABLE_FORMAT iceberg needs an S3 output (OUTPUT_BUCKET; got none)',
    ],
    [
      'no catalog',
      { ICEBERG_CATALOG_URL: '' },
      'ICEBERG_CATALOG_URL is required when TABLE_FORMAT is iceberg',
    ],
    [
      'a catalog that is no URL',
      { ICEBERG_CATALOG_URL: 'catalog:8181' },
      'ICEBERG_CATALOG_URL must be an http://',
    ],
    [
      'an upper-case table',
      { ICEBERG_TABLE: 'Orders' },
      "ICEBERG_TABLE must be 1 to 255 lowercase letters, digits and '_'",
    ],
    ['a namespace with a dot', { ICEBERG_NAMESPACE: 'a.b' }, 'ICEBERG_NAMESPACE must be 1 to 255'],
    ['an unknown format', { TABLE_FORMAT: 'delta' }, 'TABLE_FORMAT must be one of none, iceberg'],
    [
      'signing without a region or warehouse',
      { ICEBERG_SIGNING_SERVICE: 'glue' },
      'AWS_REGION is required when ICEBERG_SIGNING_SERVICE is glue',
    ],
    [
      'signing without a warehouse',
      { ICEBERG_SIGNING_SERVICE: 'glue', AWS_REGION: 'us-east-1' },
      'ICEBERG_WAREHOUSE is required',
    ],
  ])('refuses iceberg with %s, naming the variables', (_case, change, problem) => {
    const problems = configProblems({ ...iceberg, ...change });
    expect(
      problems.some((p) => p.startsWith(problem)),
      problems.join('\n'),
    ).toBe(true);
  });
});
