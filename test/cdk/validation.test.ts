// Props are checked at synth, all together, with messages that name the prop.
import { Duration, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import {
  KafkaBatchPuller,
  type KafkaBatchPullerProps,
  KafkaSecurityMode,
  OutputFormat,
  type PullerPipelineOptions,
  StartPosition,
  TableFormat,
  ValueFormat,
} from '../../lib/index.js';
import { CLUSTER_ARN, importedVpc, newStack } from './support.js';

const plaintext: KafkaBatchPullerProps = { brokers: ['b:9092'], kafkaSecurity: KafkaSecurityMode.PLAINTEXT };

function addPipeline(options: PullerPipelineOptions): () => void {
  return () => new KafkaBatchPuller(newStack(), 'Puller', plaintext).addPipeline('Orders', options);
}

describe('pipeline options', () => {
  it.each<[string, Partial<PullerPipelineOptions>, RegExp]>([
    [
      'a poll interval not shorter than the batch interval',
      { batchInterval: Duration.minutes(1), pollInterval: Duration.minutes(1) },
      /pollInterval must be shorter than batchInterval, got 1 minute and 1 minute/,
    ],
    [
      'a batch interval of part of a minute',
      { batchInterval: Duration.seconds(90) },
      /batchInterval must be a whole number of minutes from 1 minute to 1 day/,
    ],
    [
      'a batch interval under a minute',
      { batchInterval: Duration.seconds(30) },
      /batchInterval must be a whole number/,
    ],
    [
      'a batch interval over a day',
      { batchInterval: Duration.days(2) },
      /batchInterval must be a whole number/,
    ],
    [
      'a timeout over 15 minutes',
      { timeout: Duration.minutes(20) },
      /timeout must be a whole number of seconds up to 15 minutes/,
    ],
    [
      'a safety margin not shorter than the timeout',
      { timeout: Duration.seconds(30), safetyMargin: Duration.seconds(30) },
      /safetyMargin must be shorter than timeout/,
    ],
    [
      'too little memory',
      { memorySize: 64 },
      /memorySize must be a whole number of MiB from 128 to 10240, got 64/,
    ],
    [
      'a part size below 0.05 MiB',
      { partSize: Size.kibibytes(50) },
      /partSize must be from 0.05 to 4096 MiB, got 0.0488 MiB/,
    ],
    [
      'an unknown compression',
      { compression: 'lz4' as 'gzip' },
      /compression must be one of gzip, none, snappy, zstd, got 'lz4'/,
    ],
    [
      'a compression level beyond gzip',
      { compressionLevel: 12 },
      /compressionLevel must be a whole number from 1 to 9 for gzip \(got 12\)/,
    ],
    [
      'a compression level without a codec that has one',
      { compression: 'none', compressionLevel: 1 },
      /compressionLevel applies to gzip \(1–9\) and zstd \(1–19\); compression none has no level/,
    ],
    [
      'a compression level for Parquet',
      { format: 'parquet', compressionLevel: 1 },
      /compressionLevel applies to NDJSON objects/,
    ],
    [
      'a fetch size above 64 MiB',
      { fetchPartitionSize: Size.mebibytes(65) },
      /fetchPartitionSize must be from 0.01 to 64 MiB, got 65 MiB/,
    ],
    [
      'a fetch queue smaller than one fetch',
      { fetchPartitionSize: Size.mebibytes(8), fetchQueueSize: Size.mebibytes(4) },
      /fetchQueueSize \(4 MiB\) must be at least fetchPartitionSize \(8 MiB\)/,
    ],
    [
      'zero freshness intervals',
      { freshnessAlarmIntervals: 0 },
      /freshnessAlarmIntervals must be a whole number of 1 or more/,
    ],
    ['an invalid topic name', { topic: 'orders and more' }, /topic must be a valid Kafka topic name/],
    [
      'a group id with an IAM wildcard',
      { groupId: 'orders-*' },
      /groupId must be a non-empty literal without '\*' or '\?'/,
    ],
    [
      'an output prefix with a leading slash',
      { outputPrefix: '/landing' },
      /outputPrefix must be empty or '\/'-separated segments/,
    ],
    ['an output prefix with a wildcard', { outputPrefix: 'landing/*' }, /outputPrefix must be empty/],
    [
      'an environment variable the construct sets',
      { environment: { KAFKA_TOPIC: 'other' } },
      /environment must not set KAFKA_TOPIC; the construct sets it from its props/,
    ],
    [
      'a table format variable, which the tableFormat prop sets',
      { environment: { ICEBERG_TABLE: 'other' } },
      /environment must not set ICEBERG_TABLE; the construct sets it from its props/,
    ],
    [
      'an Iceberg table over NDJSON objects',
      { tableFormat: TableFormat.ICEBERG },
      /tableFormat iceberg needs format parquet \(got 'ndjson'\)/,
    ],
    [
      'an Iceberg table beside the Hive-style table of the same name',
      { tableFormat: TableFormat.ICEBERG, format: OutputFormat.PARQUET, glueTable: true },
      /glueTable must not be true with tableFormat iceberg: the Iceberg table 'orders' takes/,
    ],
    [
      'a Hive-style table over typed registry values, whose columns follow the schema',
      { format: OutputFormat.PARQUET, valueFormat: ValueFormat.CONFLUENT, glueTable: true },
      /glueTable must not be true with format parquet and valueFormat confluent: the typed value column follows the registry's schema/,
    ],
    [
      "registry-encoded values without the puller's registry",
      { valueFormat: ValueFormat.CONFLUENT },
      /valueFormat confluent needs the puller's schemaRegistryUrl/,
    ],
    [
      "Glue Schema Registry keys without the puller's registry name",
      { keyFormat: ValueFormat.GLUE },
      /keyFormat glue needs the puller's glueSchemaRegistryName/,
    ],
    [
      'an unknown table format',
      { tableFormat: 'delta' as TableFormat },
      /tableFormat must be one of none, iceberg/,
    ],
  ])('rejects %s, naming the prop', (_case, options, message) => {
    expect(addPipeline({ topic: 'orders', ...options })).toThrow(message);
  });

  it('reports every problem at once, with the pipeline path', () => {
    const attempt = addPipeline({ topic: 'orders', pollInterval: Duration.minutes(2), memorySize: 1 });
    expect(attempt).toThrow(/Invalid props for pipeline Test\/Puller\/Orders/);
    expect(attempt).toThrow(/pollInterval must be shorter than batchInterval[\s\S]*memorySize must be/);
  });

  it('rejects a second pipeline with the same consumer group', () => {
    const puller = new KafkaBatchPuller(newStack(), 'Puller', plaintext);
    puller.addPipeline('Orders', { topic: 'orders', groupId: 'shared' });
    expect(() => puller.addPipeline('Payments', { topic: 'payments', groupId: 'shared' })).toThrow(
      /groupId 'shared' is already used by pipeline 'Orders'; each pipeline needs its own consumer group/,
    );
  });

  it('rejects a second pipeline landing the same topic under the same prefix', () => {
    const puller = new KafkaBatchPuller(newStack(), 'Puller', plaintext);
    puller.addPipeline('Orders', { topic: 'orders', groupId: 'a' });
    expect(() => puller.addPipeline('OrdersAgain', { topic: 'orders', groupId: 'b' })).toThrow(
      /topic 'orders' already lands under outputPrefix ''/,
    );
    expect(() =>
      puller.addPipeline('OrdersCopy', { topic: 'orders', groupId: 'c', outputPrefix: 'copy' }),
    ).not.toThrow();
  });

  it('accepts the longest interval and a start time', () => {
    expect(
      addPipeline({
        topic: 'orders',
        batchInterval: Duration.days(1),
        startPosition: StartPosition.at(new Date(0)),
      }),
    ).not.toThrow();
  });

  it('rejects an invalid start time when it is made', () => {
    expect(() => StartPosition.at(new Date('not a date'))).toThrow(/StartPosition.at needs a valid Date/);
  });
});

describe('puller props', () => {
  function create(props: Partial<KafkaBatchPullerProps>): () => void {
    return () => new KafkaBatchPuller(newStack(), 'Puller', { ...plaintext, ...props });
  }

  it.each<[string, Partial<KafkaBatchPullerProps>, RegExp]>([
    [
      'SCRAM without a secret',
      { kafkaSecurity: KafkaSecurityMode.SCRAM_SHA512 },
      /saslSecret is required when kafkaSecurity is 'scram-sha-512'/,
    ],
    [
      'MSK IAM without a cluster ARN',
      { kafkaSecurity: KafkaSecurityMode.MSK_IAM },
      /mskClusterArn is required when kafkaSecurity is 'msk-iam'/,
    ],
    [
      'MSK IAM with something else than a cluster ARN',
      {
        kafkaSecurity: KafkaSecurityMode.MSK_IAM,
        mskClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:topic/x/y/z',
      },
      /mskClusterArn must be an MSK cluster ARN/,
    ],
    [
      'a cluster ARN with another security mode',
      { kafkaSecurity: KafkaSecurityMode.TLS, mskClusterArn: CLUSTER_ARN },
      /mskClusterArn is used only when kafkaSecurity is 'msk-iam'/,
    ],
    [
      'an unknown security mode',
      { kafkaSecurity: 'sasl-plain' as KafkaSecurityMode },
      /kafkaSecurity must be one of plaintext, tls, scram-sha-512, msk-iam/,
    ],
    ['no brokers', { brokers: [] }, /brokers must list at least one host:port/],
    [
      'a broker without a port',
      { brokers: ['b:9092', 'localhost'] },
      /brokers must each be host:port, got 'localhost'/,
    ],
    ['subnets without a VPC', { vpcSubnets: {} }, /vpcSubnets needs vpc/],
    ['endpoints without a VPC', { createVpcEndpoints: true }, /createVpcEndpoints needs vpc/],
    [
      'a part of a day for aborting uploads',
      { abortIncompleteMultipartUploadAfter: Duration.hours(12) },
      /abortIncompleteMultipartUploadAfter must be a whole number of days, 1 or more/,
    ],
    [
      'an unknown log level',
      { logLevel: 'TRACE' as 'INFO' },
      /logLevel must be one of DEBUG, INFO, WARN, ERROR/,
    ],
  ])('rejects %s, naming the prop', (_case, props, message) => {
    expect(create(props)).toThrow(message);
  });

  it('rejects a secret with another security mode', () => {
    const stack = newStack();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'S', 'AmazonMSK_x');
    expect(() => new KafkaBatchPuller(stack, 'Puller', { ...plaintext, saslSecret: secret })).toThrow(
      /saslSecret and saslSecretEncryptionKey are used only when kafkaSecurity is 'scram-sha-512'/,
    );
  });

  it('rejects bucket settings for a bucket it does not create', () => {
    const stack = newStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'B', 'existing-bucket');
    expect(
      () =>
        new KafkaBatchPuller(stack, 'Puller', {
          ...plaintext,
          bucket,
          serverAccessLogsBucket: bucket,
          abortIncompleteMultipartUploadAfter: Duration.days(2),
        }),
    ).toThrow(
      /serverAccessLogsBucket applies only to a bucket this construct creates[\s\S]*abortIncompleteMultipartUploadAfter applies only/,
    );
  });

  it('accepts a VPC with MSK IAM and a token broker list', () => {
    const stack = newStack();
    expect(
      () =>
        new KafkaBatchPuller(stack, 'Puller', {
          brokers: ['b-1.x.kafka.eu-west-1.amazonaws.com:9098,b-2.x.kafka.eu-west-1.amazonaws.com:9098'],
          kafkaSecurity: KafkaSecurityMode.MSK_IAM,
          mskClusterArn: CLUSTER_ARN,
          vpc: importedVpc(stack),
        }),
    ).not.toThrow();
  });

  it('passes fetch sizes to the function in MiB, and none when they are not set', () => {
    const stack = newStack();
    const puller = new KafkaBatchPuller(stack, 'Puller', plaintext);
    puller.addPipeline('Tuned', {
      topic: 'tuned',
      fetchPartitionSize: Size.kibibytes(512),
      fetchQueueSize: Size.mebibytes(32),
    });
    puller.addPipeline('Plain', { topic: 'plain' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          KAFKA_TOPIC: 'tuned',
          FETCH_PARTITION_MB: '0.5',
          FETCH_QUEUE_MB: '32',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          KAFKA_TOPIC: 'plain',
          FETCH_PARTITION_MB: Match.absent(),
          FETCH_QUEUE_MB: Match.absent(),
        }),
      },
    });
  });

  it('passes a compression level to the function as COMPRESSION_LEVEL, and none when it is not set', () => {
    const stack = newStack();
    const puller = new KafkaBatchPuller(stack, 'Puller', plaintext);
    puller.addPipeline('Fast', { topic: 'fast', compression: 'zstd', compressionLevel: 1 });
    puller.addPipeline('Plain', { topic: 'plain' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ KAFKA_TOPIC: 'fast', COMPRESSION: 'zstd', COMPRESSION_LEVEL: '1' }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          KAFKA_TOPIC: 'plain',
          COMPRESSION: 'gzip',
          COMPRESSION_LEVEL: Match.absent(),
        }),
      },
    });
  });
});
