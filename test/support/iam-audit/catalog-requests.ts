// Turns a recorded Iceberg REST catalog request into what IAM authorizes when the catalog is the AWS Glue
// Data Catalog's Iceberg REST endpoint, as a deployed pipeline's is (the tests' catalog is Apache
// Iceberg's own server, which checks nothing). The mapping is Glue's "REST APIs for Apache Iceberg"
// reference: every operation needs glue:GetCatalog on the catalog, and its own action on the catalog,
// the database and (for a table operation) the table.
import { AUDIT_ACCOUNT, type IamRequest, UnmappedRequestError } from './iam-requests.js';
import type { RecordedCall } from './recorder.js';

/** The Glue action of each Iceberg REST operation this project's catalog client makes. */
const OPERATIONS: ReadonlyArray<{
  readonly method: string;
  /** The path after `v1/` and the catalog's prefix. */
  readonly path: RegExp;
  readonly operation: string;
  readonly action: string;
}> = [
  { method: 'GET', path: /^config$/, operation: 'GetConfig', action: 'glue:GetCatalog' },
  {
    method: 'GET',
    path: /^namespaces\/[^/]+$/,
    operation: 'LoadNamespaceMetadata',
    action: 'glue:GetDatabase',
  },
  { method: 'POST', path: /^namespaces$/, operation: 'CreateNamespace', action: 'glue:CreateDatabase' },
  {
    method: 'GET',
    path: /^namespaces\/[^/]+\/tables\/[^/]+$/,
    operation: 'LoadTable',
    action: 'glue:GetTable',
  },
  {
    method: 'POST',
    path: /^namespaces\/[^/]+\/tables$/,
    operation: 'CreateTable',
    action: 'glue:CreateTable',
  },
  {
    method: 'POST',
    path: /^namespaces\/[^/]+\/tables\/[^/]+$/,
    operation: 'UpdateTable',
    action: 'glue:UpdateTable',
  },
];

/** The route of a catalog URL below its base: `v1/`, then Glue's `catalogs/<id>/` prefix when present. */
function routeOf(url: string, base: string): string {
  const path = new URL(url).pathname.slice(new URL(base).pathname.replace(/\/+$/, '').length);
  return path.replace(/^\/v1\//, '').replace(/^catalogs\/[^/]+\//, '');
}

/** Whether `call` is a request to the catalog at `base`. */
export function isCatalogRequestTo(call: RecordedCall, base: string): boolean {
  const url = String(call.input.Url ?? '');
  return url.startsWith(`${base.replace(/\/+$/, '')}/`);
}

/**
 * The authorizations Glue's Iceberg REST endpoint makes for `call`, a request to the catalog at `base`.
 * Throws `UnmappedRequestError` for an operation not in the table above.
 */
export function catalogRequestsOf(call: RecordedCall, base: string): IamRequest[] {
  const route = routeOf(String(call.input.Url), base);
  const found = OPERATIONS.find((o) => o.method === call.command && o.path.test(route.split('?')[0] ?? ''));
  const origin = `Iceberg REST ${call.command} ${route}`;
  if (!found)
    throw new UnmappedRequestError(
      `${origin}: no Glue action is known for it; add it to catalog-requests.ts`,
    );
  const segments = route.split('?')[0]?.split('/').map(decodeURIComponent) ?? [];
  // A namespace of several levels is joined by 0x1F in a path; Glue's are one level, a database.
  const database = segments[1] ?? (call.input.BodyNamespace as string | undefined);
  const table = segments[3] ?? (call.input.BodyName as string | undefined);
  const arn = (resource: string) => `arn:aws:glue:${call.region}:${AUDIT_ACCOUNT}:${resource}`;
  const resources = [
    arn('catalog'),
    ...(database === undefined ? [] : [arn(`database/${database}`)]),
    ...(database === undefined || table === undefined ? [] : [arn(`table/${database}/${table}`)]),
  ];
  const requests = resources.map((resource) => ({
    action: found.action,
    resource,
    context: {},
    origin: `${origin} (${found.operation})`,
  }));
  const catalogAccess = { action: 'glue:GetCatalog', resource: arn('catalog'), context: {}, origin };
  return found.action === 'glue:GetCatalog' ? requests : [catalogAccess, ...requests];
}
