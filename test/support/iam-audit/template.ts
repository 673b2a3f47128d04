// A synthesized CloudFormation template read as a deployment would see it: intrinsics (Ref, Fn::GetAtt,
// Fn::Join, Fn::Select, Fn::Split, Fn::Sub) resolved to physical names, which a test gives for the
// resources it created (its bucket, table, keys, secret) and which default to names made from the
// logical IDs for the rest; and the policies attached to a role or to a resource.

/** One resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
}

/** A synthesized template. */
export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
}

/** A resource's physical identity: what `Ref` and `Fn::GetAtt <id>.Arn` give. */
export interface Physical {
  readonly ref: string;
  readonly arn: string;
}

/** How to resolve a template: the stack's region and account, and the names the test gave. */
export interface Resolution {
  readonly region: string;
  readonly account: string;
  /** Physical identities by logical ID; the others are made from their logical IDs. */
  readonly physical: Readonly<Record<string, Physical>>;
}

/** An IAM policy document, resolved. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: ReadonlyArray<Record<string, unknown>>;
}

/** The physical identity a deployment would give a resource that the test did not name. */
function defaultPhysical(id: string, type: string, region: string, account: string): Physical {
  const at = `${region}:${account}`;
  switch (type) {
    case 'AWS::S3::Bucket':
      return { ref: id.toLowerCase(), arn: `arn:aws:s3:::${id.toLowerCase()}` };
    case 'AWS::DynamoDB::Table':
      return { ref: id, arn: `arn:aws:dynamodb:${at}:table/${id}` };
    case 'AWS::KMS::Key':
      return { ref: id, arn: `arn:aws:kms:${at}:key/${id}` };
    case 'AWS::SecretsManager::Secret': {
      const arn = `arn:aws:secretsmanager:${at}:secret:${id}-AbCdEf`;
      return { ref: arn, arn };
    }
    case 'AWS::Lambda::Function':
      return { ref: id, arn: `arn:aws:lambda:${at}:function:${id}` };
    case 'AWS::StepFunctions::StateMachine': {
      const arn = `arn:aws:states:${at}:stateMachine:${id}`;
      return { ref: arn, arn };
    }
    case 'AWS::IAM::Role':
      return { ref: id, arn: `arn:aws:iam::${account}:role/${id}` };
    case 'AWS::Logs::LogGroup':
      return { ref: id, arn: `arn:aws:logs:${at}:log-group:${id}:*` };
    case 'AWS::SQS::Queue':
      return { ref: `https://sqs.${region}.amazonaws.com/${account}/${id}`, arn: `arn:aws:sqs:${at}:${id}` };
    case 'AWS::SNS::Topic': {
      const arn = `arn:aws:sns:${at}:${id}`;
      return { ref: arn, arn };
    }
    default:
      return { ref: id, arn: `arn:aws:cloudformation:${at}:stack/kafka-batch-puller-audit/${id}` };
  }
}

/** Resolves the intrinsics in `value`. */
export function resolveValue(template: CfnTemplate, value: unknown, resolution: Resolution): unknown {
  const physical = (id: string): Physical => {
    const given = resolution.physical[id];
    if (given) return given;
    const resource = template.Resources[id];
    if (!resource) throw new Error(`the template has no resource ${id}`);
    return defaultPhysical(id, resource.Type, resolution.region, resolution.account);
  };
  const pseudo: Record<string, string> = {
    'AWS::Region': resolution.region,
    'AWS::AccountId': resolution.account,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'kafka-batch-puller-audit',
  };
  const attribute = (id: string, name: string): string => {
    if (name === 'Arn') return physical(id).arn;
    throw new Error(`cannot resolve Fn::GetAtt ${id}.${name}`);
  };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (typeof v !== 'object' || v === null) return v;
    const entries = Object.entries(v);
    const [fn, args] = entries[0] ?? [];
    if (entries.length === 1 && fn !== undefined) {
      if (fn === 'Ref') return pseudo[args as string] ?? physical(args as string).ref;
      if (fn === 'Fn::GetAtt') {
        const [id, name] = Array.isArray(args) ? args : String(args).split('.');
        return attribute(String(id), String(name));
      }
      if (fn === 'Fn::Join') {
        const [separator, parts] = args as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(separator);
      }
      if (fn === 'Fn::Select') {
        const [index, list] = args as [number | string, unknown];
        return (resolve(list) as unknown[])[Number(index)];
      }
      if (fn === 'Fn::Split') {
        const [separator, text] = args as [string, unknown];
        return String(resolve(text)).split(separator);
      }
      if (fn === 'Fn::Sub') {
        const [text, variables = {}] = (Array.isArray(args) ? args : [args]) as [
          string,
          Record<string, unknown>?,
        ];
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (name in variables) return String(resolve(variables[name]));
          if (name in pseudo) return pseudo[name] as string;
          const [id, attr] = name.split('.');
          return attr ? attribute(String(id), attr) : physical(String(id)).ref;
        });
      }
      if (fn.startsWith('Fn::') || fn === 'Condition') throw new Error(`cannot resolve ${fn}`);
    }
    return Object.fromEntries(entries.map(([k, item]) => [k, resolve(item)]));
  };
  return resolve(value);
}

const refersTo = (value: unknown, id: string) =>
  typeof value === 'object' && value !== null && (value as { Ref?: unknown }).Ref === id;

/** The identity policies of role `roleId`: its inline policies and every AWS::IAM::Policy attached to it. */
export function identityPoliciesOf(
  template: CfnTemplate,
  roleId: string,
  resolution: Resolution,
): Array<{ name: string; policy: PolicyDocument }> {
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role of the template`);
  if (role.Properties?.ManagedPolicyArns)
    throw new Error(`${roleId} has managed policies; the audit reads inline ones`);
  const inline = (
    (role.Properties?.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: unknown }>
  ).map((p) => ({ name: p.PolicyName, document: p.PolicyDocument }));
  const attached = Object.entries(template.Resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' &&
        ((r.Properties?.Roles ?? []) as unknown[]).some((x) => refersTo(x, roleId)),
    )
    .map(([id, r]) => ({ name: id, document: r.Properties?.PolicyDocument }));
  return [...inline, ...attached].map(({ name, document }) => ({
    name,
    policy: resolveValue(template, document, resolution) as PolicyDocument,
  }));
}

/** The resource policy the template gives resource `id` (a bucket's policy, a key's key policy), if any. */
export function resourcePolicyOf(
  template: CfnTemplate,
  id: string,
  resolution: Resolution,
): PolicyDocument | undefined {
  const resource = template.Resources[id];
  if (resource?.Type === 'AWS::KMS::Key') {
    return resolveValue(template, resource.Properties?.KeyPolicy, resolution) as PolicyDocument;
  }
  const attached = Object.values(template.Resources).find(
    (r) =>
      (r.Type === 'AWS::S3::BucketPolicy' && refersTo(r.Properties?.Bucket, id)) ||
      (r.Type === 'AWS::SecretsManager::ResourcePolicy' && refersTo(r.Properties?.SecretId, id)),
  );
  return attached
    ? (resolveValue(template, attached.Properties?.PolicyDocument, resolution) as PolicyDocument)
    : undefined;
}
