// What the parent asks a measurement child process to do, and what the child answers: one JSON line
// on stdout, after a marker, so whatever else the child logs there is ignored.

/** The marker that starts the child's one result line. */
export const resultMarker = 'KBP_BENCH_RESULT ';

/** Measurement (b): a bare kafkajs consumer reads the whole topic. */
export interface KafkajsReadSpec {
  readonly kind: 'kafkajs-read';
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
}

/** Measurements (c), (d), overhead and memory: one run of the puller's engine. */
export interface PullerRunSpec {
  readonly kind: 'puller-run';
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

/** A measurement for a child process. */
export type ChildSpec = KafkajsReadSpec | PullerRunSpec;

/** What a child measured. Times are ms from the child's start of work (before any connection). */
export interface ChildResult {
  readonly records: number;
  /** Bytes of record values read (b), or bytes the puller reports written (c, d). */
  readonly bytes: number;
  /** Start of work to the end: every record read (b), or the run resolved (puller). */
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
  readonly windowsClosed: number | undefined;
  readonly outcome: string | undefined;
  /** Resident memory when the child began its work: Node, tsx and the modules loaded. */
  readonly startRssBytes: number;
  /** Peak resident memory of the whole child process (getrusage's maxrss). */
  readonly peakRssBytes: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
}

/** What a measurement itself reports; the child adds its memory and CPU figures. */
export type Measured = Omit<ChildResult, 'startRssBytes' | 'peakRssBytes' | 'cpuUserMs' | 'cpuSystemMs'>;
