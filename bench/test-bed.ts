// Points the bench at a Kafka broker and an AWS emulator: the ones in the environment, the project's
// test bed when it already runs, or a test bed started here (and stopped again by `release`).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = resolve(import.meta.dirname, '../scripts/services.sh');
/** The bed's services the bench uses (the values scenario starts the registry on its own). */
const SERVICES = ['kafka', 'moto'];

/** The services the bench uses, and how to let go of them. */
export interface TestBed {
  readonly brokers: readonly string[];
  readonly awsEndpoint: string;
  /** True when this bench started some of the bed, so `release` stops that part. */
  readonly started: boolean;
  /** Stops the services this bench started; leaves those it found running. */
  release(): Promise<void>;
}

/**
 * Reads the `export NAME=value` lines that services.sh prints. A value of the form `${NAME:-default}`
 * keeps what the environment already has, as the shell would.
 */
export function parseExports(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, name, raw] of text.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) {
    if (!name || raw === undefined) continue;
    const fallback = /^\$\{([A-Z0-9_]+):-(.*)\}$/.exec(raw);
    out[name] = fallback ? (env[fallback[1] ?? ''] ?? fallback[2] ?? '') : raw;
  }
  return out;
}

/**
 * Makes sure KAFKA_BROKERS, AWS_ENDPOINT_URL and the AWS region and credentials are set in this
 * process's environment (child processes inherit them), starting the test bed when nothing runs.
 */
export async function ensureTestBed(log: (line: string) => void): Promise<TestBed> {
  let started: string[] = [];
  if (!process.env.KAFKA_BROKERS || !(process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3)) {
    // Only what the bench uses: a bed without its Iceberg catalog still counts as running.
    const running = await run('bash', [script, 'status', ...SERVICES]).then(
      ({ stdout }) => stdout,
      () => undefined,
    );
    let stdout = running;
    if (stdout === undefined) {
      log(
        'test bed: not running; starting it with scripts/services.sh start kafka moto (the first time installs them)',
      );
      const startedAt = Date.now();
      ({ stdout } = await run('bash', [script, 'start', ...SERVICES], { maxBuffer: 16 * 1024 * 1024 }));
      // Those someone else already ran stay running when the bench ends.
      started =
        /^# started: (.*)$/m
          .exec(stdout)?.[1]
          ?.split(' ')
          .filter((name) => name !== '') ?? [];
      log(`test bed: started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    } else {
      log('test bed: reusing the running one');
    }
    Object.assign(process.env, parseExports(stdout, process.env));
  }
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim());
  return {
    brokers,
    awsEndpoint: process.env.AWS_ENDPOINT_URL ?? process.env.AWS_ENDPOINT_URL_S3 ?? '',
    started: started.length > 0,
    async release() {
      if (started.length > 0) await run('bash', [script, 'stop', ...started]);
    },
  };
}
