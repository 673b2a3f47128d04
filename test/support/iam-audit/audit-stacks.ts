// The stacks the IAM audit checks requests against: a KafkaBatchPuller with one pipeline, synthesized as
// `cdk synth` would (the prebuilt handler, no bundling), in the shape a test's pipeline needs (Kafka
// security, a prefix, shards, Parquet with its Glue table, customer managed keys on the bucket, the table
// and the secret). Each shape is synthesized once with placeholder names and kept (in memory, and in a
// folder shared by the run's workers): loading aws-cdk-lib and synthesizing take seconds, and the suite
// lands hundreds of pipelines. A pipeline's own names (topic, group, prefix) are then written over the
// placeholders: the construct uses them only as text in ARNs, conditions and descriptions, which
// test/cdk/iam-audit.test.ts checks against a stack synthesized with the names themselves.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KafkaSecurity, PullerConfig } from '../../../src/config.js';
import { AUDIT_ACCOUNT } from './iam-requests.js';
import type { CfnTemplate } from './template.js';

/** What a test's pipeline needs of the stack: its shape, not its names. */
export interface StackVariant {
  readonly region: string;
  readonly security: KafkaSecurity['mechanism'];
  readonly prefixed: boolean;
  readonly sharded: boolean;
  readonly parquet: boolean;
  readonly bucketKey: boolean;
  readonly tableKey: boolean;
  readonly secretKey: boolean;
  /** The functions run in a VPC (no test's pipeline does; the docs' permission table has a row for it). */
  readonly vpc?: boolean;
  /** Windows are committed to an Iceberg table in the Glue Data Catalog (Parquet with it). */
  readonly iceberg?: boolean;
  /** Values are decoded with a schema registry whose login is a secret (with its own key, or not). */
  readonly registrySecret?: 'plain' | 'with-key';
  /** Values are decoded with a Glue Schema Registry. */
  readonly glueRegistry?: boolean;
}

/** The plainest stack in `region` (plaintext, a prefix, one shard, NDJSON, no customer keys), with `overrides`. */
export function stackVariant(region: string, overrides: Partial<StackVariant> = {}): StackVariant {
  return {
    region,
    security: 'plaintext',
    prefixed: true,
    sharded: false,
    parquet: false,
    bucketKey: false,
    tableKey: false,
    secretKey: false,
    ...overrides,
  };
}

/** The logical IDs of what the audit resolves and checks. */
export interface AuditStackIds {
  readonly functionRole: string;
  readonly function: string;
  readonly schedulerRole: string;
  readonly schedule: string;
  readonly stateMachineRole?: string;
  readonly stateMachine?: string;
  readonly bucket: string;
  readonly table: string;
  readonly failureQueue: string;
  readonly bucketKey?: string;
  readonly tableKey?: string;
  readonly secret?: string;
  readonly secretKey?: string;
  readonly registrySecret?: string;
  readonly registrySecretKey?: string;
}

/** A synthesized audit stack. */
export interface AuditStack {
  readonly variant: StackVariant;
  readonly template: CfnTemplate;
  readonly ids: AuditStackIds;
}

/** The names a pipeline's stack is synthesized with before a test's names are written over them. */
export const PLACEHOLDER_NAMES = {
  topic: 'kbp-audit-topic',
  groupId: 'kbp-audit-group',
  prefix: 'kbp-audit-prefix',
  namespace: 'kbp_audit_namespace',
  table: 'kbp_audit_table',
  glueRegistry: 'kbp-audit-glue-registry',
} as const;

/** A pipeline's own names. */
export interface PipelineNames {
  readonly topic: string;
  readonly groupId: string;
  /** '' for none. */
  readonly prefix: string;
  /** The Iceberg table's namespace (the Glue database), for a stack with one. */
  readonly namespace?: string;
  /** The Iceberg table's name, for a stack with one. */
  readonly table?: string;
  /** The Glue Schema Registry's name, for a stack with one. */
  readonly glueRegistry?: string;
}

/** The MSK cluster of an audit stack with `msk-iam`. */
export const AUDIT_MSK_CLUSTER = {
  name: 'audit-cluster',
  uuid: '0a1b2c3d-1111-2222-3333-444455556666-1',
} as const;
const MSK_CLUSTER_ARN = (region: string) =>
  `arn:aws:kafka:${region}:${AUDIT_ACCOUNT}:cluster/${AUDIT_MSK_CLUSTER.name}/${AUDIT_MSK_CLUSTER.uuid}`;

/** The stack shape a pipeline config needs, with what the test's resources say about their keys. */
export function variantOf(
  config: PullerConfig,
  keys: { bucketKey: boolean; tableKey: boolean; secretKey: boolean },
): StackVariant {
  return {
    region: process.env.AWS_REGION ?? 'us-east-1',
    security: config.security.mechanism,
    prefixed: config.output.prefix !== '',
    sharded: config.shards > 1,
    parquet: config.format === 'parquet',
    ...(config.table.format === 'iceberg' ? { iceberg: true } : {}),
    ...(config.registry?.login.kind === 'secret' ? { registrySecret: 'plain' as const } : {}),
    ...(config.glueRegistry ? { glueRegistry: true } : {}),
    ...keys,
  };
}

/** Synthesizes the stack of `variant` with the placeholder names (loads aws-cdk-lib: seconds). */
export async function synthesizeAuditStack(
  variant: StackVariant,
  names: PipelineNames = { ...PLACEHOLDER_NAMES, prefix: variant.prefixed ? PLACEHOLDER_NAMES.prefix : '' },
): Promise<AuditStack> {
  const { App, Stack } = await import('aws-cdk-lib');
  const kms = await import('aws-cdk-lib/aws-kms');
  const secretsmanager = await import('aws-cdk-lib/aws-secretsmanager');
  const ec2 = await import('aws-cdk-lib/aws-ec2');
  const { KafkaBatchPuller, OutputFormat, TableFormat, ValueFormat } = await import('../../../lib/index.js');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'KafkaBatchPullerAudit', {
    env: { account: AUDIT_ACCOUNT, region: variant.region },
  });
  const newKey = (id: string) => new kms.Key(stack, id, { enableKeyRotation: true });
  const bucketKey = variant.bucketKey ? newKey('BucketKey') : undefined;
  const tableKey = variant.tableKey ? newKey('TableKey') : undefined;
  const secretKey = variant.secretKey ? newKey('SecretKey') : undefined;
  const secret =
    variant.security === 'scram-sha-512'
      ? new secretsmanager.Secret(stack, 'ScramSecret', secretKey ? { encryptionKey: secretKey } : {})
      : undefined;
  const registryKey = variant.registrySecret === 'with-key' ? newKey('RegistrySecretKey') : undefined;
  const registrySecret = variant.registrySecret
    ? new secretsmanager.Secret(stack, 'RegistrySecret', registryKey ? { encryptionKey: registryKey } : {})
    : undefined;
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    ...(registrySecret
      ? { schemaRegistryUrl: 'https://registry.audit.example', schemaRegistrySecret: registrySecret }
      : {}),
    ...(variant.glueRegistry
      ? { glueSchemaRegistryName: names.glueRegistry ?? PLACEHOLDER_NAMES.glueRegistry }
      : {}),
    brokers: ['broker-1.audit.example:9092'],
    kafkaSecurity: variant.security,
    ...(variant.security === 'msk-iam' ? { mskClusterArn: MSK_CLUSTER_ARN(variant.region) } : {}),
    ...(secret ? { saslSecret: secret } : {}),
    ...(bucketKey ? { bucketEncryptionKey: bucketKey } : {}),
    ...(tableKey ? { tableEncryptionKey: tableKey } : {}),
    ...(variant.vpc
      ? {
          vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
            vpcId: 'vpc-0123456789abcdef0',
            availabilityZones: [`${variant.region}a`],
            privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1'],
            privateSubnetRouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1'],
          }),
        }
      : {}),
  });
  const pipeline = puller.addPipeline('Pipeline', {
    topic: names.topic,
    groupId: names.groupId,
    ...(names.prefix ? { outputPrefix: names.prefix } : {}),
    ...(variant.sharded ? { shards: 2 } : {}),
    ...(variant.parquet ? { format: OutputFormat.PARQUET } : {}),
    ...(registrySecret ? { valueFormat: ValueFormat.CONFLUENT } : {}),
    ...(variant.glueRegistry ? { valueFormat: ValueFormat.GLUE } : {}),
    ...(variant.iceberg
      ? {
          tableFormat: TableFormat.ICEBERG,
          glueDatabaseName: names.namespace ?? PLACEHOLDER_NAMES.namespace,
          glueTableName: names.table ?? PLACEHOLDER_NAMES.table,
        }
      : {}),
  });
  const { CfnElement } = await import('aws-cdk-lib');
  const id = (construct: { node: { defaultChild?: unknown } } | undefined) => {
    const element = construct?.node.defaultChild;
    return element instanceof CfnElement ? stack.getLogicalId(element) : undefined;
  };
  const required = (value: string | undefined, what: string) => {
    if (!value) throw new Error(`the audit stack has no ${what}`);
    return value;
  };
  const schedulerRole = pipeline.node.findChild('SchedulerRole') as { node: { defaultChild?: unknown } };
  const ids: AuditStackIds = {
    functionRole: required(id(pipeline.role), 'function role'),
    function: required(id(pipeline.lambdaFunction), 'function'),
    schedulerRole: required(id(schedulerRole), 'scheduler role'),
    schedule: required(id(pipeline.schedule), 'schedule'),
    bucket: required(id(puller.bucket), 'bucket'),
    table: required(id(puller.stateTable), 'state table'),
    failureQueue: required(id(puller.failureQueue), 'failure queue'),
    ...optional('stateMachineRole', id(pipeline.shardStateMachine?.role)),
    ...optional('stateMachine', id(pipeline.shardStateMachine?.stateMachine)),
    ...optional('bucketKey', id(bucketKey)),
    ...optional('tableKey', id(tableKey)),
    ...optional('secret', id(secret)),
    ...optional('secretKey', id(secretKey)),
    ...optional('registrySecret', id(registrySecret)),
    ...optional('registrySecretKey', id(registryKey)),
  };
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  return { variant, template, ids };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function variantKey(variant: StackVariant): string {
  return Object.entries(variant)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const synthesized = new Map<string, Promise<AuditStack>>();

/**
 * The stack of `variant`, synthesized once per process, and once per run when `sharedFolder` is given
 * (the workers write each stack there, and read what another already wrote).
 */
export function auditStack(variant: StackVariant, sharedFolder?: string): Promise<AuditStack> {
  const key = variantKey(variant);
  let stack = synthesized.get(key);
  if (!stack) {
    stack = loadOrSynthesize(variant, key, sharedFolder);
    synthesized.set(key, stack);
  }
  return stack;
}

async function loadOrSynthesize(variant: StackVariant, key: string, folder?: string): Promise<AuditStack> {
  const file = folder ? join(folder, `${Buffer.from(key).toString('base64url')}.json`) : undefined;
  if (file) {
    const kept = await readFile(file, 'utf8').catch(() => undefined);
    if (kept) return JSON.parse(kept) as AuditStack;
  }
  const stack = await synthesizeAuditStack(variant);
  if (file && folder) {
    await mkdir(folder, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, JSON.stringify(stack));
    await rename(partial, file);
  }
  return stack;
}

const escapeForJson = (text: string) => JSON.stringify(text).slice(1, -1);

/** `stack` with a pipeline's own names written over the placeholders it was synthesized with. */
export function withNames(stack: AuditStack, names: PipelineNames): AuditStack {
  if ((names.prefix !== '') !== stack.variant.prefixed) {
    throw new Error(`the stack was synthesized ${stack.variant.prefixed ? 'with' : 'without'} a prefix`);
  }
  let text = JSON.stringify(stack.template);
  for (const [name, placeholder] of Object.entries(PLACEHOLDER_NAMES)) {
    const value = names[name as keyof PipelineNames];
    if (value !== undefined) text = text.split(escapeForJson(placeholder)).join(escapeForJson(value));
  }
  return { ...stack, template: JSON.parse(text) as CfnTemplate };
}
