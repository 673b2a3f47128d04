// Measurement (a): kcat (librdkafka, C) reading the whole topic: the practical ceiling of this broker
// on this machine, for any client.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** How to install kcat, printed when it is missing. */
export const kcatInstallHint =
  'kcat is not installed; Debian/Ubuntu: apt-get update && apt-get install -y kcat';

/** kcat's version line ("kcat 1.7.1, librdkafka 2.0.2"), or undefined when kcat is not on PATH. */
export async function kcatVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('kcat', ['-V']);
    const version = /Version (\S+).*librdkafka (\S+)/.exec(stdout);
    return version ? `kcat ${version[1]}, librdkafka ${version[2]}` : stdout.split('\n')[0];
  } catch {
    return undefined;
  }
}

/** One kcat read. */
export interface KcatReadResult {
  readonly records: number;
  /** From spawning kcat to its exit: connect, metadata, every fetch. */
  readonly elapsedMs: number;
}

/**
 * Reads every partition of `topic` from the beginning to its end and exits (`-e`). Each record is
 * printed as the single byte '.', so counting output bytes counts records without printing payloads.
 */
export function kcatReadTopic(
  brokers: readonly string[],
  topic: string,
  timeoutMs: number,
): Promise<KcatReadResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // fetch.wait.max.ms=10: kcat learns that a partition has ended from a fetch that comes back empty,
    // which the broker holds this long; librdkafka's default, 500 ms, would add half a second to every read.
    const args = ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '.'];
    const kcat = spawn('kcat', [...args, '-X', 'fetch.wait.max.ms=10'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let records = 0;
    let stderr = '';
    kcat.stdout.on('data', (chunk: Buffer) => {
      records += chunk.length;
    });
    kcat.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => kcat.kill('SIGKILL'), timeoutMs);
    kcat.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    kcat.on('close', (code, signal) => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - started;
      if (code === 0) resolve({ records, elapsedMs });
      else reject(new Error(`kcat ended with ${signal ?? `exit code ${code}`}: ${stderr.trim()}`));
    });
  });
}
