// The IAM audit: every request the engine, the handler and the steps sent during a test, checked against
// the policies the synthesized stack gives the function's role, as a deployment of the test's pipeline
// would meet them. A request goes to the pipelines whose config names its bucket, table or secret; the
// stack is synthesized in the shape each config needs, with the test's bucket, table, keys and secret
// written in; the KMS requests S3, DynamoDB and Secrets Manager make with the caller's credentials for a
// customer managed key are derived and checked too. A request no pipeline's role allows is a finding.

import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetSchemaVersionCommand, GlueClient } from '@aws-sdk/client-glue';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createDynamoDbClient, createS3Client } from '../../../src/adapters/aws-clients.js';
import type { PullerConfig } from '../../../src/config.js';
import { forArrangement } from './arrangement.js';
import { type AuditStack, auditStack, variantOf, withNames } from './audit-stacks.js';
import { catalogRequestsOf, isCatalogRequestTo } from './catalog-requests.js';
import {
  AUDIT_ACCOUNT,
  type IamRequest,
  iamRequestsOf,
  kmsRequestsFor,
  operationOf,
  serviceOf,
  UnmappedRequestError,
} from './iam-requests.js';
import { CATALOG_CLIENT, type RecordedCall, type Scenario } from './recorder.js';
import { type Principal, simulate } from './simulate.js';
import {
  type CfnTemplate,
  identityPoliciesOf,
  type Physical,
  type PolicyDocument,
  type Resolution,
  resourcePolicyOf,
} from './template.js';

/** Something the audit found wrong with one request. */
export interface Finding {
  readonly scenario: Scenario;
  /** The API operation, e.g. `S3 ListObjectsV2`. */
  readonly origin: string;
  /** The action denied; absent when the request could not be checked at all. */
  readonly action?: string;
  readonly resource?: string;
  readonly context?: Readonly<Record<string, string | string[]>>;
  /** The role that was asked, with its pipeline. */
  readonly role?: string;
  /** What IAM answered, or why the request could not be checked. */
  readonly result: string;
}

/** The identity policies of a role, as the audit evaluates them. */
export type Policies = Array<{ name: string; policy: PolicyDocument }>;

/** How to audit. */
export interface AuditOptions {
  /** Where the run's workers share synthesized stacks. */
  readonly stackFolder?: string;
  /** Changes the function role's policies before they are evaluated: for tests of the audit itself. */
  readonly editPolicies?: (policies: Policies) => Policies;
}

/** A request with what it authorizes, for reports. */
export interface AuditedRequest {
  readonly call: RecordedCall;
  readonly requests: readonly IamRequest[];
}

/** The customer managed keys a test's resources are encrypted with. */
interface ResourceKeys {
  readonly bucketKey?: string;
  readonly tableKey?: string;
  readonly secretKey?: string;
}

let lookups:
  | {
      s3: ReturnType<typeof createS3Client>;
      dynamodb: ReturnType<typeof createDynamoDbClient>;
      secrets: SecretsManagerClient;
      kms: KMSClient;
      glue: GlueClient;
    }
  | undefined;

function arrangementClients() {
  lookups ??= {
    s3: forArrangement(createS3Client()),
    dynamodb: forArrangement(createDynamoDbClient()),
    secrets: forArrangement(new SecretsManagerClient({})),
    kms: forArrangement(new KMSClient({})),
    glue: forArrangement(new GlueClient({})),
  };
  return lookups;
}

/** The ARN of a customer managed key, or undefined for none, an AWS managed key or a missing key. */
async function customerKeyArn(keyId: string | undefined): Promise<string | undefined> {
  if (!keyId) return undefined;
  const described = await arrangementClients()
    .kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    .catch(() => undefined);
  const metadata = described?.KeyMetadata;
  return metadata?.KeyManager === 'CUSTOMER' ? metadata.Arn : undefined;
}

const keyLookups = new Map<string, Promise<string | undefined>>();

function once(key: string, lookup: () => Promise<string | undefined>): Promise<string | undefined> {
  let found = keyLookups.get(key);
  if (!found) {
    found = lookup().catch(() => undefined);
    keyLookups.set(key, found);
  }
  return found;
}

/** What the test's bucket, table and secret are encrypted with, as the emulator says. */
async function resourceKeysOf(config: PullerConfig): Promise<ResourceKeys> {
  const { s3, dynamodb, secrets } = arrangementClients();
  const bucket = config.output.kind === 's3' ? config.output.bucket : undefined;
  const table = config.state.kind === 'dynamodb' ? config.state.table : undefined;
  const secret = config.security.mechanism === 'scram-sha-512' ? config.security.secretArn : undefined;
  const [bucketKey, tableKey, secretKey] = await Promise.all([
    bucket &&
      once(`bucket:${bucket}`, async () => {
        const got = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
        const rule = got.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
        return rule?.SSEAlgorithm === 'aws:kms' ? customerKeyArn(rule.KMSMasterKeyID) : undefined;
      }),
    table &&
      once(`table:${table}`, async () => {
        const got = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
        return customerKeyArn(got.Table?.SSEDescription?.KMSMasterKeyArn);
      }),
    secret &&
      once(`secret:${secret}`, async () => {
        const got = await secrets.send(new DescribeSecretCommand({ SecretId: secret }));
        return customerKeyArn(got.KmsKeyId);
      }),
  ]);
  return {
    ...(bucketKey ? { bucketKey } : {}),
    ...(tableKey ? { tableKey } : {}),
    ...(secretKey ? { secretKey } : {}),
  };
}

/** One pipeline's function role, ready to evaluate requests. */
interface FunctionRole {
  readonly label: string;
  readonly principal: Principal;
  readonly partitionKey: string;
  /** The Iceberg catalog the pipeline commits its windows to, if it does. */
  readonly catalogUrl?: string;
  readonly keys: ResourceKeys;
  readonly bucketPolicy?: PolicyDocument;
  readonly keyPolicies: Readonly<Record<string, PolicyDocument | undefined>>;
}

function partitionKeyOf(template: CfnTemplate, tableId: string): string {
  const schema = (template.Resources[tableId]?.Properties?.KeySchema ?? []) as Array<{
    AttributeName: string;
    KeyType: string;
  }>;
  const hash = schema.find((k) => k.KeyType === 'HASH')?.AttributeName;
  if (!hash) throw new Error('the audit stack has a state table without a partition key');
  return hash;
}

/** The physical identities of the test's resources in `stack`. */
function resolutionOf(stack: AuditStack, config: PullerConfig, keys: ResourceKeys): Resolution {
  const { region } = stack.variant;
  const { ids } = stack;
  const physical: Record<string, Physical> = {};
  if (config.output.kind === 's3') {
    const bucket = config.output.bucket;
    physical[ids.bucket] = { ref: bucket, arn: `arn:aws:s3:::${bucket}` };
  }
  if (config.state.kind === 'dynamodb') {
    const table = config.state.table;
    physical[ids.table] = { ref: table, arn: `arn:aws:dynamodb:${region}:${AUDIT_ACCOUNT}:table/${table}` };
  }
  const key = (id: string | undefined, arn: string | undefined) => {
    if (id && arn) physical[id] = { ref: arn.split('/').at(-1) ?? arn, arn };
  };
  key(ids.bucketKey, keys.bucketKey);
  key(ids.tableKey, keys.tableKey);
  key(ids.secretKey, keys.secretKey);
  if (ids.secret && config.security.mechanism === 'scram-sha-512') {
    physical[ids.secret] = { ref: config.security.secretArn, arn: config.security.secretArn };
  }
  const registryLogin = config.registry?.login;
  if (ids.registrySecret && registryLogin?.kind === 'secret') {
    physical[ids.registrySecret] = { ref: registryLogin.secretArn, arn: registryLogin.secretArn };
  }
  return { region, account: AUDIT_ACCOUNT, physical };
}

const roles = new Map<string, Promise<FunctionRole>>();

async function functionRoleOf(config: PullerConfig, options: AuditOptions): Promise<FunctionRole> {
  const keys = await resourceKeysOf(config);
  const variant = variantOf(config, {
    bucketKey: keys.bucketKey !== undefined,
    tableKey: keys.tableKey !== undefined,
    secretKey: keys.secretKey !== undefined,
  });
  const table = config.table.format === 'iceberg' ? config.table : undefined;
  const glueRegistry = config.glueRegistry?.registryName;
  const stack = withNames(await auditStack(variant, options.stackFolder), {
    topic: config.topic,
    groupId: config.groupId,
    prefix: config.output.prefix,
    ...(table ? { namespace: table.namespace, table: table.table } : {}),
    ...(glueRegistry ? { glueRegistry } : {}),
  });
  const resolution = resolutionOf(stack, config, keys);
  const { ids, template } = stack;
  const policies = identityPoliciesOf(template, ids.functionRole, resolution);
  const keyPolicy = (id: string | undefined) => (id ? resourcePolicyOf(template, id, resolution) : undefined);
  const bucketPolicy = resourcePolicyOf(template, ids.bucket, resolution);
  const shape = Object.entries(variant)
    .filter(([name, value]) => name !== 'region' && value !== false)
    .map(([name, value]) => (value === true ? name : String(value)))
    .join(', ');
  return {
    label: `the function role of pipeline '${config.groupId}|${config.topic}' (stack: ${shape})`,
    principal: {
      arn: `arn:aws:sts::${AUDIT_ACCOUNT}:assumed-role/${ids.functionRole}/audit`,
      account: AUDIT_ACCOUNT,
      identityPolicies: options.editPolicies ? options.editPolicies(policies) : policies,
    },
    partitionKey: partitionKeyOf(template, ids.table),
    ...(table ? { catalogUrl: table.catalogUrl } : {}),
    keys,
    ...(bucketPolicy ? { bucketPolicy } : {}),
    keyPolicies: {
      s3: keyPolicy(ids.bucketKey),
      dynamodb: keyPolicy(ids.tableKey),
      secretsmanager: keyPolicy(ids.secretKey),
    },
  };
}

function roleFor(config: PullerConfig, options: AuditOptions): Promise<FunctionRole> {
  // Edited policies are one test's own: never kept for the others.
  if (options.editPolicies) return functionRoleOf(config, options);
  const key = JSON.stringify(config);
  let role = roles.get(key);
  if (!role) {
    role = functionRoleOf(config, options);
    roles.set(key, role);
  }
  return role;
}

const schemaArns = new Map<string, Promise<string | undefined>>();

/**
 * What Glue authorizes a `GetSchemaVersion` by version id on: the version's schema (whose ARN names its
 * registry), looked up with the tests' own client. A version Glue does not hold has no schema to check
 * the request against (Glue answers EntityNotFound), so it needs no authorization here.
 */
async function schemaVersionRequests(call: RecordedCall): Promise<IamRequest[]> {
  const id = String(call.input.SchemaVersionId ?? '');
  let arn = schemaArns.get(id);
  if (!arn) {
    arn = arrangementClients()
      .glue.send(new GetSchemaVersionCommand({ SchemaVersionId: id }))
      .then((got) => got.SchemaArn)
      .catch(() => undefined);
    schemaArns.set(id, arn);
  }
  const schemaArn = await arn;
  if (schemaArn === undefined) return [];
  // moto's ARNs carry its own region and account: the stack's are the audit's.
  const resource = schemaArn.replace(
    /^arn:aws:glue:[^:]*:[^:]*:/,
    `arn:aws:glue:${call.region}:${AUDIT_ACCOUNT}:`,
  );
  return [{ action: 'glue:GetSchemaVersion', resource, context: {}, origin: 'Glue GetSchemaVersion' }];
}

/** Whether `config` is the pipeline that sent `call`, by the bucket, table or secret the call names. */
function sentBy(config: PullerConfig, call: RecordedCall): boolean {
  const input = call.input;
  if (call.client === CATALOG_CLIENT)
    return config.table.format === 'iceberg' && isCatalogRequestTo(call, config.table.catalogUrl);
  switch (serviceOf(call)) {
    case 's3':
      return config.output.kind === 's3' && input.Bucket === config.output.bucket;
    case 'dynamodb': {
      const tables = input.RequestItems ? Object.keys(input.RequestItems as object) : [input.TableName];
      return config.state.kind === 'dynamodb' && tables.includes(config.state.table);
    }
    case 'glue':
      return config.glueRegistry !== undefined && operationOf(call) === 'GetSchemaVersion';
    case 'secretsmanager': {
      const registryLogin = config.registry?.login;
      return (
        (config.security.mechanism === 'scram-sha-512' && input.SecretId === config.security.secretArn) ||
        (registryLogin?.kind === 'secret' && input.SecretId === registryLogin.secretArn)
      );
    }
    default:
      return false;
  }
}

/** The authorizations `call` needs from `role`: its own, and those of KMS for an encrypted resource. */
async function authorizationsOf(call: RecordedCall, role: FunctionRole): Promise<IamRequest[]> {
  if (call.client === CATALOG_CLIENT && role.catalogUrl) return catalogRequestsOf(call, role.catalogUrl);
  if (serviceOf(call) === 'glue' && operationOf(call) === 'GetSchemaVersion')
    return schemaVersionRequests(call);
  const own = await iamRequestsOf(call, { partitionKey: role.partitionKey });
  const service = serviceOf(call);
  const keyArn = {
    s3: role.keys.bucketKey,
    dynamodb: role.keys.tableKey,
    secretsmanager: role.keys.secretKey,
  }[service as 's3' | 'dynamodb' | 'secretsmanager'];
  return keyArn ? [...own, ...kmsRequestsFor(call, { keyArn, service })] : own;
}

function resourcePolicyFor(request: IamRequest, role: FunctionRole): PolicyDocument | undefined {
  if (request.action.startsWith('s3:')) return role.bucketPolicy;
  if (request.action.startsWith('kms:')) {
    const via = String(request.context['kms:ViaService'] ?? '').split('.')[0] ?? '';
    return role.keyPolicies[via];
  }
  return undefined;
}

/** The denials `role` gives `call`'s authorizations; empty when it allows them all. */
async function denialsBy(call: RecordedCall, role: FunctionRole): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const request of await authorizationsOf(call, role)) {
    const decision = await simulate(role.principal, request, resourcePolicyFor(request, role));
    if (!decision.allowed) {
      findings.push({
        scenario: call.scenario,
        origin: request.origin,
        action: request.action,
        resource: request.resource,
        context: request.context,
        role: role.label,
        result: decision.result,
      });
    }
  }
  return findings;
}

/**
 * Checks `calls` against the function roles of the pipelines in `configs`. A call is allowed when the
 * role of a pipeline that names its resource allows every authorization it needs. Answers the findings:
 * denials, and calls that name no pipeline's resource or that IAM has no action for.
 */
export async function auditCalls(
  calls: readonly RecordedCall[],
  configs: readonly PullerConfig[],
  options: AuditOptions = {},
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const call of calls) {
    const origin = `${call.client.replace(/Client$/, '')} ${operationOf(call)}`;
    const senders = configs.filter((config) => sentBy(config, call));
    // fetch is recorded whole; only requests to a pipeline's catalog are the function's to authorize.
    if (senders.length === 0 && call.client === CATALOG_CLIENT) continue;
    if (senders.length === 0) {
      findings.push({
        scenario: call.scenario,
        origin,
        result: `no pipeline config of this test file names its resource (${describeInput(call)}); a request the test makes itself must go through a client marked forArrangement`,
      });
      continue;
    }
    try {
      let denied: Finding[] | undefined;
      for (const config of senders) {
        const denials = await denialsBy(call, await roleFor(config, options));
        if (denials.length === 0) {
          denied = undefined;
          break;
        }
        denied ??= denials;
      }
      if (denied) findings.push(...denied);
    } catch (error) {
      if (!(error instanceof UnmappedRequestError)) throw error;
      findings.push({ scenario: call.scenario, origin, result: error.message });
    }
  }
  return findings;
}

/** Every authorization `calls` need from their pipelines' roles, for reports. */
export async function authorizationsFor(
  calls: readonly RecordedCall[],
  configs: readonly PullerConfig[],
  options: AuditOptions = {},
): Promise<AuditedRequest[]> {
  const audited: AuditedRequest[] = [];
  for (const call of calls) {
    const config = configs.find((c) => sentBy(c, call));
    if (!config) continue;
    audited.push({ call, requests: await authorizationsOf(call, await roleFor(config, options)) });
  }
  return audited;
}

function describeInput(call: RecordedCall): string {
  const { Bucket, TableName, SecretId, RequestItems } = call.input;
  const named = {
    Bucket,
    TableName,
    SecretId,
    Tables: RequestItems ? Object.keys(RequestItems as object) : undefined,
  };
  return Object.entries(named)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name} ${JSON.stringify(value)}`)
    .join(', ');
}

function describeContext(context: Finding['context']): string {
  const entries = Object.entries(context ?? {}).filter(([key]) => key !== 'aws:SecureTransport');
  return entries.length === 0
    ? ''
    : ` with ${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`;
}

/** A message naming, for each finding, the action, the resource and the test it came from. */
export function describeFindings(findings: readonly Finding[]): string {
  const lines = new Map<string, number>();
  for (const f of findings) {
    const what = f.action
      ? `${f.action} on ${f.resource}${describeContext(f.context)} (for ${f.origin}) is ${f.result} by ${f.role}`
      : `${f.origin} could not be checked: ${f.result}`;
    const line = `${what}\n      in ${f.scenario.file} > ${f.scenario.test}`;
    lines.set(line, (lines.get(line) ?? 0) + 1);
  }
  const listed = [...lines].map(([line, count]) => `  - ${line}${count > 1 ? ` (${count} times)` : ''}`);
  return `IAM audit: ${findings.length} request(s) the deployed role would not allow:\n${listed.join('\n')}`;
}
