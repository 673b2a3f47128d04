// Gives every test a real Kafka broker, a real AWS emulator (S3 + DynamoDB) and an Iceberg REST catalog;
// the schema registry is started by the tests that need it (registry-bed.ts) and stopped here.
// When KAFKA_BROKERS and an AWS endpoint are set (for example to the docker compose services),
// those are used as they are (the catalog is then started by the first test that needs it, unless
// ICEBERG_CATALOG_URL names one); otherwise the project's scripts start the Docker-free bed and this
// setup stops what it started, and only that, once the run ends.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { stopRegistryStartedDuringRun } from './registry-bed.js';

const run = promisify(execFile);
const script = resolve(import.meta.dirname, '../../scripts/services.sh');

function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of text.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) {
    const [, name, value] = match;
    if (name && value && !value.startsWith('$')) env[name] = value;
  }
  return env;
}

function hasAwsEndpoint(): boolean {
  return Boolean(
    process.env.AWS_ENDPOINT_URL ||
      (process.env.AWS_ENDPOINT_URL_S3 && process.env.AWS_ENDPOINT_URL_DYNAMODB),
  );
}

/**
 * Starts the Iceberg catalog beside given services (its warehouse in their S3), and returns what stops
 * it if this started it. A catalog that cannot start fails only the tests that need it.
 */
async function startCatalog(): Promise<() => Promise<void>> {
  const catalogScript = resolve(import.meta.dirname, '../../scripts/iceberg.sh');
  const running = await run('bash', [catalogScript, 'status']).then(
    () => true,
    () => false,
  );
  try {
    const { stdout } = await run('bash', [catalogScript, 'start']);
    const url = /^ICEBERG_CATALOG_URL=(.+)$/m.exec(stdout)?.[1];
    if (url) process.env.ICEBERG_CATALOG_URL = url;
  } catch (error) {
    console.warn(`test bed: the Iceberg catalog did not start: ${(error as Error).message}`);
    return async () => {};
  }
  console.log(`test bed: the Iceberg catalog at ${process.env.ICEBERG_CATALOG_URL}`);
  return async () => {
    if (!running) await run('bash', [catalogScript, 'stop']);
  };
}

export default async function setup(): Promise<() => Promise<void>> {
  const stopRegistry = await stopRegistryStartedDuringRun();
  const stopServices = await startServices();
  return async () => {
    await stopServices();
    await stopRegistry();
  };
}

/** Starts the broker, the emulator and the catalog unless given; returns what stops those it started. */
async function startServices(): Promise<() => Promise<void>> {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

  if (process.env.KAFKA_BROKERS && hasAwsEndpoint()) {
    console.log(
      `test bed: using KAFKA_BROKERS=${process.env.KAFKA_BROKERS} and the AWS endpoint from the environment`,
    );
    return process.env.ICEBERG_CATALOG_URL ? async () => {} : startCatalog();
  }

  // Services someone else already runs on these ports are used, and left running afterwards.
  const startedAt = Date.now();
  const { stdout, stderr } = await run('bash', [script, 'start'], { maxBuffer: 16 * 1024 * 1024 });
  process.stderr.write(stderr);
  Object.assign(process.env, parseExports(stdout));
  const started = (/^# started: ?(.*)$/m.exec(stdout)?.[1] ?? '').split(' ').filter(Boolean);
  console.log(
    `test bed: Kafka at ${process.env.KAFKA_BROKERS}, moto at ${process.env.AWS_ENDPOINT_URL} and the Iceberg catalog at ${process.env.ICEBERG_CATALOG_URL} in ${Date.now() - startedAt} ms (started: ${started.join(', ') || 'none'})`,
  );

  return async () => {
    if (started.length > 0) await run('bash', [script, 'stop', ...started]);
  };
}
