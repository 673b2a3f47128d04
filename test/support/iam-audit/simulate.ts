// Evaluates one authorization with @cloud-copilot/iam-simulate, AWS's evaluation logic: the principal's
// identity policies, the resource's policy (a bucket policy, a key policy), every condition operator.
// Results are kept: a run repeats the same authorizations many times.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { IamRequest } from './iam-requests.js';
import type { PolicyDocument } from './template.js';

/** Who asks, under which policies. */
export interface Principal {
  /** The session ARN, e.g. `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  readonly arn: string;
  readonly account: string;
  readonly identityPolicies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
}

/** IAM's answer. */
export interface Decision {
  readonly allowed: boolean;
  /** `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied`. */
  readonly result: string;
}

const decisions = new Map<string, Promise<Decision>>();

/** Whether `principal` may make `request`, given the resource's own policy when it has one. */
export function simulate(
  principal: Principal,
  request: IamRequest,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const key = JSON.stringify([principal, request.action, request.resource, request.context, resourcePolicy]);
  let decision = decisions.get(key);
  if (!decision) {
    decision = evaluate(principal, request, resourcePolicy);
    decisions.set(key, decision);
  }
  return decision;
}

async function evaluate(
  principal: Principal,
  request: IamRequest,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const outcome = await runSimulation(
    {
      request: {
        principal: principal.arn,
        action: request.action,
        resource: { resource: request.resource, accountId: principal.account },
        contextVariables: { ...request.context },
      },
      identityPolicies: principal.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (outcome.resultType === 'error') {
    // A policy or request the simulator cannot read is the audit's own fault: say so, never pass it.
    throw new Error(
      `the IAM simulator refused ${request.action} on ${request.resource}: ${outcome.errors.message} ${JSON.stringify(outcome.errors)}`,
    );
  }
  return { allowed: outcome.overallResult === 'Allowed', result: outcome.overallResult };
}
