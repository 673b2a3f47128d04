// A fault-injecting HTTP proxy in front of the AWS emulator, on 127.0.0.1. Point an adapter's client at
// `proxy.url` and the proxy forwards every request to the emulator, except those a rule picks, which
// fail the way real services sometimes do:
//   throttle          answered 503 SlowDown (S3) / 400 ThrottlingException (DynamoDB); not applied
//   reset             the connection is closed before the request is forwarded; not applied
//   applied-then-500  forwarded and applied, then answered 500 InternalError instead of the real answer
//   slow              forwarded and applied, the answer held back longer than the client's timeout
//   deny              answered 403 AccessDenied (S3) / 400 AccessDeniedException (DynamoDB); not applied.
//                     Not among the faults a run rides out (ALL_FAULTS): no retry passes a denial.
// Rules pick requests by operation, by the bucket or table they touch, and by a predicate on the body.
// Any test can use it: one proxy serves many pipelines side by side, each rule naming its resource.
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a picked request fails. */
export const Fault = {
  THROTTLE: 'throttle',
  RESET: 'reset',
  APPLIED_THEN_500: 'applied-then-500',
  SLOW: 'slow',
  DENY: 'deny',
} as const;
/** How a picked request fails. */
export type Fault = (typeof Fault)[keyof typeof Fault];

/** Every fault a run must ride out. */
export const ALL_FAULTS: readonly Fault[] = [Fault.THROTTLE, Fault.RESET, Fault.APPLIED_THEN_500, Fault.SLOW];

/** The operations the proxy tells apart (others are `Other`). */
export const Operation = {
  PUT_OBJECT: 'PutObject',
  CREATE_MULTIPART_UPLOAD: 'CreateMultipartUpload',
  UPLOAD_PART: 'UploadPart',
  COMPLETE_MULTIPART_UPLOAD: 'CompleteMultipartUpload',
  GET_ITEM: 'GetItem',
  PUT_ITEM: 'PutItem',
  BATCH_GET_ITEM: 'BatchGetItem',
  OTHER: 'Other',
} as const;
/** An operation the proxy tells apart. */
export type Operation = (typeof Operation)[keyof typeof Operation];

/** The writes and reads a run depends on: what the fault suite fails. */
export const FAULTABLE_OPERATIONS: readonly Operation[] = [
  Operation.PUT_OBJECT,
  Operation.CREATE_MULTIPART_UPLOAD,
  Operation.UPLOAD_PART,
  Operation.COMPLETE_MULTIPART_UPLOAD,
  Operation.GET_ITEM,
  Operation.PUT_ITEM,
  Operation.BATCH_GET_ITEM,
];

/** A request as a rule sees it. */
export interface ProxiedRequest {
  readonly operation: Operation;
  /** The bucket (S3, path-style) or table (DynamoDB) it touches. */
  readonly resource: string | undefined;
  /** The object key (S3), when any. */
  readonly key: string | undefined;
  readonly body: Buffer;
}

/** Picks requests to fail. */
export interface FaultRule {
  readonly fault: Fault;
  readonly operation: Operation;
  /** Only requests touching this bucket or table. */
  readonly resource?: string;
  /** Only requests this accepts. */
  readonly when?: (request: ProxiedRequest) => boolean;
  /** How many matching requests to fail, from the first. @default 1 */
  readonly times?: number;
}

/** Fails a share of the requests at random, each with a fault drawn from `faults`. */
export interface RandomFaults {
  readonly rate: number;
  readonly resources: readonly string[];
  readonly operations?: readonly Operation[];
  readonly faults?: readonly Fault[];
  /** Seed of the draw, so a failing soak can be replayed. */
  readonly seed: number;
}

/** One injected fault, for reports. */
export interface InjectedFault {
  readonly fault: Fault;
  readonly operation: Operation;
  readonly resource: string | undefined;
  readonly key: string | undefined;
}

/** A small deterministic PRNG (mulberry32). */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function classify(req: IncomingMessage, body: Buffer): ProxiedRequest {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('DynamoDB_')) {
    const action = target.split('.')[1];
    const operation =
      action === 'GetItem'
        ? Operation.GET_ITEM
        : action === 'PutItem'
          ? Operation.PUT_ITEM
          : action === 'BatchGetItem'
            ? Operation.BATCH_GET_ITEM
            : Operation.OTHER;
    let resource: string | undefined;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { TableName?: string; RequestItems?: object };
      resource = parsed.TableName ?? Object.keys(parsed.RequestItems ?? {})[0];
    } catch {
      resource = undefined;
    }
    return { operation, resource, key: undefined, body };
  }
  const url = new URL(req.url ?? '/', 'http://proxy');
  const [, bucket, ...rest] = url.pathname.split('/');
  const key = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  const q = url.searchParams;
  let operation: Operation = Operation.OTHER;
  if (key !== undefined && key !== '') {
    if (req.method === 'PUT') operation = q.has('uploadId') ? Operation.UPLOAD_PART : Operation.PUT_OBJECT;
    if (req.method === 'POST' && q.has('uploads')) operation = Operation.CREATE_MULTIPART_UPLOAD;
    if (req.method === 'POST' && q.has('uploadId')) operation = Operation.COMPLETE_MULTIPART_UPLOAD;
  }
  return { operation, resource: bucket || undefined, key, body };
}

function isDynamoDb(req: IncomingMessage): boolean {
  return typeof req.headers['x-amz-target'] === 'string';
}

/** The answer a throttled or failed request gets, in the service's own error format. */
function errorAnswer(req: IncomingMessage, status: number, code: string, message: string) {
  if (isDynamoDb(req)) {
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${code}`, message }),
    };
  }
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`,
  };
}

/** An answer in each service's words: status, error code, message. */
type ErrorWords = readonly [number, string, string];
/** The faults answered without forwarding the request, as DynamoDB and S3 word them. */
const REFUSALS: Partial<Record<Fault, { readonly dynamodb: ErrorWords; readonly s3: ErrorWords }>> = {
  [Fault.THROTTLE]: {
    dynamodb: [400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.'],
    s3: [503, 'SlowDown', 'Please reduce your request rate.'],
  },
  [Fault.DENY]: {
    dynamodb: [400, 'AccessDeniedException', 'User is not authorized to perform this action.'],
    s3: [403, 'AccessDenied', 'Access Denied'],
  },
};

/** The proxy. Start it, point clients at `url`, add rules, stop it. */
export class FaultProxy {
  private server: Server | undefined;
  private readonly rules: Array<{ rule: FaultRule; left: number }> = [];
  private random: { spec: RandomFaults; draw: () => number } | undefined;
  /** Every fault injected, in order. */
  readonly injected: InjectedFault[] = [];
  /** Requests seen, by operation. */
  readonly requests = new Map<Operation, number>();
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Adds a rule; rules are tried in the order added. */
  addRule(rule: FaultRule): void {
    this.rules.push({ rule, left: rule.times ?? 1 });
  }

  /** Fails a share of the matching requests at random from now on. */
  failAtRandom(spec: RandomFaults): void {
    this.random = { spec, draw: seededRandom(spec.seed) };
  }

  /** Faults injected for `resource`, counted by fault class. */
  countByFault(resource?: string): Record<Fault, number> {
    const counts = Object.fromEntries(Object.values(Fault).map((f) => [f, 0])) as Record<Fault, number>;
    for (const i of this.injected)
      if (resource === undefined || i.resource === resource) counts[i.fault] += 1;
    return counts;
  }

  private pick(seen: ProxiedRequest): Fault | undefined {
    for (const entry of this.rules) {
      const { rule } = entry;
      if (entry.left <= 0 || rule.operation !== seen.operation) continue;
      if (rule.resource !== undefined && rule.resource !== seen.resource) continue;
      if (rule.when && !rule.when(seen)) continue;
      entry.left -= 1;
      return rule.fault;
    }
    const random = this.random;
    if (!random || seen.resource === undefined || !random.spec.resources.includes(seen.resource))
      return undefined;
    if (!(random.spec.operations ?? FAULTABLE_OPERATIONS).includes(seen.operation)) return undefined;
    if (random.draw() >= random.spec.rate) return undefined;
    const faults = random.spec.faults ?? ALL_FAULTS;
    return faults[Math.floor(random.draw() * faults.length)];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const seen = classify(req, body);
    this.requests.set(seen.operation, (this.requests.get(seen.operation) ?? 0) + 1);
    const fault = this.pick(seen);
    if (fault) {
      this.injected.push({ fault, operation: seen.operation, resource: seen.resource, key: seen.key });
    }

    if (fault === Fault.RESET) {
      req.socket.destroy();
      return;
    }
    const refusal = fault === undefined ? undefined : REFUSALS[fault];
    if (refusal) {
      const [status, code, message] = isDynamoDb(req) ? refusal.dynamodb : refusal.s3;
      const answer = errorAnswer(req, status, code, message);
      res.writeHead(answer.status, answer.headers).end(answer.body);
      return;
    }

    const answer = await this.forward(req, body);
    if (fault === Fault.APPLIED_THEN_500) {
      const failed = errorAnswer(
        req,
        500,
        isDynamoDb(req) ? 'InternalServerError' : 'InternalError',
        'We encountered an internal error. Please try again.',
      );
      res.writeHead(failed.status, failed.headers).end(failed.body);
      return;
    }
    if (fault === Fault.SLOW) {
      // Longer than any client timeout the tests set; by then the client has given up on this connection.
      await new Promise((resolve) => setTimeout(resolve, SLOW_ANSWER_MS));
      if (res.destroyed || req.socket.destroyed) return;
    }
    res.writeHead(answer.status, answer.headers).end(answer.body);
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const target = new URL(this.target);
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      delete headers['transfer-encoding'];
      delete headers.expect;
      headers['content-length'] = String(body.length);
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const copied: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(answer.headers)) {
              if (value !== undefined && name !== 'transfer-encoding' && name !== 'connection')
                copied[name] = value;
            }
            resolve({ status: answer.statusCode ?? 502, headers: copied, body: Buffer.concat(parts) });
          });
          answer.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}

/** How long a `slow` answer is held back, ms: set client timeouts below it. */
export const SLOW_ANSWER_MS = 2_500;

/** Starts a proxy in front of the emulator the tests use (AWS_ENDPOINT_URL). */
export async function startFaultProxy(): Promise<FaultProxy> {
  const target = process.env.AWS_ENDPOINT_URL;
  if (!target) throw new Error('AWS_ENDPOINT_URL is not set: the global setup did not run');
  return new FaultProxy(target).start();
}
