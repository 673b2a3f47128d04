// The TableCatalog port over the Iceberg REST catalog protocol
// (https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml), with fetch.
//
// Written here rather than taken from the npm iceberg-js client: that client parses answers with
// JSON.parse, which rounds the 63-bit snapshot ids other writers make, so a commit asserting main's head
// would conflict forever once another writer (or S3 Tables' compaction) committed; and it signs no
// requests (its fetch option would have to carry the SigV4 signing and the id fix-up anyway). The few
// calls a window commit needs are short.
import { AccessDeniedError } from '../errors.js';
import { parseCatalogJson, stringifyCatalogJson } from './catalog-json.js';
import { CatalogRequestError, CommitConflictError, CommitStateUnknownError } from './iceberg-errors.js';
import type {
  LoadedTable,
  NewTable,
  TableCatalog,
  TableCommit,
  TableIdentifier,
  TableMetadata,
} from './ports.js';
import type { CatalogFetch } from './sigv4-fetch.js';

/** One request to the catalog, as reported to `onRequest`. */
export interface CatalogRequestReport {
  readonly method: string;
  readonly path: string;
  /** The HTTP status, or 0 when no answer came back. */
  readonly status: number;
  readonly durationMs: number;
}

/** Settings of a REST catalog client. */
export interface RestCatalogOptions {
  /** The catalog's base URI, without `/v1` (e.g. `https://s3tables.us-east-1.amazonaws.com/iceberg`). */
  readonly uri: string;
  /**
   * The warehouse to ask the catalog's configuration for (S3 Tables: the table bucket's ARN; Glue: the
   * account id). @default - none; the catalog's default warehouse
   */
  readonly warehouse?: string;
  /** How requests are sent: sigV4Fetch for AWS. @default - the global fetch, unsigned */
  readonly fetch?: CatalogFetch;
  /** How long one request may go without an answer, ms. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Called after every request (for metrics and logs). */
  readonly onRequest?: (report: CatalogRequestReport) => void;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const namespacePath = (namespace: readonly string[]) => namespace.map(encodeURIComponent).join('%1F');

function errorDetail(answer: Answer): string {
  const error = (answer.body as { error?: { message?: string; type?: string } } | undefined)?.error;
  if (error?.message) return error.type ? `${error.type}: ${error.message}` : error.message;
  return typeof answer.body === 'string' && answer.body ? answer.body.slice(0, 200) : `HTTP ${answer.status}`;
}

function loadedFrom(body: unknown): LoadedTable {
  const result = body as { 'metadata-location': string; metadata: TableMetadata };
  return { metadataLocation: result['metadata-location'], metadata: result.metadata };
}

/** A TableCatalog speaking the Iceberg REST protocol. */
export class RestTableCatalog implements TableCatalog {
  private readonly base: string;
  private readonly send: CatalogFetch;
  private readonly timeoutMs: number;
  private prefix: Promise<string> | undefined;

  constructor(private readonly options: RestCatalogOptions) {
    this.base = options.uri.replace(/\/+$/, '');
    this.send = options.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** Sends one request; a request that got no answer (timeout, lost connection) answers status 0. */
  private async request(method: string, path: string, body?: unknown): Promise<Answer> {
    const started = performance.now();
    let status = 0;
    try {
      const response = await this.send(`${this.base}/${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: stringifyCatalogJson(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await response.text();
      status = response.status;
      const json = (response.headers.get('content-type') ?? '').includes('json') && text !== '';
      return { status, body: json ? parseCatalogJson(text) : text };
    } catch (error) {
      return { status: 0, body: error instanceof Error ? error.message : String(error) };
    } finally {
      this.options.onRequest?.({ method, path, status, durationMs: performance.now() - started });
    }
  }

  private fail(what: string, answer: Answer): never {
    // A refusal of who the run is or what it may do is the same error as S3's or Kafka's (no retry helps).
    if (answer.status === 401 || answer.status === 403)
      throw new AccessDeniedError(`Iceberg catalog request ${what} at ${this.base}: ${errorDetail(answer)}`);
    throw new CatalogRequestError(what, answer.status, errorDetail(answer));
  }

  /** `v1/` and the catalog's prefix for the warehouse, read once from its configuration. */
  private routeBase(): Promise<string> {
    this.prefix ??= (async () => {
      const query = this.options.warehouse ? `?warehouse=${encodeURIComponent(this.options.warehouse)}` : '';
      const answer = await this.request('GET', `v1/config${query}`);
      if (answer.status !== 200) this.fail('GET /v1/config', answer);
      const config = answer.body as { overrides?: { prefix?: string }; defaults?: { prefix?: string } };
      const prefix = config.overrides?.prefix ?? config.defaults?.prefix;
      return prefix ? `v1/${prefix}/` : 'v1/';
    })();
    this.prefix.catch(() => {
      this.prefix = undefined;
    });
    return this.prefix;
  }

  private async tablePath(table: TableIdentifier): Promise<string> {
    return `${await this.routeBase()}namespaces/${namespacePath(table.namespace)}/tables/${encodeURIComponent(table.name)}`;
  }

  async loadTable(table: TableIdentifier): Promise<LoadedTable | undefined> {
    const answer = await this.request('GET', await this.tablePath(table));
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) this.fail('load table', answer);
    return loadedFrom(answer.body);
  }

  async createNamespaceIfMissing(namespace: readonly string[]): Promise<void> {
    // Looked up first: a role that may read the namespace but not create one (the construct creates it)
    // is refused a create even when the namespace exists, before the catalog checks that it does.
    const base = await this.routeBase();
    const found = await this.request('GET', `${base}namespaces/${namespacePath(namespace)}`);
    if (found.status === 200) return;
    if (found.status !== 404) this.fail('load namespace', found);
    const answer = await this.request('POST', `${base}namespaces`, { namespace });
    if (answer.status !== 200 && answer.status !== 409) this.fail('create namespace', answer);
  }

  async createTableIfMissing(table: TableIdentifier, definition: NewTable): Promise<LoadedTable> {
    const path = `${await this.routeBase()}namespaces/${namespacePath(table.namespace)}/tables`;
    const answer = await this.request('POST', path, {
      name: table.name,
      schema: definition.schema,
      'partition-spec': definition.partitionSpec,
      properties: definition.properties,
      ...(definition.location === undefined ? {} : { location: definition.location }),
      'stage-create': false,
    });
    if (answer.status === 200) return loadedFrom(answer.body);
    if (answer.status !== 409) this.fail('create table', answer);
    const existing = await this.loadTable(table);
    if (existing === undefined) this.fail('create table (it exists, then not)', answer);
    return existing;
  }

  async commitTable(table: TableIdentifier, commit: TableCommit): Promise<LoadedTable> {
    const answer = await this.request('POST', await this.tablePath(table), commit);
    if (answer.status === 200) return loadedFrom(answer.body);
    if (answer.status === 409) throw new CommitConflictError(table, errorDetail(answer));
    if (answer.status === 0 || answer.status >= 500)
      throw new CommitStateUnknownError(table, errorDetail(answer));
    this.fail('commit table', answer);
  }
}
