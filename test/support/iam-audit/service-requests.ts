// The requests AWS services make with the roles a stack gives them, read from the synthesized template:
// EventBridge Scheduler invoking its target (and sending to its dead-letter queue) with the schedule's
// role, Step Functions invoking each task's function (and delivering its logs) with the state machine's
// role, and Lambda sending a failed asynchronous invocation to its on-failure destination with the
// function's role. No test runs these services (the emulator cannot), so their requests are derived
// from the resources that make them, and checked with the same simulator as the function's own.
import { AUDIT_ACCOUNT, type IamRequest } from './iam-requests.js';
import { type CfnTemplate, type Resolution, resolveValue } from './template.js';

/** Requests one service makes with one role of the template. */
export interface ServiceRequests {
  /** The logical ID of the role the service assumes. */
  readonly roleId: string;
  readonly requests: readonly IamRequest[];
}

function roleIdOf(roleArn: unknown, what: string): string {
  const getAtt = (roleArn as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt?.[1] !== 'Arn') throw new Error(`${what}: its role is not a role of the template`);
  return getAtt[0];
}

function properties(template: CfnTemplate, id: string, type: string): Readonly<Record<string, unknown>> {
  const resource = template.Resources[id];
  if (resource?.Type !== type) throw new Error(`${id} is not an ${type} of the template`);
  return resource.Properties ?? {};
}

/** What invoking a target ARN is, as Scheduler and Step Functions call it. */
function invocationOf(arn: string, origin: string): IamRequest {
  if (/^arn:aws:lambda:[^:]+:\d{12}:function:/.test(arn)) {
    return { action: 'lambda:InvokeFunction', resource: arn, context: {}, origin };
  }
  if (/^arn:aws:states:[^:]+:\d{12}:stateMachine:/.test(arn)) {
    return { action: 'states:StartExecution', resource: arn, context: {}, origin };
  }
  throw new Error(`${origin}: no IAM action known for invoking ${arn}`);
}

/** EventBridge Scheduler's requests with the schedule's role: invoke the target, send to the DLQ. */
export function scheduleRequests(
  template: CfnTemplate,
  scheduleId: string,
  resolution: Resolution,
): ServiceRequests {
  const target = properties(template, scheduleId, 'AWS::Scheduler::Schedule').Target as Record<
    string,
    unknown
  >;
  const origin = `Scheduler ${scheduleId}`;
  const arn = String(resolveValue(template, target.Arn, resolution));
  const requests = [invocationOf(arn, `${origin} target`)];
  const deadLetter = (target.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn;
  if (deadLetter) {
    const queue = String(resolveValue(template, deadLetter, resolution));
    requests.push({
      action: 'sqs:SendMessage',
      resource: queue,
      context: {},
      origin: `${origin} dead-letter queue`,
    });
  }
  return { roleId: roleIdOf(target.RoleArn, origin), requests };
}

/** The log-delivery actions Step Functions needs to log to CloudWatch Logs; they take no resource. */
const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];

type States = Record<string, Record<string, unknown>>;

/** Every state of a definition, inside Map and Parallel states too. */
function allStates(states: States): Array<[string, Record<string, unknown>]> {
  return Object.entries(states).flatMap(([name, state]) => {
    const nested = [
      (state.ItemProcessor as { States?: States } | undefined)?.States,
      (state.Iterator as { States?: States } | undefined)?.States,
      ...((state.Branches as Array<{ States: States }> | undefined) ?? []).map((b) => b.States),
    ].filter((s): s is States => s !== undefined);
    return [[name, state] as [string, Record<string, unknown>], ...nested.flatMap(allStates)];
  });
}

/** Step Functions' requests with the state machine's role: each task's invocation, and log delivery. */
export function stateMachineRequests(
  template: CfnTemplate,
  stateMachineId: string,
  resolution: Resolution,
): ServiceRequests {
  const props = properties(template, stateMachineId, 'AWS::StepFunctions::StateMachine');
  const origin = `Step Functions ${stateMachineId}`;
  const definition = JSON.parse(String(resolveValue(template, props.DefinitionString, resolution))) as {
    States: States;
  };
  const requests: IamRequest[] = [];
  for (const [name, state] of allStates(definition.States)) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    const parameters = (state.Parameters ?? state.Arguments ?? {}) as Record<string, unknown>;
    const target =
      resource === 'arn:aws:states:::lambda:invoke' ? String(parameters.FunctionName ?? '') : resource;
    requests.push(invocationOf(target, `${origin} task ${name}`));
  }
  const destinations = (props.LoggingConfiguration as { Destinations?: unknown[] } | undefined)?.Destinations;
  if (destinations && destinations.length > 0) {
    for (const action of LOG_DELIVERY_ACTIONS) {
      requests.push({ action, resource: '*', context: {}, origin: `${origin} logging` });
    }
  }
  return { roleId: roleIdOf(props.RoleArn, origin), requests };
}

/** Lambda's requests with the function's role: a failed asynchronous invocation to its on-failure destination. */
export function functionServiceRequests(
  template: CfnTemplate,
  functionId: string,
  resolution: Resolution,
): ServiceRequests {
  const props = properties(template, functionId, 'AWS::Lambda::Function');
  const origin = `Lambda ${functionId}`;
  const requests: IamRequest[] = [];
  for (const resource of Object.values(template.Resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    if ((p.FunctionName as { Ref?: string } | undefined)?.Ref !== functionId) continue;
    const destination = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
      ?.OnFailure?.Destination;
    if (!destination) continue;
    const arn = String(resolveValue(template, destination, resolution));
    if (!arn.startsWith('arn:aws:sqs:'))
      throw new Error(`${origin}: no IAM action known for sending to ${arn}`);
    requests.push({
      action: 'sqs:SendMessage',
      resource: arn,
      context: {},
      origin: `${origin} on-failure destination`,
    });
  }
  return { roleId: roleIdOf(props.Role, origin), requests };
}

/** The session ARN a service's requests carry when it assumes role `roleId`. */
export function sessionOf(roleId: string, session: string): string {
  return `arn:aws:sts::${AUDIT_ACCOUNT}:assumed-role/${roleId}/${session}`;
}
