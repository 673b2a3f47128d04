// The SchemaSource of a Confluent-compatible schema registry (Confluent's, Apicurio's `ccompat` API, ...),
// over fetch: `GET {url}/schemas/ids/{id}` gives a schema, whose references are resolved through
// `GET {url}/subjects/{subject}/versions/{version}`.
//
// Not Confluent's own client (@confluentinc/schemaregistry): it brings axios and the AWS, Azure and
// Google KMS SDKs into the Lambda bundle, for two GET requests. Each schema is fetched once per id for
// the life of this source (one run); the promise is what is kept, so lookups at the same time share
// one request. A registry that cannot answer fails the run (ConnectionError, AccessDeniedError); only a
// schema id it does not hold is the record's fault.

import { AccessDeniedError, ConnectionError, connectionFailure, PullerError } from '../errors.js';
import { type RegisteredSchema, type SchemaReference, type SchemaSource, SchemaType } from '../ports.js';
import type { RegistryLogin } from '../registry-config.js';
import { loginFromSecret } from './login-secret.js';
import { LookupCache } from './lookup-cache.js';

/** How long one request may take, ms. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Waits before the retries of a request that failed in a way a retry can mend, ms. */
const RETRY_DELAYS_MS = [250, 1000] as const;
/** Confluent's error codes for a schema id, a subject, or a version it does not hold. */
const NOT_FOUND_CODES: ReadonlySet<number> = new Set([40401, 40402, 40403]);

/** What a registry gives for a schema (by id, or a subject's version). */
interface SchemaAnswer {
  readonly schema: string;
  readonly schemaType?: string;
  readonly references?: readonly { name: string; subject: string; version: number }[];
}

/** How a RegistrySchemaSource reaches its registry. */
export interface RegistrySchemaSourceOptions {
  /** The registry's base URL, without a trailing slash. */
  readonly url: string;
  /** How to log in. @default - no authentication */
  readonly login?: RegistryLogin;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

const isSchemaAnswer = (body: unknown): body is SchemaAnswer =>
  typeof body === 'object' && body !== null && typeof (body as SchemaAnswer).schema === 'string';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Confluent-compatible schema registry, as the engine's SchemaSource. */
export class RegistrySchemaSource implements SchemaSource {
  private readonly byId = new LookupCache<number, RegisteredSchema | undefined>();
  private readonly byVersion = new LookupCache<string, RegisteredSchema | undefined>();
  private authorization: Promise<string | undefined> | undefined;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: RegistrySchemaSourceOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  schemaById(id: number): Promise<RegisteredSchema | undefined> {
    return this.byId.get(id, () => this.schemaAt(`/schemas/ids/${id}`, `schema id ${id}`));
  }

  /** A subject's version, which a schema references. */
  private version(subject: string, version: number): Promise<RegisteredSchema | undefined> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions/${version}`;
    return this.byVersion.get(`${subject}/${version}`, () =>
      this.schemaAt(path, `subject '${subject}' version ${version}`),
    );
  }

  /**
   * The schema at `path`, its references resolved; undefined when the registry holds none, or holds it
   * but not a schema it references (the schema cannot be read either way).
   */
  private async schemaAt(path: string, what: string): Promise<RegisteredSchema | undefined> {
    const body = await this.get(path, what);
    if (body === undefined) return undefined;
    const references: SchemaReference[] = [];
    for (const { name, subject, version } of body.references ?? []) {
      const schema = await this.version(subject, version);
      if (schema === undefined) return undefined;
      references.push({ name, subject, version, schema });
    }
    const type = Object.values(SchemaType).find((t) => t === body.schemaType) ?? SchemaType.AVRO;
    return { type, text: body.schema, references };
  }

  /** GETs `path`: the schema answered, or undefined for Confluent's "not found"; throws otherwise. */
  private async get(path: string, what: string): Promise<SchemaAnswer | undefined> {
    const url = `${this.options.url}${path}`;
    const failed = `the schema registry at ${this.options.url} could not answer for ${what}`;
    const authorization = await this.authorizationHeader();
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.fetch(url, {
          headers: {
            accept: 'application/vnd.schemaregistry.v1+json, application/json',
            ...(authorization ? { authorization } : {}),
          },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        if (attempt < RETRY_DELAYS_MS.length) {
          await sleep(RETRY_DELAYS_MS[attempt] as number);
          continue;
        }
        throw connectionFailure(failed, error);
      }
      const text = await response.text().catch(() => '');
      const body = (() => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return undefined;
        }
      })();
      if (response.ok && isSchemaAnswer(body)) return body;
      const code = (body as { error_code?: unknown } | undefined)?.error_code;
      if (response.status === 404 && typeof code === 'number' && NOT_FOUND_CODES.has(code)) return undefined;
      if (response.status === 401 || response.status === 403) {
        throw new AccessDeniedError(
          `the schema registry at ${this.options.url} refused ${what} (HTTP ${response.status})`,
        );
      }
      if ((response.status >= 500 || response.status === 429) && attempt < RETRY_DELAYS_MS.length) {
        await sleep(RETRY_DELAYS_MS[attempt] as number);
        continue;
      }
      // A 404 without Confluent's code is no registry's answer (a URL that names no registry API): no
      // record's fault, so the run fails rather than send every record to the errors object.
      throw new ConnectionError(
        `${failed}: HTTP ${response.status}${response.ok ? ' with no schema in the answer' : ''}: ${text.slice(0, 200)}`,
      );
    }
  }

  /** The basic authentication header, worked out once (a secret is read on first use). */
  private authorizationHeader(): Promise<string | undefined> {
    this.authorization ??= (async () => {
      const login = this.options.login ?? { kind: 'none' };
      if (login.kind === 'none') return undefined;
      const { username, password } =
        login.kind === 'basic'
          ? login
          : await loginFromSecret(login.secretArn).catch((error: unknown) => {
              throw error instanceof PullerError
                ? error
                : connectionFailure(
                    `the schema registry's login could not be read from ${login.secretArn}`,
                    error,
                  );
            });
      return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    })();
    this.authorization.catch(() => {
      this.authorization = undefined;
    });
    return this.authorization;
  }
}
