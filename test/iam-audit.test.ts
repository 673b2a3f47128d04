// The IAM audit (test/support/iam-audit/) on the scenarios only it can see: a bucket and a table encrypted
// with customer managed keys (S3 and DynamoDB use the keys with the function's credentials), a SCRAM
// secret with its own key, and the audit itself failing when the role lacks one action a run needs.
// Every other integration test is audited too, after each test, by the setup file.
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { PutBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createS3Client } from '../src/adapters/aws-clients.js';
import { createHandler } from '../src/lambda/handler.js';
import { catalogUrl, icebergIo } from './iceberg/catalog-bed.js';
import {
  brokers,
  createBucket,
  createTopic,
  dynamodb,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  s3,
  storedOffsets,
  type TestRecord,
  testConfig,
  uniqueName,
} from './support/bed.js';
import { confluentAvro } from './support/confluent-wire.js';
import { Fault, type FaultProxy, Operation, startFaultProxy } from './support/fault-proxy.js';
import { forArrangement } from './support/iam-audit/arrangement.js';
import { auditCalls, authorizationsFor, describeFindings, type Policies } from './support/iam-audit/audit.js';
import { peekCalls, recordedConfigs, takeCalls } from './support/iam-audit/recorder.js';
import { runThroughProxy } from './support/proxied-adapters.js';
import { registryUrl } from './support/registry-bed.js';

const MINUTE = 60_000;
const kms = forArrangement(new KMSClient({}));
const secrets = forArrangement(new SecretsManagerClient({}));
const options = () => ({ stackFolder: inject('iamAuditStackFolder') });

async function customerKey(): Promise<string> {
  const created = await kms.send(new CreateKeyCommand({ Description: 'kafka-batch-puller IAM audit test' }));
  const arn = created.KeyMetadata?.Arn;
  if (!arn) throw new Error('the emulator created no key');
  return arn;
}

/** A pipeline whose bucket (SSE-KMS, with a Bucket Key) and table are encrypted with their own keys. */
async function encryptedPipeline(topic: string, variables: Record<string, string>) {
  const [bucketKey, tableKey] = [await customerKey(), await customerKey()];
  const bucket = await createBucket();
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: bucketKey },
            BucketKeyEnabled: true,
          },
        ],
      },
    }),
  );
  const table = uniqueName('state');
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pipelineId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pipelineId', KeyType: 'HASH' }],
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: tableKey },
    }),
  );
  const config = testConfig({
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName('g'),
    OUTPUT_BUCKET: bucket,
    OUTPUT_PREFIX: 'landing',
    STATE_TABLE: table,
    ...variables,
  });
  return { bucket, table, bucketKey, tableKey, config };
}

/** The authorizations of this test's requests so far, as `action on resource [via service]`. */
async function authorizationsSoFar(): Promise<string[]> {
  const audited = await authorizationsFor(peekCalls(), recordedConfigs(), options());
  const seen = new Set<string>();
  for (const { requests } of audited) {
    for (const request of requests) {
      const via = request.context['kms:ViaService'];
      seen.add(`${request.action} on ${request.resource}${via ? ` via ${String(via).split('.')[0]}` : ''}`);
    }
  }
  return [...seen];
}

/** The role's policies without `action`, wherever a statement lists it. */
function withoutAction(action: string): (policies: Policies) => Policies {
  return (policies) =>
    policies.map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: policy.Statement.flatMap((statement) => {
          const actions = [statement.Action].flat().filter((a) => a !== action);
          return actions.length === 0 ? [] : [{ ...statement, Action: actions }];
        }),
      },
    }));
}

function lambdaContext(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: uniqueName('req'),
    functionName: 'kafka-batch-puller',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:kafka-batch-puller',
    memoryLimitInMB: '1024',
    logGroupName: '/aws/lambda/kafka-batch-puller',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

describe('the IAM audit', () => {
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy();
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  /**
   * The first manifest is stored but every answer to it is lost, the SDK's retries included: the sink then
   * reads the object back (HeadObject, GetObject) and finds its bytes there.
   */
  function loseManifestAnswers(bucket: string): void {
    proxy.addRule({
      fault: Fault.APPLIED_THEN_500,
      operation: Operation.PUT_OBJECT,
      resource: bucket,
      when: (r) => r.key?.endsWith('_manifest.json') ?? false,
      times: 6,
    });
  }

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('allows a new pipeline, its read-back of a lost answer and its next run on a bucket and a table with customer managed keys', async () => {
    const topic = await createTopic(2);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 6 * MINUTE;
    // Partition 0's first window is over 5 MiB: its part is a multipart upload of two chunks.
    const large: TestRecord[] = Array.from({ length: 6_000 }, (_, i) => ({
      partition: 0,
      timestamp: base + Math.floor((i * MINUTE) / 6_000),
      value: `${i}:${'L'.repeat(1_000)}`,
    }));
    await produce(topic, [...large, { partition: 1, timestamp: base + MINUTE + 1 }]);
    const pipeline = await encryptedPipeline(topic, { PART_SIZE_MB: '8', COMPRESSION: 'none' });
    loseManifestAnswers(pipeline.bucket);

    const first = await runThroughProxy(proxy, pipeline.config, { seconds: 40 });
    const landed = await readLanded(pipeline.bucket);
    // The next run resumes from the saved state (and writes the window now closed, when there is one).
    const next = await runOnce(pipeline.config, { seconds: 10 });

    expect(first.outcome).toBe('caught-up');
    expect(next.outcome).toBe('caught-up');
    expect(landed.records.sort()).toEqual((await storedOffsets(topic)).sort());
    const seen = await authorizationsSoFar();
    const folder = `arn:aws:s3:::${pipeline.bucket}/landing/topic=${topic}/`;
    const actions = new Set(seen.map((s) => s.replace(/ on \S+/, '')));
    expect([...actions].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'kms:Decrypt via dynamodb',
      'kms:Decrypt via s3',
      'kms:GenerateDataKey via s3',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    expect(seen).toContain(`kms:GenerateDataKey on ${pipeline.bucketKey} via s3`);
    expect(seen).toContain(`kms:Decrypt on ${pipeline.tableKey} via dynamodb`);
    expect(seen).toContain(`s3:ListBucket on arn:aws:s3:::${pipeline.bucket}`);
    expect(seen.filter((s) => s.startsWith('s3:GetObject on ')).every((s) => s.includes(folder))).toBe(true);
    expect(await auditCalls(peekCalls(), recordedConfigs(), options())).toEqual([]);
  });

  it('allows the handler to read a SCRAM secret encrypted with a customer managed key', async () => {
    const secretKey = await customerKey();
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: `AmazonMSK_${uniqueName('scram')}`,
        SecretString: JSON.stringify({ username: 'puller', password: 'not-a-real-password' }),
        KmsKeyId: secretKey,
      }),
    );
    const secretArn = created.ARN ?? '';
    const pipeline = await newPipeline(uniqueName('t'));
    const env = {
      // Nothing listens there: the run fails at once, after reading the secret.
      KAFKA_BROKERS: '127.0.0.1:1',
      KAFKA_TOPIC: pipeline.config.topic,
      KAFKA_GROUP_ID: pipeline.groupId,
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '1',
      OUTPUT_BUCKET: pipeline.bucket,
      STATE_TABLE: pipeline.table,
      KAFKA_SECURITY: 'scram-sha-512',
      KAFKA_SASL_SECRET_ARN: secretArn,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    // The handler logs the failed run; the test reads no log.
    for (const stream of [process.stdout, process.stderr])
      vi.spyOn(stream, 'write').mockImplementation(() => true);

    await expect(createHandler()({}, lambdaContext(10_000))).rejects.toThrow();
    vi.restoreAllMocks();

    expect(await authorizationsSoFar()).toEqual(
      expect.arrayContaining([
        `secretsmanager:GetSecretValue on ${secretArn}`,
        `kms:Decrypt on ${secretKey} via secretsmanager`,
      ]),
    );
    expect(await auditCalls(peekCalls(), recordedConfigs(), options())).toEqual([]);
  });

  it("allows a pipeline that decodes registry values to read the registry's login secret", async () => {
    const url = await registryUrl();
    const subject = uniqueName('orders-value');
    const schema = { type: 'record', name: 'Order', fields: [{ name: 'amount', type: 'long' }] };
    const registered = await fetch(`${url}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });
    const { id } = (await registered.json()) as { id: number };
    const value = confluentAvro(id, schema, { amount: 7 });
    const topic = await createTopic(1);
    await produce(topic, [{ partition: 0, timestamp: Date.now() - 3 * MINUTE, value }]);
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: uniqueName('registry-login'),
        SecretString: JSON.stringify({ username: 'puller', password: 'not-a-real-password' }),
      }),
    );
    const pipeline = await newPipeline(topic, {
      VALUE_FORMAT: 'confluent',
      SCHEMA_REGISTRY_URL: url,
      SCHEMA_REGISTRY_SECRET_ARN: created.ARN ?? '',
    });

    await runOnce(pipeline.config, { seconds: 20 });

    expect((await readLanded(pipeline.bucket)).records).toEqual(['0:0']);
    expect(await authorizationsSoFar()).toContain(`secretsmanager:GetSecretValue on ${created.ARN}`);
    expect(await auditCalls(peekCalls(), recordedConfigs(), options())).toEqual([]);
  });

  it('fails, naming the action, the resource and the test, when the role lacks one action a run needs', async () => {
    const topic = await createTopic(1);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: base + 1 },
      { partition: 0, timestamp: base + MINUTE + 1 },
    ]);
    const pipeline = await newPipeline(topic);
    loseManifestAnswers(pipeline.bucket);
    await runThroughProxy(proxy, pipeline.config, { seconds: 20 });
    const calls = peekCalls();

    const audit = (action: string) =>
      auditCalls(calls, recordedConfigs(), { ...options(), editPolicies: withoutAction(action) });
    const noList = await audit('s3:ListBucket');
    const noRead = await audit('s3:GetObject');
    const noPut = await audit('dynamodb:PutItem');

    expect(await auditCalls(calls, recordedConfigs(), options())).toEqual([]);
    expect(noList).toEqual([
      expect.objectContaining({
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${pipeline.bucket}`,
        context: expect.objectContaining({ 's3:prefix': `topic=${topic}/` }),
        origin: 'S3 ListObjectsV2',
        result: 'ImplicitlyDenied',
      }),
    ]);
    expect(new Set(noRead.map((f) => `${f.origin}: ${f.action}`))).toEqual(
      new Set(['S3 HeadObject: s3:GetObject', 'S3 GetObject: s3:GetObject']),
    );
    expect(noPut.length).toBeGreaterThan(0);
    expect(noPut.every((f) => f.action === 'dynamodb:PutItem' && f.origin === 'DynamoDB PutItem')).toBe(true);
    const message = describeFindings(noList);
    expect(message).toContain(`s3:ListBucket on arn:aws:s3:::${pipeline.bucket}`);
    expect(message).toContain(
      'test/iam-audit.test.ts > the IAM audit > fails, naming the action, the resource and the test, when the role lacks one action a run needs',
    );
  });

  it("checks an Iceberg pipeline's catalog requests as Glue's Iceberg REST endpoint authorizes them", async () => {
    const topic = await createTopic(1);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: base + 1, value: '{"amount":1}' },
      { partition: 0, timestamp: base + MINUTE + 1, value: '{"amount":2}' },
    ]);
    // The stack creates the table's database; the run creates the table.
    const url = await catalogUrl();
    const namespace = uniqueName('ns').replaceAll('-', '_');
    const table = uniqueName('t').replaceAll('-', '_');
    await (await icebergIo()).catalog.createNamespaceIfMissing([namespace]);
    const pipeline = await newPipeline(topic, (bucket) => ({
      OUTPUT_FORMAT: 'parquet',
      TABLE_FORMAT: 'iceberg',
      ICEBERG_CATALOG_URL: url,
      ICEBERG_NAMESPACE: namespace,
      ICEBERG_TABLE: table,
      ICEBERG_TABLE_LOCATION: `s3://${bucket}/topic=${topic}/_iceberg`,
    }));
    expect(pipeline.config.table.format).toBe('iceberg');
    await runOnce(pipeline.config, { seconds: 20 });
    const calls = peekCalls();

    const glue = 'arn:aws:glue:us-east-1:123456789012';
    expect(await authorizationsSoFar()).toEqual(
      expect.arrayContaining([
        `glue:GetCatalog on ${glue}:catalog`,
        `glue:GetDatabase on ${glue}:database/${namespace}`,
        `glue:GetTable on ${glue}:table/${namespace}/${table}`,
        `glue:CreateTable on ${glue}:table/${namespace}/${table}`,
        `glue:UpdateTable on ${glue}:table/${namespace}/${table}`,
        expect.stringMatching(
          new RegExp(
            `^s3:PutObject on arn:aws:s3:::${pipeline.bucket}/topic=${topic}/_iceberg/metadata/.+\\.avro$`,
          ),
        ),
      ]),
    );
    expect(await auditCalls(calls, recordedConfigs(), options())).toEqual([]);
    const noCommit = await auditCalls(calls, recordedConfigs(), {
      ...options(),
      editPolicies: withoutAction('glue:UpdateTable'),
    });
    expect(noCommit.length).toBeGreaterThan(0);
    expect(new Set(noCommit.map((f) => f.action))).toEqual(new Set(['glue:UpdateTable']));
    expect(noCommit[0]?.origin).toMatch(/^Iceberg REST POST namespaces\/.+\/tables\/.+ \(UpdateTable\)$/);
  });

  it('finds the database creation a run would need if the stack had not created the database', async () => {
    const topic = await createTopic(1);
    await produce(topic, [{ partition: 0, timestamp: Date.now() - 3 * MINUTE, value: '{}' }]);
    const url = await catalogUrl();
    const namespace = uniqueName('ns').replaceAll('-', '_');
    const pipeline = await newPipeline(topic, (bucket) => ({
      OUTPUT_FORMAT: 'parquet',
      TABLE_FORMAT: 'iceberg',
      ICEBERG_CATALOG_URL: url,
      ICEBERG_NAMESPACE: namespace,
      ICEBERG_TABLE_LOCATION: `s3://${bucket}/topic=${topic}/_iceberg`,
    }));
    await runOnce(pipeline.config, { seconds: 20 });
    // Taken out of the recorder: this test's own audit must not fail on it.
    const findings = await auditCalls(takeCalls(), recordedConfigs(), options());
    expect(new Set(findings.map((f) => `${f.action} ${f.result}`))).toEqual(
      new Set(['glue:CreateDatabase ImplicitlyDenied']),
    );
    expect(findings.map((f) => f.resource)).toContain(
      `arn:aws:glue:us-east-1:123456789012:database/${namespace}`,
    );
  });

  it('reports a request that no pipeline of the test file names, instead of passing it unchecked', async () => {
    const bucket = await createBucket();
    const unmarked = createS3Client();
    await unmarked
      .send(
        new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [] } }),
      )
      .catch(() => {});
    unmarked.destroy();
    // Taken out of the recorder: this test's own audit must not fail on it.
    const calls = takeCalls();

    const findings = await auditCalls(calls, recordedConfigs(), options());

    expect(calls.map((c) => c.command)).toEqual(['PutBucketEncryptionCommand']);
    expect(findings).toEqual([
      expect.objectContaining({
        origin: 'S3 PutBucketEncryption',
        result: expect.stringContaining('no pipeline config of this test file names its resource'),
      }),
    ]);
  });

  it('records nothing the tests send through the clients marked for arrangement', async () => {
    await createBucket();
    await dynamodb.send(
      new CreateTableCommand({
        TableName: uniqueName('state'),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pipelineId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pipelineId', KeyType: 'HASH' }],
      }),
    );
    expect(peekCalls()).toEqual([]);
    expect(brokers().length).toBeGreaterThan(0);
  });
});
