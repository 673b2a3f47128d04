// cdk-nag suppressions written as the `cdk_nag` resource metadata that cdk-nag reads, so the construct
// library itself does not depend on cdk-nag (only the app and the tests run its checks).
import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One suppressed cdk-nag rule, with the reason it does not apply. */
export interface NagSuppression {
  /** The rule, e.g. `AwsSolutions-IAM5`. */
  readonly id: string;
  /** Why the finding is accepted; cdk-nag requires at least 10 characters. */
  readonly reason: string;
  /**
   * The findings suppressed, exact (`Resource::*`) or as `{ regex: '/.../' }`.
   * @default - every finding of the rule on the resource
   */
  readonly appliesTo?: ReadonlyArray<string | { readonly regex: string }>;
}

interface CfnNagRule {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: ReadonlyArray<string | { readonly regex: string }>;
}

/**
 * Adds suppressions to the CloudFormation resource behind `construct` (its default child, or itself),
 * and with `applyToChildren` to every resource below it, keeping suppressions already there.
 */
export function addNagSuppressions(
  construct: IConstruct,
  suppressions: readonly NagSuppression[],
  applyToChildren = false,
): void {
  for (const suppression of suppressions) {
    if (suppression.reason.length < 10) {
      throw new Error(`cdk-nag suppression ${suppression.id} needs a reason of 10 characters or more`);
    }
  }
  const targets = applyToChildren ? construct.node.findAll() : [construct];
  for (const target of targets) {
    const resource = target.node.defaultChild ?? target;
    if (!(resource instanceof CfnResource)) continue;
    const existing: CfnNagRule[] = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
    const added: CfnNagRule[] = suppressions.map(({ id, reason, appliesTo }) =>
      appliesTo ? { reason, id, applies_to: appliesTo } : { reason, id },
    );
    const unique = new Map([...existing, ...added].map((rule) => [JSON.stringify(rule), rule]));
    resource.addMetadata('cdk_nag', { rules_to_suppress: [...unique.values()] });
  }
}

/** A cdk-nag `applies_to` regex matching findings that end with `suffix` (taken literally). */
export function findingEndingWith(
  prefix: 'Resource::' | 'Action::',
  suffix: string,
): { readonly regex: string } {
  const escaped = suffix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return { regex: `/^${prefix}.*${escaped}$/` };
}
