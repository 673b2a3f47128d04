// Parent side of a measured puller run: starts bench/puller-child.ts in a fresh Node process, waits for
// its one result line, and turns a crash or a hang into an error that says what the child printed last.
// Each run has its own process so its peak RSS (getrusage's maxrss) is its own.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** The marker that starts the child's one result line on stdout; whatever else it logs is ignored. */
export const resultMarker = 'KBP_BENCH_RESULT ';

/** One run of the puller's engine, asked of a child process. */
export interface PullerRunSpec {
  /** The puller's settings as environment-style variables, read by `loadConfig`. */
  readonly variables: Readonly<Record<string, string>>;
  /** How long the run may take: its deadline is this far after it starts, ms. */
  readonly deadlineAfterMs: number;
  /**
   * Aborts the run (its signal) once this many windows have closed. A run goes on closing windows
   * until its deadline, waiting for the open one to end, so a bench run stops itself once the
   * windows it produced are landed.
   */
  readonly stopAfterWindows?: number;
}

/** What a child measured. Times are ms from the child's start of work (before any connection). */
export interface ChildResult {
  readonly records: number;
  /** Bytes the puller reports written. */
  readonly bytes: number;
  /** Start of work to `runPipeline` resolving. */
  readonly elapsedMs: number;
  /** Start of work to the first record seen; undefined when none came. */
  readonly firstRecordMs: number | undefined;
  /** Start of work to the first window's offsets committed (its `onWindowClosed`). */
  readonly firstCommitMs: number | undefined;
  /**
   * The last window's close (the first `onProgress` with every partition done) to its offsets
   * committed (`onWindowClosed`): writing the last parts, the manifest, the state, the commit.
   */
  readonly closeToCommitMs: number | undefined;
  /** The last window's offsets committed to `runPipeline` resolving (lease released, report built). */
  readonly commitToEndMs: number | undefined;
  readonly windowsClosed: number;
  readonly outcome: string;
  /** Resident memory when the child began its work: Node, tsx and the engine's modules loaded. */
  readonly startRssBytes: number;
  /** Peak resident memory of the whole child process, its worker threads included. */
  readonly peakRssBytes: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
}

const repositoryRoot = resolve(import.meta.dirname, '..');
const childScript = resolve(import.meta.dirname, 'puller-child.ts');
const TAIL_CHARS = 4_000;
/** Extra Node options for every measured child, e.g. `--cpu-prof --cpu-prof-dir=prof` (NODE_OPTIONS refuses --cpu-prof). */
const childNodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/**
 * Runs `spec` in a fresh Node process (with tsx, from the repository root, inheriting this process's
 * environment) and returns what it measured. The child is killed after `timeoutMs`.
 */
export function runChild(spec: PullerRunSpec, timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...childNodeArgs, '--import', 'tsx', childScript, JSON.stringify(spec)],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
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
      reject(new Error(`the puller child ${why}; its last output:\n${tail.trim()}`));
    });
  });
}
