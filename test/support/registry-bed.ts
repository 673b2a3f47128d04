// The schema registry of the test bed: Confluent's REST API, served by Apicurio Registry started by
// scripts/registry.sh unless SCHEMA_REGISTRY_URL names a registry. Only the tests that need it start it
// (it is not part of the default bed), and the global setup stops it at the end of the run that did.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../scripts/registry.sh');

/**
 * How long starting the registry may take: on a machine whose Maven repository lacks its artifacts the
 * first start builds it (minutes). A `beforeAll` that calls {@link registryUrl} passes this as its timeout.
 */
export const REGISTRY_START_TIMEOUT_MS = 900_000;

let starting: Promise<string> | undefined;

async function startRegistry(): Promise<string> {
  // Fails the test file (never skips it) when the registry cannot start; the script's stderr says why.
  const { stdout } = await run('bash', [SCRIPT, 'start'], {
    timeout: REGISTRY_START_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  const url = /^SCHEMA_REGISTRY_URL=(.+)$/m.exec(stdout)?.[1];
  if (!url) throw new Error(`${SCRIPT} start printed no SCHEMA_REGISTRY_URL: ${stdout}`);
  // Not put in process.env: the handler reads its settings from there, and tests of other pipelines
  // running later in this worker would inherit it.
  return url;
}

/**
 * The Confluent-compatible API's base URL (ending in `/apis/ccompat/v7` for the bed's registry):
 * SCHEMA_REGISTRY_URL, or the bed's registry, started once per worker if it is not running.
 */
export function registryUrl(): Promise<string> {
  const given = process.env.SCHEMA_REGISTRY_URL;
  if (given) return Promise.resolve(given);
  starting ??= startRegistry();
  return starting;
}

async function registryRuns(): Promise<boolean> {
  return run('bash', [SCRIPT, 'status']).then(
    () => true,
    () => false,
  );
}

/**
 * For the global setup: returns what, at the end of the run, stops the bed's registry when a test started
 * it during the run. A registry that ran before the run, or one SCHEMA_REGISTRY_URL names, is left alone.
 */
export async function stopRegistryStartedDuringRun(): Promise<() => Promise<void>> {
  if (process.env.SCHEMA_REGISTRY_URL || (await registryRuns())) return async () => {};
  return async () => {
    if (await registryRuns()) await run('bash', [SCRIPT, 'stop']);
  };
}

/** An Avro order schema's version 1. */
export const AVRO_ORDER_V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'bed',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};

/** Version 1 plus a field with a default: readers of version 2 can read version 1's records (BACKWARD). */
export const AVRO_ORDER_V2 = {
  ...AVRO_ORDER_V1,
  fields: [...AVRO_ORDER_V1.fields, { name: 'currency', type: 'string', default: 'EUR' }],
};

/** A schema's type as the registry's API names it (Avro when absent). */
export type RegistrySchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

/**
 * Registers `schema` (its text: Avro or JSON Schema as JSON, Protobuf as `.proto` text) under `subject`
 * of the registry at `url`, and answers its id. Throws with the registry's answer when it refuses it.
 */
export async function registerSchema(
  url: string,
  subject: string,
  schemaType: RegistrySchemaType,
  schema: string,
): Promise<number> {
  const response = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schemaType, schema }),
  });
  const body = (await response.json()) as { id?: number };
  if (!response.ok || typeof body.id !== 'number') {
    throw new Error(
      `${subject}: the registry refused the schema (HTTP ${response.status}): ${JSON.stringify(body)}`,
    );
  }
  return body.id;
}
