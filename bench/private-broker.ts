// A throwaway single-node Kafka (KRaft) started by a bench for one broker setting the shared test bed
// does not have (scripts/kafka.sh writes group.initial.rebalance.delay.ms=0). It runs from the jars
// scripts/kafka.sh installs, on free ports and in its own temporary folder, and is stopped by its pid.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, '../scripts');

/** A running private broker. */
export interface PrivateBroker {
  readonly brokers: readonly string[];
  /** Stops the broker (TERM, then KILL) and deletes its folder. */
  stop(): Promise<void>;
}

/** What the private broker is started with. */
export interface PrivateBrokerOptions {
  /** The broker's `group.initial.rebalance.delay.ms`. */
  readonly initialRebalanceDelayMs: number;
  readonly kafkaVersion?: string;
  /** Longest wait for the broker to answer a metadata request. */
  readonly readyTimeoutMs?: number;
}

function cacheDir(): string {
  return (
    process.env.KBP_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kafka-batch-puller')
  );
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function serverProperties(dir: string, port: number, controllerPort: number, delayMs: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=3',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    `group.initial.rebalance.delay.ms=${delayMs}`,
    '',
  ].join('\n');
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

async function waitUntilReady(broker: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the private Kafka exited with code ${child.exitCode}`);
    const admin = new Kafka({
      clientId: 'kbp-bench-private-probe',
      brokers: [broker],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`the private Kafka at ${broker} was not ready in ${timeoutMs} ms`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

/** Starts a private broker with the given setting; installs the broker's jars first when missing. */
export async function startPrivateBroker(options: PrivateBrokerOptions): Promise<PrivateBroker> {
  const version = options.kafkaVersion ?? process.env.KAFKA_VERSION ?? '4.1.1';
  await run('bash', [join(scripts, 'kafka.sh'), 'install'], {
    env: { ...process.env, KAFKA_VERSION: version },
    maxBuffer: 16 * 1024 * 1024,
  });
  const libs = join(cacheDir(), `kafka-${version}`, 'libs');
  const dir = await mkdtemp(join(tmpdir(), 'kbp-bench-kafka-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const properties = join(dir, 'server.properties');
  await writeFile(
    properties,
    serverProperties(dir, port, controllerPort, options.initialRebalanceDelayMs),
    'utf8',
  );
  const java = [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    `-Dlog4j2.configurationFile=${join(scripts, 'kafka', 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
  const { stdout: clusterId } = await run('java', [...java, 'kafka.tools.StorageTool', 'random-uuid']);
  await run('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId.trim(), '-c', properties]);
  const child = spawn('java', [...java, 'kafka.Kafka', properties], { stdio: 'ignore' });
  const broker = `127.0.0.1:${port}`;
  const stop = async () => {
    if (!(await waitForExit(child, 0))) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 20_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(broker, child, options.readyTimeoutMs ?? 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { brokers: [broker], stop };
}
