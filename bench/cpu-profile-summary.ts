// Where a profiled run spent its CPU: the self time of a `.cpuprofile` (what `node --cpu-prof` writes,
// e.g. through BENCH_CHILD_NODE_ARGS) summed by function and by module, so a bench run's profile reads
// as two short tables instead of a flame chart. The profile's positions in TypeScript files are tsx's
// output (one line a module), so they are mapped back to the source through tsx's own source maps.
// Usage: npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The parts of V8's `.cpuprofile` JSON this summary reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      /** 0-based. */
      readonly lineNumber: number;
      /** 0-based. */
      readonly columnNumber: number;
    };
  }>;
  /** The node on top of the stack at each sample. */
  readonly samples: readonly number[];
  /** Microseconds between consecutive samples. */
  readonly timeDeltas: readonly number[];
}

type CallFrame = CpuProfile['nodes'][number]['callFrame'];

/** Self time summed under one name. */
export interface SelfTime {
  readonly name: string;
  readonly selfMs: number;
  /** Share of the profile's busy time (idle samples left out). */
  readonly percent: number;
}

/** A file's path within the repository, or its package's name when it is a dependency. */
export function moduleOf(url: string): string {
  if (url === '') return '(V8 and native)';
  if (url.startsWith('node:')) return 'node: (Node core)';
  const path = url.replace(/^file:\/\//, '');
  const packageMatch = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (packageMatch) return packageMatch[1] as string;
  const repositoryMatch = /\/((?:src|bench|bin|test)\/.*)$/.exec(path);
  return repositoryMatch ? (repositoryMatch[1] as string) : path;
}

/**
 * Sums the profile's self time by `keyOf` each frame, largest first. Each sample's time is the delta
 * that follows it, as DevTools counts it; `(idle)` samples are left out of the total.
 */
export function selfTimes(profile: CpuProfile, keyOf: (frame: CallFrame) => string): SelfTime[] {
  const keys = new Map(profile.nodes.map((node) => [node.id, keyOf(node.callFrame)]));
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const sums = new Map<string, number>();
  let busyUs = 0;
  for (const [index, id] of profile.samples.entries()) {
    if (idle.has(id)) continue;
    const us = profile.timeDeltas[index + 1] ?? 0;
    const key = keys.get(id) ?? '?';
    sums.set(key, (sums.get(key) ?? 0) + us);
    busyUs += us;
  }
  return [...sums]
    .map(([name, us]) => ({ name, selfMs: us / 1000, percent: busyUs > 0 ? (100 * us) / busyUs : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

/** One function as `name (module:line)`, the line 1-based as editors count. */
export function functionKey(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  // Node's own modules and a dependency's files by their path, which their line numbers need.
  const inPackage = /.*node_modules\/(.*)$/.exec(frame.url)?.[1];
  const where = frame.url.startsWith('node:') ? frame.url : (inPackage ?? moduleOf(frame.url));
  return `${name} (${where}:${frame.lineNumber + 1})`;
}

/**
 * The profile with each frame of a TypeScript file of src/ at its place in the source (an anonymous
 * function named by the start of its line), by loading the file as tsx loads it in the profiled
 * process; a file that does not load keeps its frames as they are. Only src/: bench/ and bin/ hold
 * entry points, which would run when loaded.
 */
export async function withSourcePositions(profile: CpuProfile): Promise<CpuProfile> {
  process.setSourceMapsEnabled(true);
  const urls = new Set(
    profile.nodes
      .map((n) => n.callFrame.url)
      .filter(
        (url) =>
          url.startsWith('file://') &&
          url.endsWith('.ts') &&
          /\/src\//.test(url) &&
          !url.includes('/node_modules/'),
      ),
  );
  const mapped = new Map<string, (frame: CallFrame) => CallFrame>();
  for (const url of urls) {
    const loaded = await import(url).then(
      () => true,
      () => false,
    );
    const map = loaded ? findSourceMap(url) : undefined;
    if (!map) continue;
    const lines = readFileSync(fileURLToPath(url), 'utf8').split('\n');
    mapped.set(url, (frame) => {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalLine?: number;
        originalColumn?: number;
      };
      if (entry.originalLine === undefined) return frame;
      const text = (lines[entry.originalLine] ?? '').trim();
      return {
        ...frame,
        functionName: frame.functionName || `«${text.length > 48 ? `${text.slice(0, 47)}…` : text}»`,
        lineNumber: entry.originalLine,
        columnNumber: entry.originalColumn ?? 0,
      };
    });
  }
  return {
    ...profile,
    nodes: profile.nodes.map((node) => {
      const map = mapped.get(node.callFrame.url);
      return map ? { ...node, callFrame: map(node.callFrame) } : node;
    }),
  };
}

function table(title: string, rows: readonly SelfTime[]): string {
  const lines = rows.map(
    (r, i) => `| ${i + 1} | ${r.name} | ${r.selfMs.toFixed(0)} | ${r.percent.toFixed(1)} |`,
  );
  return [`| # | ${title} | self ms | % of busy |`, '|---|---|---|---|', ...lines].join('\n');
}

async function main(): Promise<void> {
  const [file, topText] = process.argv.slice(2);
  if (!file) throw new Error('usage: npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [TOP]');
  const top = Number(topText ?? 15);
  const profile = await withSourcePositions(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const byFunction = selfTimes(profile, functionKey);
  const busyMs = byFunction.reduce((sum, r) => sum + r.selfMs, 0);
  process.stdout.write(`${file}: ${busyMs.toFixed(0)} ms busy\n\n`);
  process.stdout.write(`${table('function', byFunction.slice(0, top))}\n\n`);
  process.stdout.write(
    `${table('module', selfTimes(profile, (frame) => moduleOf(frame.url)).slice(0, top))}\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
