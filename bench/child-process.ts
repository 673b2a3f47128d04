// Parent side of a measurement child: starts it, waits for its one result line, and turns a crash or
// a hang into an error that says what the child printed last.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type ChildResult, type ChildSpec, resultMarker } from './child-protocol.js';

const repositoryRoot = resolve(import.meta.dirname, '..');
const childScript = resolve(import.meta.dirname, 'measure-child.ts');
const TAIL_CHARS = 4_000;
/** Extra Node options for every measurement child, e.g. `--cpu-prof --cpu-prof-dir=prof` to profile one (NODE_OPTIONS refuses --cpu-prof). */
const childNodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/**
 * Runs `spec` in a fresh Node process (with tsx, from the repository root, inheriting this process's
 * environment) and returns what it measured. The child is killed after `timeoutMs`.
 */
export function runChild(spec: ChildSpec, timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...childNodeArgs, '--import', 'tsx', childScript, JSON.stringify(spec)],
      {
        cwd: repositoryRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let pending = '';
    let tail = '';
    let result: ChildResult | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      // Only the marker line matters; the rest (the engine's logs) is kept as a short tail for errors.
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(resultMarker))
          result = JSON.parse(line.slice(resultMarker.length)) as ChildResult;
        else tail = `${tail}${line}\n`.slice(-TAIL_CHARS);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      tail = `${tail}${chunk.toString()}`.slice(-TAIL_CHARS);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) return resolvePromise(result);
      const why = timedOut
        ? `did not finish in ${timeoutMs / 1000} s`
        : `ended with ${signal ?? `exit code ${code}`}`;
      reject(new Error(`the ${spec.kind} child ${why}; its last output:\n${tail.trim()}`));
    });
  });
}
