// A Kafka broker of the test's own, on other ports than the shared one, for tests that kill it. Started
// with the project's script (its jars are in the same cache), killed with SIGKILL, and restarted on its
// own data, so records written before the kill are there after it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, '../../scripts');

function cacheDir(): string {
  return (
    process.env.KBP_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kafka-batch-puller')
  );
}

/** A private single-node broker. */
export class PrivateBroker {
  private readonly env: NodeJS.ProcessEnv;
  private readonly runDir: string;
  private restarted: ChildProcess | undefined;

  constructor(readonly port: number) {
    this.env = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(port + 1),
      KAFKA_HEAP: '-Xms128m -Xmx384m',
    };
    this.runDir = join(cacheDir(), 'run', `kafka-${port}`);
  }

  /** host:port */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await run('bash', [join(scripts, 'kafka.sh'), 'start'], { env: this.env });
  }

  private pid(): number {
    return Number(readFileSync(join(this.runDir, 'kafka.pid'), 'utf8').trim());
  }

  /** Kills the broker at once, as a crash would. */
  kill(): void {
    process.kill(this.pid(), 'SIGKILL');
  }

  /** Starts the broker again on the data it had. */
  async restart(): Promise<void> {
    const version = process.env.KAFKA_VERSION ?? '4.1.1';
    const log = openSync(join(this.runDir, 'logs', 'restart.log'), 'a');
    this.restarted = spawn(
      'java',
      [
        ...(this.env.KAFKA_HEAP ?? '').split(' '),
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dkafka.logs.dir=${join(this.runDir, 'logs')}`,
        `-Dlog4j2.configurationFile=${join(scripts, 'kafka', 'log4j2.properties')}`,
        '-cp',
        `${join(cacheDir(), `kafka-${version}`, 'libs')}/*`,
        'kafka.Kafka',
        join(this.runDir, 'server.properties'),
      ],
      { stdio: ['ignore', log, log], detached: true },
    );
    this.restarted.unref();
    writeFileSync(join(this.runDir, 'kafka.pid'), String(this.restarted.pid));
    await run('node', [
      join(scripts, 'wait-for-kafka.mjs'),
      this.address,
      '60',
      join(this.runDir, 'kafka.pid'),
    ]);
  }

  /** Stops the broker (by its pid) and removes its data. */
  async stop(): Promise<void> {
    await run('bash', [join(scripts, 'kafka.sh'), 'stop'], { env: this.env }).catch(() => {});
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
