// The permission table of docs/deploying.md ("What each function may do") against the synthesized template: every
// statement of a function's role is one row of the table whose mode applies, with the same actions,
// resources and condition, and every row is a statement of some stack. So the table cannot drift.
import { describe, expect, it } from 'vitest';
import {
  AUDIT_MSK_CLUSTER,
  type AuditStack,
  PLACEHOLDER_NAMES,
  type StackVariant,
  stackVariant,
  synthesizeAuditStack,
  withNames,
} from '../support/iam-audit/audit-stacks.js';
import { AUDIT_ACCOUNT } from '../support/iam-audit/iam-requests.js';
import { identityPoliciesOf, type Physical } from '../support/iam-audit/template.js';
import { codeSpans, readPage, section, tables } from '../support/markdown.js';

const REGION = 'us-east-1';

/** One statement as the page writes it. */
interface Row {
  readonly mode: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions: string[];
}

/** The rows of the table under "What each function may do" in docs/deploying.md. */
function documentedRows(): Row[] {
  const [table] = tables(section(readPage('docs/deploying.md'), 'What each function may do'));
  if (!table) throw new Error('docs/deploying.md has no permission table under "What each function may do"');
  return table.rows.map(([mode = '', actions = '', resources = '', conditions = '']) => ({
    mode,
    actions: codeSpans(actions).filter((span) => /^[a-z0-9-]+:[A-Za-z*]+$/.test(span)),
    resources: codeSpans(resources).filter(
      (span) => span.startsWith('arn:') || span === '*' || /^<[^>]+>$/.test(span),
    ),
    conditions: codeSpans(conditions),
  }));
}

/** Which stacks a row's mode applies to. */
const MODES: Record<string, (v: StackVariant) => boolean> = {
  all: () => true,
  '`shards` 1': (v) => !v.sharded,
  'bucket with a KMS key': (v) => v.bucketKey,
  'table with a customer managed key': (v) => v.tableKey,
  '`plaintext`, `tls`': (v) => v.security === 'plaintext' || v.security === 'tls',
  '`scram-sha-512`': (v) => v.security === 'scram-sha-512',
  '`scram-sha-512` with a key': (v) => v.security === 'scram-sha-512' && v.secretKey,
  '`msk-iam`': (v) => v.security === 'msk-iam',
  'in a VPC': (v) => v.vpc === true,
  '`tableFormat` iceberg': (v) => v.iceberg === true,
  '`confluent` keys or values, `schemaRegistrySecret`': (v) => v.registrySecret !== undefined,
  '`glue` keys or values': (v) => v.glueRegistry === true,
  '`confluent` keys or values, `schemaRegistrySecret` with a key': (v) => v.registrySecret === 'with-key',
};

const base = stackVariant(REGION);
/** Stacks between them using every mode of the table. */
const VARIANTS: StackVariant[] = [
  base,
  { ...base, security: 'tls', sharded: true, parquet: true },
  { ...base, security: 'scram-sha-512', secretKey: true, bucketKey: true, tableKey: true },
  { ...base, security: 'scram-sha-512' },
  { ...base, security: 'msk-iam', vpc: true, sharded: true },
  { ...base, parquet: true, iceberg: true },
  { ...base, registrySecret: 'with-key' },
  { ...base, glueRegistry: true },
];

/** The function role's statements of `stack`, written as the page writes them. */
function renderedStatements(stack: AuditStack): Row[] {
  const named = withNames(stack, {
    topic: '<topic>',
    groupId: '<groupId>',
    prefix: '<prefix>',
    namespace: '<database>',
    table: '<table name>',
    glueRegistry: '<glue registry>',
  });
  const { template, ids } = named;
  const labels: Record<string, string> = {
    [ids.bucket]: 'bucket',
    [ids.table]: 'table',
    [ids.failureQueue]: 'failure queue',
    ...(ids.bucketKey ? { [ids.bucketKey]: 'bucket key' } : {}),
    ...(ids.tableKey ? { [ids.tableKey]: 'table key' } : {}),
    ...(ids.secretKey ? { [ids.secretKey]: 'secret key' } : {}),
    ...(ids.registrySecretKey ? { [ids.registrySecretKey]: 'registry secret key' } : {}),
  };
  const physical: Record<string, Physical> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    const label = labels[id];
    if (resource.Type === 'AWS::S3::Bucket' && label)
      physical[id] = { ref: `<${label}>`, arn: `arn:aws:s3:::<${label}>` };
    if (resource.Type === 'AWS::DynamoDB::Table' && label) {
      physical[id] = { ref: `<${label}>`, arn: `arn:aws:dynamodb:<region>:<account>:table/<${label}>` };
    }
    if (resource.Type === 'AWS::KMS::Key' && label) {
      physical[id] = { ref: `<${label}>`, arn: `arn:aws:kms:<region>:<account>:key/<${label}>` };
    }
    if (resource.Type === 'AWS::SQS::Queue' && label) {
      physical[id] = { ref: `<${label}>`, arn: `arn:aws:sqs:<region>:<account>:<${label}>` };
    }
    if (resource.Type === 'AWS::Logs::LogGroup') {
      physical[id] = { ref: '<log group>', arn: 'arn:aws:logs:<region>:<account>:log-group:<log group>:*' };
    }
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      const secret = id === ids.registrySecret ? '<registry secret ARN>' : '<secret ARN>';
      physical[id] = { ref: secret, arn: secret };
    }
  }
  const policies = identityPoliciesOf(template, ids.functionRole, {
    region: '<region>',
    account: '<account>',
    physical,
  });
  const placeholders = (text: string) =>
    text
      .replaceAll(REGION, '<region>')
      .replaceAll(AUDIT_ACCOUNT, '<account>')
      .replaceAll(`${AUDIT_MSK_CLUSTER.name}/${AUDIT_MSK_CLUSTER.uuid}`, '<cluster>/<uuid>');
  return policies.flatMap(({ policy }) =>
    policy.Statement.map((statement) => {
      const conditions = Object.entries(
        (statement.Condition ?? {}) as Record<string, Record<string, unknown>>,
      ).flatMap(([operator, keys]) =>
        Object.entries(keys).map(([key, values]) => `${operator} ${key} ${[values].flat().join(', ')}`),
      );
      return {
        mode: '',
        actions: [statement.Action as string | string[]].flat(),
        resources: [statement.Resource as string | string[]].flat().map(placeholders),
        conditions: conditions.map(placeholders),
      };
    }),
  );
}

const comparable = (row: Row) =>
  JSON.stringify({
    actions: [...row.actions].sort(),
    resources: [...row.resources].sort(),
    conditions: [...row.conditions].sort(),
  });

describe('the permission table of docs/deploying.md', () => {
  const rows = documentedRows();

  it('names only modes the test knows, and says "nothing more" where a mode adds no statement', () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(Object.keys(MODES), `mode of a documented row: ${row.mode}`).toContain(row.mode);
      if (row.actions.length === 0) expect(row.mode).toBe('`plaintext`, `tls`');
    }
  });

  it("lists exactly the function role's statements of every stack shape, and every row is one of them", async () => {
    const used = new Set<Row>();
    for (const variant of VARIANTS) {
      const stack = await synthesizeAuditStack(variant);
      expect(JSON.stringify(stack.template)).toContain(PLACEHOLDER_NAMES.topic);
      const expected = rows.filter((row) => row.actions.length > 0 && MODES[row.mode]?.(variant));
      for (const row of expected) used.add(row);
      expect(renderedStatements(stack).map(comparable).sort(), JSON.stringify(variant)).toEqual(
        expected.map(comparable).sort(),
      );
    }
    expect(rows.filter((row) => row.actions.length > 0 && !used.has(row))).toEqual([]);
  });
});
