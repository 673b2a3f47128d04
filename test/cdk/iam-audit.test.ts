// The roles of a synthesized stack, evaluated with the IAM simulator (AWS's evaluation logic and action
// data, as the integration suite's audit uses it): the function's least privilege, request by request;
// the schedule's and the state machine's roles against what Scheduler and Step Functions do with them,
// read from the template; and the soundness of what the audit relies on.
import { describe, expect, it } from 'vitest';
import {
  type AuditStack,
  type PipelineNames,
  PLACEHOLDER_NAMES,
  type StackVariant,
  stackVariant,
  synthesizeAuditStack,
  withNames,
} from '../support/iam-audit/audit-stacks.js';
import {
  AUDIT_ACCOUNT,
  type IamRequest,
  iamRequestsOf,
  kmsRequestsFor,
  UnmappedRequestError,
} from '../support/iam-audit/iam-requests.js';
import type { RecordedCall } from '../support/iam-audit/recorder.js';
import {
  functionServiceRequests,
  type ServiceRequests,
  scheduleRequests,
  sessionOf,
  stateMachineRequests,
} from '../support/iam-audit/service-requests.js';
import { simulate } from '../support/iam-audit/simulate.js';
import {
  type CfnTemplate,
  identityPoliciesOf,
  type PolicyDocument,
  type Resolution,
  resourcePolicyOf,
} from '../support/iam-audit/template.js';

const REGION = 'us-east-1';
const BUCKET = 'landing-bucket';
const TABLE = 'puller-state';
const NAMES: PipelineNames = {
  topic: 'orders.v2',
  groupId: 'orders-to-s3',
  prefix: 'raw/kafka',
  namespace: 'lake',
  table: 'orders_v2',
};
const PIPELINE_ID = `${NAMES.groupId}|${NAMES.topic}`;
const FOLDER = `${NAMES.prefix}/topic=${NAMES.topic}/`;
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${AUDIT_ACCOUNT}:table/${TABLE}`;

const variant = (overrides: Partial<StackVariant> = {}): StackVariant => stackVariant(REGION, overrides);

function resolutionOf(stack: AuditStack): Resolution {
  return {
    region: REGION,
    account: AUDIT_ACCOUNT,
    physical: {
      [stack.ids.bucket]: { ref: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
      [stack.ids.table]: { ref: TABLE, arn: TABLE_ARN },
    },
  };
}

const plain = synthesizeAuditStack(variant()).then((stack) => withNames(stack, NAMES));
const sharded = synthesizeAuditStack(variant({ sharded: true })).then((stack) => withNames(stack, NAMES));

/** IAM's decision for `requests` made with `roleId`'s policies, optionally edited first. */
async function decide(
  stack: AuditStack,
  roleId: string,
  requests: readonly IamRequest[],
  edit: (policies: ReturnType<typeof identityPoliciesOf>) => ReturnType<typeof identityPoliciesOf> = (p) => p,
): Promise<string[]> {
  const resolution = resolutionOf(stack);
  const principal = {
    arn: sessionOf(roleId, 'audit'),
    account: AUDIT_ACCOUNT,
    identityPolicies: edit(identityPoliciesOf(stack.template, roleId, resolution)),
  };
  const bucketPolicy = resourcePolicyOf(stack.template, stack.ids.bucket, resolution);
  return Promise.all(
    requests.map(async (request) => {
      const resourcePolicy = request.action.startsWith('s3:') ? bucketPolicy : undefined;
      return `${request.action} ${(await simulate(principal, request, resourcePolicy)).result}`;
    }),
  );
}

const call = (client: string, operation: string, input: Record<string, unknown>): RecordedCall => ({
  client: `${client}Client`,
  command: `${operation}Command`,
  input,
  region: REGION,
  scenario: { file: 'test/cdk/iam-audit.test.ts', test: 'a unit test' },
});
const requestsOf = async (...calls: RecordedCall[]) =>
  (await Promise.all(calls.map((c) => iamRequestsOf(c, { partitionKey: 'pipelineId' })))).flat();
const key = (pipelineId: string) => ({ pipelineId: { S: pipelineId } });

describe('the function role, request by request', () => {
  const functionDecisions = async (...calls: RecordedCall[]) => {
    const stack = await plain;
    return decide(stack, stack.ids.functionRole, await requestsOf(...calls));
  };

  it('allows what a run sends: its own items, its folders, the listing of its data folder', async () => {
    const part = `${FOLDER}date=2026-01-31/hour=09/window=20260131T090000Z_20260131T090100Z/part-0000-00000.ndjson.gz`;
    const errors = `${NAMES.prefix}/errors/topic=${NAMES.topic}/date=2026-01-31/hour=09/x/part-0000-00000.ndjson.gz`;
    const decisions = await functionDecisions(
      call('DynamoDB', 'GetItem', { TableName: TABLE, Key: key(PIPELINE_ID) }),
      call('DynamoDB', 'PutItem', { TableName: TABLE, Item: key(PIPELINE_ID) }),
      call('DynamoDB', 'PutItem', { TableName: TABLE, Item: key(`${PIPELINE_ID}#p-1#3`) }),
      call('DynamoDB', 'BatchGetItem', {
        RequestItems: { [TABLE]: { Keys: [key(`${PIPELINE_ID}#p-1#0`), key(`${PIPELINE_ID}#p-1#1`)] } },
      }),
      call('S3', 'ListObjectsV2', { Bucket: BUCKET, Prefix: FOLDER }),
      call('S3', 'PutObject', { Bucket: BUCKET, Key: part }),
      call('S3', 'UploadPart', { Bucket: BUCKET, Key: errors, UploadId: 'u' }),
      call('S3', 'AbortMultipartUpload', { Bucket: BUCKET, Key: part, UploadId: 'u' }),
      call('S3', 'HeadObject', { Bucket: BUCKET, Key: part }),
      call('S3', 'GetObject', { Bucket: BUCKET, Key: errors }),
    );
    expect(decisions.every((d) => d.endsWith(' Allowed'))).toBe(true);
  });

  it("denies another pipeline's items, even one whose id starts with this one's, and keyless or deleting requests", async () => {
    const decisions = await functionDecisions(
      call('DynamoDB', 'GetItem', { TableName: TABLE, Key: key(`${NAMES.groupId}|payments`) }),
      call('DynamoDB', 'GetItem', { TableName: TABLE, Key: key(`${PIPELINE_ID}-archive`) }),
      call('DynamoDB', 'PutItem', { TableName: TABLE, Item: key(`other-group|${NAMES.topic}`) }),
      call('DynamoDB', 'BatchGetItem', {
        RequestItems: {
          [TABLE]: { Keys: [key(`${PIPELINE_ID}#p-1#0`), key(`${NAMES.groupId}|payments#p-1#0`)] },
        },
      }),
      call('DynamoDB', 'Scan', { TableName: TABLE }),
      call('DynamoDB', 'Query', { TableName: TABLE }),
      call('DynamoDB', 'DeleteItem', { TableName: TABLE, Key: key(PIPELINE_ID) }),
    );
    expect(decisions).toEqual([
      'dynamodb:GetItem ImplicitlyDenied',
      'dynamodb:GetItem ImplicitlyDenied',
      'dynamodb:PutItem ImplicitlyDenied',
      'dynamodb:BatchGetItem ImplicitlyDenied',
      'dynamodb:Scan ImplicitlyDenied',
      'dynamodb:Query ImplicitlyDenied',
      'dynamodb:DeleteItem ImplicitlyDenied',
    ]);
  });

  it('denies listing anything but its data folder, and reading, writing or deleting outside its folders', async () => {
    const decisions = await functionDecisions(
      call('S3', 'ListObjectsV2', { Bucket: BUCKET }),
      call('S3', 'ListObjectsV2', { Bucket: BUCKET, Prefix: `${NAMES.prefix}/` }),
      call('S3', 'ListObjectsV2', { Bucket: BUCKET, Prefix: `${NAMES.prefix}/topic=payments/` }),
      call('S3', 'ListObjectsV2', {
        Bucket: BUCKET,
        Prefix: `${NAMES.prefix}/topic=${NAMES.topic}-archive/`,
      }),
      call('S3', 'GetObject', { Bucket: BUCKET, Key: `${NAMES.prefix}/topic=payments/x.gz` }),
      call('S3', 'PutObject', { Bucket: BUCKET, Key: `topic=${NAMES.topic}/x.gz` }),
      call('S3', 'DeleteObject', { Bucket: BUCKET, Key: `${FOLDER}x.gz` }),
    );
    expect(decisions).toEqual([
      's3:ListBucket ImplicitlyDenied',
      's3:ListBucket ImplicitlyDenied',
      's3:ListBucket ImplicitlyDenied',
      's3:ListBucket ImplicitlyDenied',
      's3:GetObject ImplicitlyDenied',
      's3:PutObject ImplicitlyDenied',
      's3:DeleteObject ImplicitlyDenied',
    ]);
  });

  it('is denied a plain-HTTP request by the bucket policy, whatever the role allows', async () => {
    const stack = await plain;
    const [put] = await requestsOf(call('S3', 'PutObject', { Bucket: BUCKET, Key: `${FOLDER}x.gz` }));
    const overHttp = { ...(put as IamRequest), context: { 'aws:SecureTransport': 'false' } };
    expect(await decide(stack, stack.ids.functionRole, [overHttp])).toEqual([
      's3:PutObject ExplicitlyDenied',
    ]);
  });
});

describe('the roles AWS services use', () => {
  const checked = async (stack: AuditStack, derive: (t: CfnTemplate, r: Resolution) => ServiceRequests) => {
    const { roleId, requests } = derive(stack.template, resolutionOf(stack));
    return { roleId, requests, decisions: await decide(stack, roleId, requests) };
  };
  const functionArn = (stack: AuditStack) =>
    `arn:aws:lambda:${REGION}:${AUDIT_ACCOUNT}:function:${stack.ids.function}`;

  it("lets Scheduler invoke the function and dead-letter to the failure queue with the schedule's role", async () => {
    const stack = await plain;
    const { roleId, requests, decisions } = await checked(stack, (t, r) =>
      scheduleRequests(t, stack.ids.schedule, r),
    );
    expect(roleId).toBe(stack.ids.schedulerRole);
    expect(requests.map((q) => `${q.action} ${q.resource}`)).toEqual([
      `lambda:InvokeFunction ${functionArn(stack)}`,
      `sqs:SendMessage arn:aws:sqs:${REGION}:${AUDIT_ACCOUNT}:${stack.ids.failureQueue}`,
    ]);
    expect(decisions).toEqual(['lambda:InvokeFunction Allowed', 'sqs:SendMessage Allowed']);
    // Only the function itself: no version or alias.
    const alias = { ...(requests[0] as IamRequest), resource: `${functionArn(stack)}:live` };
    expect(await decide(stack, roleId, [alias])).toEqual(['lambda:InvokeFunction ImplicitlyDenied']);
  });

  it("lets Lambda send a failed invocation to the failure queue with the function's role", async () => {
    const stack = await plain;
    const { roleId, requests, decisions } = await checked(stack, (t, r) =>
      functionServiceRequests(t, stack.ids.function, r),
    );
    expect(roleId).toBe(stack.ids.functionRole);
    expect(requests.map((q) => q.action)).toEqual(['sqs:SendMessage']);
    expect(decisions).toEqual(['sqs:SendMessage Allowed']);
  });

  it('with shards, lets Scheduler start the state machine, and Step Functions invoke the function and log, with their roles', async () => {
    const stack = await sharded;
    const schedule = await checked(stack, (t, r) => scheduleRequests(t, stack.ids.schedule, r));
    const machine = await checked(stack, (t, r) =>
      stateMachineRequests(t, String(stack.ids.stateMachine), r),
    );

    expect(schedule.requests[0]).toMatchObject({
      action: 'states:StartExecution',
      resource: `arn:aws:states:${REGION}:${AUDIT_ACCOUNT}:stateMachine:${stack.ids.stateMachine}`,
    });
    expect(schedule.decisions).toEqual(['states:StartExecution Allowed', 'sqs:SendMessage Allowed']);
    expect(machine.roleId).toBe(stack.ids.stateMachineRole);
    const invocations = machine.requests.filter((q) => q.action === 'lambda:InvokeFunction');
    // Plan, each shard (in the Map), finalize, abandon.
    expect(invocations.length).toBeGreaterThanOrEqual(4);
    expect(new Set(invocations.map((q) => q.resource))).toEqual(new Set([functionArn(stack)]));
    expect(machine.decisions.every((d) => d.endsWith(' Allowed'))).toBe(true);
    // A sharded function has no on-failure destination, so its role has no sqs:SendMessage.
    expect(
      (await checked(stack, (t, r) => functionServiceRequests(t, stack.ids.function, r))).requests,
    ).toEqual([]);
  });

  it('reports the denial when the state machine role lacks the invocation', async () => {
    const stack = await sharded;
    const { roleId, requests } = stateMachineRequests(
      stack.template,
      String(stack.ids.stateMachine),
      resolutionOf(stack),
    );
    const withoutInvoke = (policies: Array<{ name: string; policy: PolicyDocument }>) =>
      policies.map(({ name, policy }) => ({
        name,
        policy: {
          ...policy,
          Statement: policy.Statement.filter((s) => s.Action !== 'lambda:InvokeFunction'),
        },
      }));
    const decisions = await decide(stack, roleId, requests, withoutInvoke);
    expect(decisions.filter((d) => d.startsWith('lambda:'))).not.toContain('lambda:InvokeFunction Allowed');
    expect(decisions).toContain('lambda:InvokeFunction ImplicitlyDenied');
  });
});

describe('what the audit relies on', () => {
  /**
   * The resources that decide an authorization (policies, key policies, the state machine, the schedule),
   * by their properties: their metadata (cdk-nag's suppressions, which escape the names) grants nothing.
   */
  const decisive = (template: CfnTemplate) =>
    Object.fromEntries(
      Object.entries(template.Resources)
        .map(([id, r]) => [id, { Type: r.Type, Properties: r.Properties }] as const)
        .filter(([, r]) =>
          [
            'AWS::IAM::Policy',
            'AWS::IAM::Role',
            'AWS::S3::BucketPolicy',
            'AWS::KMS::Key',
            'AWS::StepFunctions::StateMachine',
            'AWS::Scheduler::Schedule',
          ].includes(r.Type),
        ),
    );

  it('grants, with the names written over the placeholders, what a stack synthesized with the names grants', async () => {
    const shape = variant({
      security: 'scram-sha-512',
      sharded: true,
      parquet: true,
      iceberg: true,
      bucketKey: true,
      tableKey: true,
      secretKey: true,
    });
    const direct = await synthesizeAuditStack(shape, NAMES);
    const written = withNames(await synthesizeAuditStack(shape), NAMES);
    expect(JSON.stringify(written.template)).not.toContain(PLACEHOLDER_NAMES.topic);
    expect(JSON.stringify(written.template)).not.toContain(PLACEHOLDER_NAMES.table);
    expect(decisive(written.template)).toEqual(decisive(direct.template));
    const unprefixed = { ...NAMES, prefix: '' };
    expect(
      decisive(withNames(await synthesizeAuditStack(variant({ prefixed: false })), unprefixed).template),
    ).toEqual(decisive((await synthesizeAuditStack(variant({ prefixed: false }), unprefixed)).template));
  });

  it("maps each SDK operation to the permission AWS documents for it, on the resource's ARN with its condition keys", async () => {
    const requests = await requestsOf(
      call('S3', 'ListObjectsV2', { Bucket: BUCKET, Prefix: FOLDER }),
      call('S3', 'HeadObject', { Bucket: BUCKET, Key: 'a/b' }),
      call('S3', 'CompleteMultipartUpload', { Bucket: BUCKET, Key: 'a/b', UploadId: 'u' }),
      call('DynamoDB', 'BatchGetItem', {
        RequestItems: { one: { Keys: [key('a'), key('a')] }, two: { Keys: [key('b')] } },
      }),
      call('SecretsManager', 'GetSecretValue', {
        SecretId: `arn:aws:secretsmanager:${REGION}:${AUDIT_ACCOUNT}:secret:AmazonMSK_x-AbCdEf`,
      }),
    );
    expect(requests.map(({ action, resource, context }) => ({ action, resource, context }))).toEqual([
      {
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${BUCKET}`,
        context: { 's3:prefix': FOLDER, 'aws:SecureTransport': 'true' },
      },
      {
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${BUCKET}/a/b`,
        context: { 'aws:SecureTransport': 'true' },
      },
      {
        action: 's3:PutObject',
        resource: `arn:aws:s3:::${BUCKET}/a/b`,
        context: { 'aws:SecureTransport': 'true' },
      },
      {
        action: 'dynamodb:BatchGetItem',
        resource: `arn:aws:dynamodb:${REGION}:${AUDIT_ACCOUNT}:table/one`,
        context: { 'dynamodb:LeadingKeys': ['a'] },
      },
      {
        action: 'dynamodb:BatchGetItem',
        resource: `arn:aws:dynamodb:${REGION}:${AUDIT_ACCOUNT}:table/two`,
        context: { 'dynamodb:LeadingKeys': ['b'] },
      },
      {
        action: 'secretsmanager:GetSecretValue',
        resource: `arn:aws:secretsmanager:${REGION}:${AUDIT_ACCOUNT}:secret:AmazonMSK_x-AbCdEf`,
        context: {},
      },
    ]);
    expect(
      kmsRequestsFor(call('S3', 'PutObject', { Bucket: BUCKET, Key: 'a' }), {
        keyArn: 'arn:k',
        service: 's3',
      }),
    ).toEqual([
      expect.objectContaining({
        action: 'kms:GenerateDataKey',
        resource: 'arn:k',
        context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:CallerAccount': AUDIT_ACCOUNT },
      }),
    ]);
  });

  it('refuses an operation it has no permission for, rather than passing it unchecked', async () => {
    await expect(requestsOf(call('S3', 'SelectObjectContentV9', { Bucket: BUCKET }))).rejects.toBeInstanceOf(
      UnmappedRequestError,
    );
  });
});
