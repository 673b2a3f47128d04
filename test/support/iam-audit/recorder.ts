// Records, at the edge of the AWS SDK, every request a client not marked `forArrangement` sends: the
// client and command names and the request's input (bodies left out), with the test that was running.
// Every SDK client (S3, DynamoDB and its document client, Secrets Manager through Powertools, the upload
// helper's multipart calls) extends Smithy's `Client`, so a middleware added to each client's stack on
// its first `send` sees them all, after the document client has marshalled its input: what goes on the
// wire. Requests to an Iceberg REST catalog go through fetch, which is wrapped too: they are recorded as
// the `IcebergCatalog` client's, with the method and URL. The pipelines' configs are recorded too (see
// setup.ts): they say which role a request is sent by.
import { createRequire } from 'node:module';
import { Client } from '@smithy/core/client';
import type { PullerConfig } from '../../../src/config.js';
import { isArrangement, keepOriginalFetch, type MarkableClient } from './arrangement.js';

/** Where a request was sent from: the test file and the test's full name. */
export interface Scenario {
  readonly file: string;
  readonly test: string;
}

/** One request as the SDK sent it. */
export interface RecordedCall {
  /** The SDK client's name, e.g. `S3Client`. */
  readonly client: string;
  /** The command's name, e.g. `ListObjectsV2Command`. */
  readonly command: string;
  /** The request's input, marshalled, without a body. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly region: string;
  readonly scenario: Scenario;
}

interface RecorderState {
  calls: RecordedCall[];
  scenario: Scenario;
  readonly configs: Map<string, PullerConfig>;
  readonly stacks: WeakSet<object>;
}

const STATE = Symbol.for('kafka-batch-puller.test.iam-recorder');
const PATCHED = Symbol.for('kafka-batch-puller.test.iam-recorder.patched');
const MIDDLEWARE_NAME = 'kafkaBatchPullerIamAuditRecorder';

function state(): RecorderState {
  const holder = globalThis as { [STATE]?: RecorderState };
  holder[STATE] ??= {
    calls: [],
    scenario: { file: '(unknown file)', test: '(outside any test)' },
    configs: new Map(),
    stacks: new WeakSet(),
  };
  return holder[STATE];
}

type AnyInput = Record<string, unknown>;
interface Stack {
  add(middleware: unknown, options: Record<string, unknown>): void;
}
type SendingClient = MarkableClient & {
  readonly middlewareStack: Stack;
  readonly config: { region?: unknown };
};

/** A DynamoDB item reduced to its scalar attributes (keys are scalars); the rest can be large. */
function scalarAttributes(item: unknown): AnyInput {
  const kept: AnyInput = {};
  for (const [name, value] of Object.entries((item ?? {}) as AnyInput)) {
    const type = Object.keys((value ?? {}) as AnyInput)[0];
    if (type === 'S' || type === 'N' || type === 'B') kept[name] = value;
  }
  return kept;
}

/** The input without what the audit never reads and would cost memory: bodies and whole items. */
function summarize(input: AnyInput): AnyInput {
  const { Body: _body, Item, ...rest } = input;
  return Item === undefined ? rest : { ...rest, Item: scalarAttributes(Item) };
}

async function regionOf(config: { region?: unknown }): Promise<string> {
  const region = typeof config.region === 'function' ? await config.region() : config.region;
  return String(region ?? process.env.AWS_REGION ?? 'us-east-1');
}

function attach(client: SendingClient): void {
  const recorder = state();
  const stack = client.middlewareStack;
  if (recorder.stacks.has(stack)) return;
  recorder.stacks.add(stack);
  const config = client.config;
  stack.add(
    (next: (args: { input: AnyInput }) => Promise<unknown>, context: Record<string, unknown>) =>
      async (args: { input: AnyInput }) => {
        state().calls.push({
          client: String(context.clientName),
          command: String(context.commandName),
          input: summarize(args.input ?? {}),
          region: await regionOf(config),
          scenario: state().scenario,
        });
        return next(args);
      },
    // After serialization (the document client marshals before it), once per request, before retries.
    { step: 'build', name: MIDDLEWARE_NAME, override: true },
  );
}

/** The client name catalog requests are recorded under. */
export const CATALOG_CLIENT = 'IcebergCatalog';

/** The Iceberg table names a catalog request's body gives (a new namespace's, a new table's). */
function catalogBodyNames(body: unknown): AnyInput {
  if (typeof body !== 'string' || !body.startsWith('{')) return {};
  try {
    const parsed = JSON.parse(body) as { namespace?: unknown; name?: unknown };
    return {
      ...(Array.isArray(parsed.namespace) ? { BodyNamespace: parsed.namespace.join('.') } : {}),
      ...(typeof parsed.name === 'string' ? { BodyName: parsed.name } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Wraps fetch so that every request records itself as a catalog request; the audit keeps those that go
 * to a pipeline's catalog URL. The tests' own catalog clients use `arrangementFetch`, which is not wrapped.
 */
function recordFetch(): void {
  const holder = globalThis as { fetch: typeof fetch; [PATCHED]?: boolean };
  if (holder[PATCHED]) return;
  const original = holder.fetch;
  keepOriginalFetch(original);
  holder.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    state().calls.push({
      client: CATALOG_CLIENT,
      command: method.toUpperCase(),
      input: { Url: url, ...catalogBodyNames(init?.body) },
      region: process.env.AWS_REGION ?? 'us-east-1',
      scenario: state().scenario,
    });
    return original(input, init);
  };
  holder[PATCHED] = true;
}

/** Starts recording: every SDK client of this process not marked `forArrangement` records its requests. */
export function installRecorder(): void {
  recordFetch();
  const required = createRequire(import.meta.url)('@smithy/core/client') as { Client: typeof Client };
  for (const cls of new Set([Client, required.Client])) {
    const prototype = cls.prototype as unknown as Record<PropertyKey, unknown>;
    if (prototype[PATCHED]) continue;
    const send = prototype.send as (...args: unknown[]) => unknown;
    prototype.send = function (this: SendingClient, ...args: unknown[]) {
      if (!isArrangement(this)) attach(this);
      return send.apply(this, args);
    };
    prototype[PATCHED] = true;
  }
}

/** Attributes the requests from now on to `scenario`. */
export function setScenario(scenario: Scenario): void {
  state().scenario = scenario;
}

/** The requests recorded since the last `takeCalls`, which it forgets. */
export function takeCalls(): RecordedCall[] {
  const taken = state().calls;
  state().calls = [];
  return taken;
}

/** The requests recorded since the last `takeCalls`, kept. */
export function peekCalls(): readonly RecordedCall[] {
  return [...state().calls];
}

/** Records a pipeline config a run was given (every config comes from `loadConfig`). */
export function recordConfig(config: PullerConfig): void {
  state().configs.set(JSON.stringify(config), config);
}

/** Every config recorded in this test file. */
export function recordedConfigs(): PullerConfig[] {
  return [...state().configs.values()];
}
