// Gives every test a real Kafka broker and a real AWS emulator (S3 + DynamoDB).
// When KAFKA_BROKERS and an AWS endpoint are set (for example to the docker compose services),
// those are used as they are; otherwise the project's scripts start the Docker-free bed and this
// setup stops what it started once the run ends.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

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

export default async function setup(): Promise<() => Promise<void>> {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

  if (process.env.KAFKA_BROKERS && hasAwsEndpoint()) {
    console.log(
      `test bed: using KAFKA_BROKERS=${process.env.KAFKA_BROKERS} and the AWS endpoint from the environment`,
    );
    return async () => {};
  }

  // Services someone else already runs on these ports are used, and left running afterwards.
  const alreadyRunning = await run('bash', [script, 'status']).then(
    () => true,
    () => false,
  );
  const started = Date.now();
  const { stdout, stderr } = await run('bash', [script, 'start'], { maxBuffer: 16 * 1024 * 1024 });
  process.stderr.write(stderr);
  Object.assign(process.env, parseExports(stdout));
  console.log(
    `test bed: ${alreadyRunning ? 'reusing' : 'started'} Kafka at ${process.env.KAFKA_BROKERS} and moto at ${process.env.AWS_ENDPOINT_URL} in ${Date.now() - started} ms`,
  );

  return async () => {
    if (alreadyRunning) return;
    await run('bash', [script, 'stop']);
  };
}
