// Shared fixtures for the CDK tests: stacks without bundling (fast), imported network and cluster
// resources (no lookups), and a reader for one role's policy statements.
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const CLUSTER_ARN = `arn:aws:kafka:${REGION}:${ACCOUNT}:cluster/events-cluster/0a1b2c3d-1111-2222-3333-444455556666-2`;

/**
 * A stack in a fresh app. Bundling is skipped (the function gets a placeholder asset) unless `bundle` is
 * set, since most tests read the template only. CDK's built-in CloudFormation schema validation is off:
 * it costs seconds of CPU per test file, and app-context.test.ts runs it once on the full app.
 */
export function newStack(options: { bundle?: boolean; env?: boolean } = {}): Stack {
  const app = new App({
    builtinCloudFormationValidation: false,
    ...(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } }),
  });
  return new Stack(app, 'Test', options.env === false ? {} : { env: { account: ACCOUNT, region: REGION } });
}

/** An existing VPC with two private subnets, imported by ID. */
export function importedVpc(stack: Stack): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: [`${REGION}a`, `${REGION}b`],
    privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    privateSubnetRouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
  });
}

/** A policy statement reduced to what the tests compare: its actions and resources, resolved. */
export interface StatementSummary {
  readonly actions: string[];
  readonly resources: unknown[];
  readonly conditions?: unknown;
}

/** Every Allow statement of the policies attached to `role`, in order. */
export function statementsOf(template: Template, role: iam.IRole): StatementSummary[] {
  const roleRef = Stack.of(role).resolve(role.roleName);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((ref) => JSON.stringify(ref) === JSON.stringify(roleRef)),
  );
  return policies.flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map((statement) => ({
      actions: [statement.Action].flat() as string[],
      resources: [statement.Resource].flat(),
      ...(statement.Condition ? { conditions: statement.Condition } : {}),
    })),
  );
}

/** The resolved CloudFormation value of a token, for comparing with a template. */
export function resolved(stack: Stack, value: unknown): unknown {
  return stack.resolve(value);
}

/** The ARN `renderedDefinition` gives the function of logical ID `logicalId`. */
export function functionArnFor(logicalId: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
}

/**
 * The synthesized state machine's DefinitionString as plain JSON: its `Fn::Join` resolved, with
 * `functionArnFor(id)` for every `Fn::GetAtt` or `Ref` (the function's ARN, the only token in it).
 */
export function renderedDefinition(template: Template): unknown {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const definition = machine?.Properties.DefinitionString as unknown;
  const part = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const token = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
    const id = token['Fn::GetAtt']?.[0] ?? token.Ref;
    if (!id) throw new Error(`unexpected token in the definition: ${JSON.stringify(value)}`);
    return functionArnFor(id);
  };
  const text =
    typeof definition === 'string'
      ? definition
      : (definition as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map(part).join('');
  return JSON.parse(text);
}
