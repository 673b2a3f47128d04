// The machine and software a bench ran on, for the results: figures mean little without them.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, homedir, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Where and with what the bench ran. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly kafkajs: string;
  readonly awsSdk: string;
  readonly kafkaBroker: string;
  readonly moto: string;
  /** The commit measured, with `+changes` when the work tree differs from it. */
  readonly commit: string;
}

async function cpuModel(): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

// The test bed's scripts keep each service's pid under the cache folder; the service's command line
// names the versioned folder it runs from (kafka-4.1.1/libs, moto-5.2.5/bin).
async function bedServiceVersion(
  service: 'kafka' | 'moto',
  port: string | undefined,
): Promise<string | undefined> {
  if (!port) return undefined;
  const cache =
    process.env.KBP_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kafka-batch-puller');
  try {
    const pid = (await readFile(join(cache, 'run', `${service}-${port}`, `${service}.pid`), 'utf8')).trim();
    const commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    return new RegExp(`${service}-(\\d+\\.\\d+\\.\\d+)/`).exec(commandLine)?.[1];
  } catch {
    return undefined;
  }
}

async function gitCommit(): Promise<string> {
  try {
    const { stdout: head } = await run('git', ['rev-parse', '--short', 'HEAD']);
    const { stdout: status } = await run('git', ['status', '--porcelain', '--untracked-files=no']);
    return `${head.trim()}${status.trim() ? '+changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Gathers the machine's and the services' facts; anything that cannot be found reads 'unknown'. */
export async function describeMachine(brokers: readonly string[], awsEndpoint: string): Promise<MachineInfo> {
  const kafkaPort = brokers[0]?.split(':')[1];
  const motoPort = /:(\d+)\/?$/.exec(awsEndpoint)?.[1];
  return {
    cpuModel: await cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    kafkajs: packageVersion('kafkajs'),
    awsSdk: packageVersion('@aws-sdk/client-s3'),
    kafkaBroker: (await bedServiceVersion('kafka', kafkaPort)) ?? 'unknown (not the project test bed)',
    moto: (await bedServiceVersion('moto', motoPort)) ?? 'unknown (not the project test bed)',
    commit: await gitCommit(),
  };
}
