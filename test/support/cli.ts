// Runs the real kafka-batch-puller binary (bin/kafka-batch-puller.ts through tsx) as a child process,
// the way a person runs it, and collects its output.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const bin = resolve(import.meta.dirname, '../../bin/kafka-batch-puller.ts');
// By absolute URL, so the child can run with any working folder.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** How a finished CLI process ended. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where and with what environment the CLI runs. */
export interface CliOptions {
  /** Working folder; default the test process's. */
  readonly cwd?: string;
  /** Added to (and overriding) the test process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The process is killed after this long, ms; default 90 s. */
  readonly timeoutMs?: number;
}

/** A running CLI process: its output so far, a way to signal it, and its end. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();

  constructor(args: readonly string[], options: CliOptions = {}) {
    this.child = spawn(process.execPath, ['--import', tsx, bin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      for (const waiter of this.waiters) waiter();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      for (const waiter of this.waiters) waiter();
    });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    this.exited = new Promise((resolveExit, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        clearTimeout(timer);
        for (const waiter of this.waiters) waiter();
        resolveExit({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Sends a signal (SIGINT is what Ctrl-C sends). */
  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /**
   * Resolves when `condition` holds, checked on every output and every `pollMs`; rejects after
   * `timeoutMs` or when the process ends first, showing the output so far.
   */
  async waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000, pollMs = 50): Promise<void> {
    const giveUpAt = Date.now() + timeoutMs;
    let ended = false;
    void this.exited.then(() => {
      ended = true;
    });
    while (!(await condition())) {
      if (ended) throw new Error(`the CLI exited before the condition held\n${this.stdout}\n${this.stderr}`);
      if (Date.now() > giveUpAt) throw new Error(`timed out waiting\n${this.stdout}\n${this.stderr}`);
      await new Promise<void>((wake) => {
        const done = () => {
          this.waiters.delete(done);
          clearTimeout(timer);
          wake();
        };
        const timer = setTimeout(done, pollMs);
        this.waiters.add(done);
      });
    }
  }
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new CliProcess(args, options).exited;
}

/** The JSON objects a `--json` run printed, one per line; throws on a line that is not JSON. */
export function jsonEvents(stdout: string): Array<Record<string, unknown> & { event: string }> {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown> & { event: string });
}
