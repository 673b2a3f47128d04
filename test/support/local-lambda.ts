// Lambda as the shard state machine meets it, for tests: one function of a synthesized template, run
// from its handler bundle. Each sandbox is a worker thread with the function's environment that loads
// the bundle once (its init) and runs one invocation at a time, kept warm for the next. Lambda's limits
// hold: an invocation still running at the function's timeout ends with its sandbox (Sandbox.Timedout),
// one past the memory size too (Runtime.OutOfMemory), and an invocation beyond the reserved concurrency
// is refused (Lambda.TooManyRequestsException). Each sandbox reaches S3 and DynamoDB through its own
// small proxy in front of the emulator: it tells which invocation wrote, and it lets DynamoDB requests
// through one at a time, since DynamoDB applies a conditional write atomically and the emulator does
// not (see `atomicStore` in shard-bed.ts). A test may fault an invocation the way Lambda fails (`Fault`).
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The error types a caller of Lambda meets, as Step Functions reports them. */
export const LambdaError = {
  /** Lambda failed (a 500) after or instead of running the function. */
  SERVICE: 'Lambda.ServiceException',
  /** The call failed in the client (a dropped connection): whether the function ran is unknown. */
  SDK_CLIENT: 'Lambda.SdkClientException',
  /** The reserved concurrency is in use. */
  TOO_MANY_REQUESTS: 'Lambda.TooManyRequestsException',
  /** The invocation ran past the function's timeout; its sandbox was ended. */
  TIMED_OUT: 'Sandbox.Timedout',
  /** The sandbox ran out of memory. */
  OUT_OF_MEMORY: 'Runtime.OutOfMemory',
  /** The sandbox ended some other way. */
  EXITED: 'Runtime.ExitError',
} as const;

/** What a test does to one invocation. */
export const Fault = {
  /** The handler runs to its end, then its answer is lost: the caller gets Lambda.ServiceException. */
  ANSWER_LOST: 'answer-lost',
  /**
   * The caller gets Lambda.SdkClientException at once, while the invocation goes on: it starts when the
   * caller's retry (the same event) does, and runs beside it. Its answer goes nowhere.
   */
  ANSWER_LOST_WHILE_RUNNING: 'answer-lost-while-running',
  /** The invocation runs in a sandbox that cannot reach the broker, and fails as the handler does then. */
  BROKER_UNREACHABLE: 'broker-unreachable',
  /** The sandbox stops running once the invocation's first DynamoDB write is answered: it times out. */
  HANG_AFTER_FIRST_STATE_WRITE: 'hang-after-first-state-write',
  /** The sandbox allocates until it runs out of memory once the first DynamoDB write is answered. */
  OUT_OF_MEMORY_AFTER_FIRST_STATE_WRITE: 'out-of-memory-after-first-state-write',
} as const;
/** What a test does to one invocation. */
export type Fault = (typeof Fault)[keyof typeof Fault];

/** The function, as its template declares it. */
export interface FunctionSettings {
  readonly functionName: string;
  readonly arn: string;
  /** The handler bundle's file, absolute. */
  readonly handlerFile: string;
  /** The export the handler setting names (`index.handler`: `handler`). */
  readonly handlerExport: string;
  readonly timeoutSeconds: number;
  readonly memorySizeMb: number;
  /** Unset: the account's concurrency, unbounded here. */
  readonly reservedConcurrency: number | undefined;
  readonly environment: Readonly<Record<string, string>>;
}

/** An invocation request, as `faults` and `onInvoke` see it. */
export interface InvocationRequest {
  /** 1-based, in the order Lambda got the requests. */
  readonly seq: number;
  readonly event: unknown;
  /** Who invoked (the execution and its state). */
  readonly caller: string;
}

/** What a handler did: its answer, or its error. */
export type HandlerOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string };

/** One invocation Lambda accepted. */
export interface Invocation extends InvocationRequest {
  readonly requestId: string;
  readonly fault: Fault | undefined;
  /** When the handler was given the event, epoch ms (unset while held, or never run). */
  handlerStartedAtMs?: number;
  /** When the invocation ended, epoch ms. */
  endedAtMs?: number;
  /** How the invocation ended: the handler's answer or error, or how Lambda ended its sandbox. */
  outcome?: HandlerOutcome;
  /** What the caller got: the answer, or the error type. */
  answered?: HandlerOutcome;
  /** The lines the sandbox printed during the invocation (the handler's JSON logs), the first 500. */
  readonly logs: string[];
}

/** The error a caller gets: its name is the error type that Retry and Catch match. */
export class LambdaInvokeError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    // Step Functions gives a function error's payload as the cause.
    super(JSON.stringify({ errorType, errorMessage }));
    this.name = errorType;
  }
}

/** The sandbox's side: loads the bundle when asked (init), then runs one event per message. */
const SANDBOX_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
let handler;
parentPort.on('message', async (message) => {
  if (message.type === 'init') {
    try {
      handler = (await import(workerData.handlerUrl))[workerData.handlerExport];
      parentPort.postMessage({ type: 'ready' });
    } catch (error) {
      parentPort.postMessage({ type: 'init-failed', message: String(error && error.stack || error) });
    }
  } else if (message.type === 'hang') {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    for (;;) Atomics.wait(cell, 0, 0, 1000);
  } else if (message.type === 'exhaust-memory') {
    const held = [];
    for (;;) held.push(new Array(1 << 20).fill(held.length));
  } else if (message.type === 'invoke') {
    const { requestId, deadlineMs } = message;
    const context = {
      awsRequestId: requestId,
      functionName: workerData.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: workerData.arn,
      memoryLimitInMB: String(workerData.memorySizeMb),
      logGroupName: '/aws/lambda/' + workerData.functionName,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
      done() {}, fail() {}, succeed() {},
    };
    try {
      const value = await handler(JSON.parse(message.event), context);
      parentPort.postMessage({ type: 'answer', requestId, ok: true, value: JSON.stringify(value ?? null) });
    } catch (error) {
      parentPort.postMessage({
        type: 'answer',
        requestId,
        ok: false,
        errorType: (error && error.name) || 'Error',
        errorMessage: String((error && error.message) || error),
      });
    }
  }
});
`;

/** Requests of all sandboxes to DynamoDB go through this, one at a time. */
class Turns {
  private last: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const mine = this.last.then(work);
    this.last = mine.catch(() => undefined);
    return mine;
  }
}

/** One sandbox: a worker thread, and the endpoint its AWS clients use. */
class Sandbox {
  private worker!: Worker;
  private server!: Server;
  private current: { invocation: Invocation; settle: (outcome: HandlerOutcome) => void } | undefined;
  /** Set once a fault decided how the current invocation ends: later answers from the thread are ignored. */
  private doomed = false;
  private stateWrites = 0;
  alive = true;

  private constructor(
    private readonly settings: FunctionSettings,
    private readonly awsEndpoint: string,
    private readonly turns: Turns,
  ) {}

  /** Starts the sandbox and runs its init (the bundle's import). */
  static async start(
    settings: FunctionSettings,
    awsEndpoint: string,
    turns: Turns,
    environment: Readonly<Record<string, string>>,
  ): Promise<Sandbox> {
    const sandbox = new Sandbox(settings, awsEndpoint, turns);
    sandbox.server = createServer((req, res) => {
      sandbox.proxy(req, res).catch(() => res.destroy());
    });
    sandbox.server.listen(0, '127.0.0.1');
    await once(sandbox.server, 'listening');
    const endpoint = `http://127.0.0.1:${(sandbox.server.address() as AddressInfo).port}`;
    sandbox.worker = new Worker(SANDBOX_CODE, {
      eval: true,
      env: { ...environment, AWS_ENDPOINT_URL: endpoint },
      workerData: {
        handlerUrl: pathToFileURL(settings.handlerFile).href,
        handlerExport: settings.handlerExport,
        functionName: settings.functionName,
        arn: settings.arn,
        memorySizeMb: settings.memorySizeMb,
      },
      resourceLimits: { maxOldGenerationSizeMb: settings.memorySizeMb },
      stdout: true,
      stderr: true,
    });
    for (const stream of [sandbox.worker.stdout, sandbox.worker.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        const logs = sandbox.current?.invocation.logs;
        if (logs) logs.push(...lines.filter((line) => line !== '').slice(0, 500 - logs.length));
      });
    }
    sandbox.worker.on('message', (message: Record<string, unknown>) => sandbox.onMessage(message));
    sandbox.worker.on('error', (error: Error & { code?: string }) =>
      sandbox.end(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? LambdaError.OUT_OF_MEMORY : LambdaError.EXITED,
        `Runtime exited with error: ${error.message}`,
      ),
    );
    sandbox.worker.on('exit', (code) =>
      sandbox.end(LambdaError.EXITED, `Runtime exited with error: exit status ${code}`),
    );
    const ready = new Promise<void>((resolve, reject) => {
      sandbox.worker.once('message', (message: { type: string; message?: string }) =>
        message.type === 'ready' ? resolve() : reject(new Error(`init failed: ${message.message}`)),
      );
      sandbox.worker.once('exit', (code) => reject(new Error(`the sandbox exited during init (${code})`)));
    });
    sandbox.worker.postMessage({ type: 'init' });
    await ready;
    return sandbox;
  }

  /** Runs `invocation` to its end: the handler's answer or error, or how its sandbox ended. */
  run(invocation: Invocation): Promise<HandlerOutcome> {
    const timeoutMs = this.settings.timeoutSeconds * 1000;
    if (!this.alive) {
      return Promise.resolve({ ok: false, errorType: LambdaError.EXITED, errorMessage: 'the sandbox ended' });
    }
    return new Promise<HandlerOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.end(
          LambdaError.TIMED_OUT,
          `RequestId: ${invocation.requestId} Error: Task timed out after ${this.settings.timeoutSeconds.toFixed(2)} seconds`,
        );
      }, timeoutMs);
      this.doomed = false;
      this.stateWrites = 0;
      this.current = {
        invocation,
        settle: (outcome) => {
          clearTimeout(timer);
          this.current = undefined;
          resolve(outcome);
        },
      };
      invocation.handlerStartedAtMs = Date.now();
      this.worker.postMessage({
        type: 'invoke',
        requestId: invocation.requestId,
        event: JSON.stringify(invocation.event),
        deadlineMs: invocation.handlerStartedAtMs + timeoutMs,
      });
    });
  }

  /** Ends the sandbox, and the invocation it runs with `errorType`, as Lambda does. */
  end(errorType: string, errorMessage: string): void {
    const current = this.current;
    if (this.alive) {
      this.alive = false;
      void this.worker.terminate();
      this.server.closeAllConnections();
      this.server.close();
    }
    current?.settle({ ok: false, errorType, errorMessage });
  }

  /** Ends the sandbox (after the test, or when it may not be used again). */
  async close(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    await this.worker.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onMessage(message: Record<string, unknown>): void {
    if (message.type !== 'answer' || this.doomed) return;
    const current = this.current;
    if (!current || current.invocation.requestId !== message.requestId) return;
    current.settle(
      message.ok
        ? { ok: true, value: JSON.parse(message.value as string) }
        : {
            ok: false,
            errorType: message.errorType as string,
            errorMessage: message.errorMessage as string,
          },
    );
  }

  /** A DynamoDB write of the current invocation was answered: the faults that wait for one act now. */
  private onStateWritten(): void {
    const fault = this.current?.invocation.fault;
    this.stateWrites += 1;
    if (this.stateWrites !== 1 || this.doomed) return;
    if (fault === Fault.HANG_AFTER_FIRST_STATE_WRITE) {
      this.doomed = true;
      this.worker.postMessage({ type: 'hang' });
    } else if (fault === Fault.OUT_OF_MEMORY_AFTER_FIRST_STATE_WRITE) {
      this.doomed = true;
      this.worker.postMessage({ type: 'exhaust-memory' });
    }
  }

  private async proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = req.headers['x-amz-target'];
    const isDynamoDb = typeof target === 'string' && target.startsWith('DynamoDB_');
    const answer = isDynamoDb
      ? await this.turns.run(() => this.forward(req, body))
      : await this.forward(req, body);
    res.writeHead(answer.status, answer.headers).end(answer.body);
    if (isDynamoDb && target.endsWith('.PutItem') && answer.status === 200) this.onStateWritten();
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const target = new URL(this.awsEndpoint);
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    delete headers.expect;
    return new Promise((resolve, reject) => {
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            const copied: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(answer.headers)) {
              if (value !== undefined && name !== 'transfer-encoding' && name !== 'connection') {
                copied[name] = value;
              }
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

/** A broker address nothing listens on. */
const UNREACHABLE_BROKER = '127.0.0.1:1';

/**
 * The function, invoked synchronously (RequestResponse) as Step Functions invokes it. `faults` picks
 * the fault of each request; `invocations` records what happened.
 */
export class LocalLambda {
  /** Every invocation Lambda accepted, in order. */
  readonly invocations: Invocation[] = [];
  /** Requests refused for the reserved concurrency. */
  readonly throttled: InvocationRequest[] = [];
  /** Picks the fault of each request (none by default). */
  faults: (request: InvocationRequest) => Fault | undefined = () => undefined;
  /**
   * Awaited before a handler gets its event (its sandbox ready, its time not yet counting): a test holds
   * an invocation back until something else has happened.
   */
  beforeRun: (invocation: Invocation) => Promise<void> = async () => {};

  private readonly turns = new Turns();
  private readonly sandboxes = new Set<Sandbox>();
  private readonly warm: Sandbox[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private readonly listeners = new Set<(request: InvocationRequest) => void>();
  /** Invocations held until a retry of their event arrives, by event: when their sandbox is ready, and how to start them. */
  private readonly held = new Map<string, { readonly ready: Promise<void>; readonly start: () => void }>();
  private requests = 0;
  private busy = 0;

  constructor(
    readonly settings: FunctionSettings,
    /** The emulator the sandboxes' AWS clients reach, through their proxies. */
    private readonly awsEndpoint: string,
    /** Variables Lambda itself gives a sandbox (region, credentials). */
    private readonly runtimeEnvironment: Readonly<Record<string, string>>,
  ) {}

  /** Resolves with the first request `accept` accepts from now on. */
  nextRequest(accept: (request: InvocationRequest) => boolean): Promise<InvocationRequest> {
    return new Promise((resolve) => {
      const listener = (request: InvocationRequest) => {
        if (!accept(request)) return;
        this.listeners.delete(listener);
        resolve(request);
      };
      this.listeners.add(listener);
    });
  }

  /** Invokes the function with `event`; resolves with its answer or rejects with a LambdaInvokeError. */
  async invoke(event: unknown, caller: string): Promise<unknown> {
    const request: InvocationRequest = { seq: ++this.requests, event, caller };
    for (const listener of [...this.listeners]) listener(request);
    const limit = this.settings.reservedConcurrency ?? Number.POSITIVE_INFINITY;
    if (this.busy >= limit) {
      this.throttled.push(request);
      throw new LambdaInvokeError(LambdaError.TOO_MANY_REQUESTS, 'Rate Exceeded.');
    }
    this.busy += 1;
    const invocation: Invocation = {
      ...request,
      requestId: randomUUID(),
      fault: this.faults(request),
      logs: [],
    };
    this.invocations.push(invocation);
    const ended = this.run(invocation);
    this.running.add(ended);
    void ended.finally(() => this.running.delete(ended));

    const lost = (errorType: string, errorMessage: string) => {
      invocation.answered = { ok: false, errorType, errorMessage };
      return new LambdaInvokeError(errorType, errorMessage);
    };
    if (invocation.fault === Fault.ANSWER_LOST_WHILE_RUNNING) {
      throw lost(LambdaError.SDK_CLIENT, 'The connection to Lambda was lost before it answered.');
    }
    const outcome = await ended;
    if (invocation.fault === Fault.ANSWER_LOST) {
      throw lost(LambdaError.SERVICE, 'Lambda failed after the function returned.');
    }
    invocation.answered = outcome;
    if (outcome.ok) return outcome.value;
    throw new LambdaInvokeError(outcome.errorType, outcome.errorMessage);
  }

  /** Resolves once no invocation runs (one whose answer was lost may outlive its caller). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Ends every sandbox. */
  async close(): Promise<void> {
    await Promise.all([...this.sandboxes].map((sandbox) => sandbox.close()));
  }

  private async run(invocation: Invocation): Promise<HandlerOutcome> {
    let sandbox: Sandbox | undefined;
    try {
      // A retry of a held invocation's event starts both, each in its own sandbox, at the same moment.
      const key = JSON.stringify(invocation.event);
      const twin = this.held.get(key);
      this.held.delete(key);
      const hold =
        invocation.fault === Fault.ANSWER_LOST_WHILE_RUNNING ? this.holdUntilRetried(key) : undefined;
      sandbox = await this.sandbox(invocation.fault);
      if (hold) {
        hold.sandboxReady();
        await hold.started;
      }
      if (twin) {
        await twin.ready;
        twin.start();
      }
      await this.beforeRun(invocation);
      const outcome = await sandbox.run(invocation);
      invocation.outcome = outcome;
      return outcome;
    } catch (error) {
      const outcome = { ok: false as const, errorType: LambdaError.SERVICE, errorMessage: String(error) };
      invocation.outcome = outcome;
      return outcome;
    } finally {
      invocation.endedAtMs = Date.now();
      this.busy -= 1;
      if (sandbox?.alive && invocation.fault !== Fault.BROKER_UNREACHABLE) this.warm.push(sandbox);
      else if (sandbox) {
        this.sandboxes.delete(sandbox);
        await sandbox.close();
      }
    }
  }

  /**
   * Holds the invocation of `key` until a retry of the same event has its sandbox too (or a minute has
   * passed): `started` resolves then. `sandboxReady` says the held one's sandbox is ready.
   */
  private holdUntilRetried(key: string): { sandboxReady: () => void; started: Promise<void> } {
    let sandboxReady!: () => void;
    const ready = new Promise<void>((resolve) => {
      sandboxReady = resolve;
    });
    let start!: () => void;
    const started = new Promise<void>((resolve) => {
      start = resolve;
    });
    const timer = setTimeout(() => {
      this.held.delete(key);
      start();
    }, 60_000);
    timer.unref();
    this.held.set(key, {
      ready,
      start: () => {
        clearTimeout(timer);
        start();
      },
    });
    return { sandboxReady, started };
  }

  /** A warm sandbox, or a new one; one that cannot reach the broker for that fault. */
  private async sandbox(fault: Fault | undefined): Promise<Sandbox> {
    if (fault !== Fault.BROKER_UNREACHABLE) {
      const warm = this.warm.pop();
      if (warm) return warm;
    }
    const sandbox = await Sandbox.start(this.settings, this.awsEndpoint, this.turns, {
      ...this.runtimeEnvironment,
      ...this.settings.environment,
      AWS_LAMBDA_FUNCTION_NAME: this.settings.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.settings.memorySizeMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      ...(fault === Fault.BROKER_UNREACHABLE ? { KAFKA_BROKERS: UNREACHABLE_BROKER } : {}),
    });
    this.sandboxes.add(sandbox);
    return sandbox;
  }
}
