// What a caller gives one run of the engine, and what it gets back.
import type { PullerConfig } from '../config.js';
import type { Manifest } from '../core/manifest.js';
import type { OutputRow } from '../core/record-format.js';
import type {
  BatchSink,
  RecordSource,
  SchemaSource,
  StateStore,
  TableCommitOutcome,
  WindowTable,
} from '../ports.js';
import type { RunLogger } from './run-logger.js';
import type { ShardRunner } from './shard-runner.js';

/** User code called by the engine. Both are optional. */
export interface PullerHooks {
  /**
   * Maps a record's default row to the row written. A throw sends the record, with the reason, to the
   * window's errors object; it is counted, never dropped.
   */
  readonly parseRecord?: (row: OutputRow) => unknown;
  /**
   * Called after a window's manifest is written and its new boundary saved: at most once per window. A
   * run that dies between the save and the call does not call it for that window, and no later run does
   * (the window is closed); a throw fails the run after the window is closed. For a notification that
   * must never be missed, react to the manifest object itself (an S3 event on `_manifest.json`).
   */
  readonly onBatchComplete?: (manifest: Manifest) => void | Promise<void>;
}

/** Progress of the open window, for live displays. */
export interface WindowProgress {
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly records: number;
  readonly partitionsDone: number;
  readonly partitions: number;
  /** Records between what this run has read and the partitions' high watermarks, when known. */
  readonly lag: number | undefined;
}

/** A window this run closed. */
export interface ClosedWindow {
  readonly manifest: Manifest;
  /** Where the manifest landed (s3://... or a path). */
  readonly manifestLocation: string;
  /** What the commit to the pipeline's table did; absent when the pipeline lands no table. */
  readonly tableCommit?: TableCommitOutcome;
}

/** Callbacks for progress; all optional and synchronous. */
export interface RunListener {
  onProgress?(progress: WindowProgress): void;
  onWindowClosed?(closed: ClosedWindow): void;
}

/** Everything one run needs. */
export interface RunOptions {
  readonly config: PullerConfig;
  readonly source: RecordSource;
  readonly sink: BatchSink;
  readonly store: StateStore;
  /** The table each closed window is also committed to. @default - none */
  readonly table?: WindowTable;
  /** Where `confluent` keys and values find their schemas (required when a format is confluent). @default - none */
  readonly schemas?: SchemaSource;
  /** Epoch ms by which the run must have returned (the Lambda's deadline); new work stops a safety margin before. */
  readonly deadlineMs: number;
  /** Identifies this run in the lease and in logs. */
  readonly runId: string;
  readonly hooks?: PullerHooks;
  readonly listener?: RunListener;
  /** Where warnings go (a retention gap, ...). @default one JSON line per warning on stderr */
  readonly logger?: RunLogger;
  /** Aborting stops the run at its next safe point: no half-written batch, finished windows committed. */
  readonly signal?: AbortSignal;
  /** Wall clock, epoch ms. */
  readonly now?: () => number;
  /**
   * Ids of runs known to have ended (for example earlier runs of this process). A lease one of them
   * still holds, because its run failed without releasing it, is taken over at once.
   */
  readonly endedRunIds?: Iterable<string>;
  /** How many shards read each window. @default config.shards */
  readonly shards?: number;
  /** Opens another source of the same topic, for shards after the first when they run in this process. */
  readonly openSource?: () => RecordSource;
  /** Runs the shards elsewhere (worker threads). @default in this process */
  readonly shardRunner?: ShardRunner;
}

/** Why a run ended. */
export const RunOutcome = {
  /** Every window that could close has closed; the open one waits for the next run. */
  CAUGHT_UP: 'caught-up',
  /** The deadline came before the open window closed; its finished parts are kept. */
  DEADLINE: 'deadline',
  /** The signal was aborted. */
  ABORTED: 'aborted',
  /** Another run holds the lease; nothing was changed. */
  LEASE_HELD: 'lease-held',
} as const;
/** Why a run ended. */
export type RunOutcome = (typeof RunOutcome)[keyof typeof RunOutcome];

/** What one run did. */
export interface RunReport {
  readonly runId: string;
  readonly outcome: RunOutcome;
  readonly windowsClosed: readonly ClosedWindow[];
  readonly recordsWritten: number;
  readonly bytesWritten: number;
  readonly lateRecords: number;
  readonly errorRecords: number;
  /**
   * Records that retention deleted between the saved offsets and the partitions' first stored offsets
   * before any run read them: lost to this pipeline, and each gap logged as a warning.
   */
  readonly retentionGapRecords: number;
  /** Records left between the saved offsets and the high watermarks at the end of the run. */
  readonly consumerLag: number | undefined;
  /** How far the newest closed window's end trails the wall clock at the end of the run, seconds. */
  readonly newestWindowAgeSeconds: number | undefined;
  /** The lease holder, when the outcome is lease-held. */
  readonly leaseHolder?: string;
}
