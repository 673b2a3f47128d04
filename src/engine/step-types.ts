// What the three steps of a window exchange: plan → shards → finalize. Everything but the context is
// plain JSON, because it crosses Step Functions states and worker threads.
import type { PullerConfig } from '../config.js';
import type { ShareEnd } from '../core/window-rule.js';
import type { BatchSink, RecordSource, SchemaSource, StateStore, WindowTable } from '../ports.js';
import type { RunLogger } from './run-logger.js';
import type { PullerHooks, RunOutcome, WindowProgress } from './run-types.js';
import type { SourceReader } from './source-reader.js';

/** What every step needs: the adapters and the attempt it belongs to. */
export interface StepContext {
  readonly config: PullerConfig;
  /** A shard's source reads only the shard's partitions. */
  readonly source: RecordSource;
  /**
   * What the steps fetch `source` through: its fetch positions and carried batches (see
   * source-reader.ts). Made once, by whoever opens the source, and given to every step that reads it:
   * plan and shard 0, window after window, share one.
   */
  readonly reader: SourceReader;
  readonly sink: BatchSink;
  readonly store: StateStore;
  /** The table each closed window is also committed to; absent when the pipeline lands none. */
  readonly table?: WindowTable;
  /** Where `confluent` keys and values find their schemas; absent when the pipeline reads none. */
  readonly schemas?: SchemaSource;
  /** The attempt's id and lease owner: the Step Functions execution, or the run in one process. */
  readonly attemptId: string;
  /** Epoch ms by which the step must have returned; new work stops a safety margin before. */
  readonly deadlineMs: number;
  /** Wall clock, epoch ms. */
  readonly now?: () => number;
  /** Where warnings go. @default one JSON line per warning on stderr */
  readonly logger?: RunLogger;
  readonly hooks?: PullerHooks;
  /** Aborting stops the step at its next safe point. */
  readonly signal?: AbortSignal;
  /** Ids of attempts known to have ended: a lease one of them still holds is taken over at once. */
  readonly endedRunIds?: Iterable<string>;
  /** Called after each poll of a shard, for live displays. */
  readonly onProgress?: (progress: WindowProgress) => void;
}

/** One shard's share of a window. */
export interface ShardTask {
  readonly attemptId: string;
  /** 0-based. */
  readonly shard: number;
  readonly shards: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** The partitions this shard reads; empty when there are more shards than partitions. */
  readonly partitions: readonly number[];
}

/** A window to build, as the plan step chose it. */
export interface WindowPlan {
  readonly kind: 'window';
  readonly attemptId: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** One task per shard, balanced by the records each must read. */
  readonly tasks: readonly ShardTask[];
  /** Records retention deleted before any run read them (each gap is logged as a warning). */
  readonly retentionGapRecords?: number;
}

/** No window to build now, and why. */
export interface NoWindow {
  readonly kind: 'stop';
  readonly outcome: RunOutcome;
  /** The lease holder, when another attempt holds the lease. */
  readonly leaseHolder?: string;
  /** Records retention deleted before any run read them (each gap is logged as a warning). */
  readonly retentionGapRecords?: number;
}

/** The plan step's answer. */
export type PlanResult = WindowPlan | NoWindow;

/**
 * A shard's answer. Its parts and ends are recorded in the partitions' shares, not here, and what it says
 * of its partitions is summed up: it stays a few hundred bytes whatever their count (a Step Functions
 * state may carry at most 256 KiB).
 */
export interface ShardResult {
  readonly shard: number;
  /** Why the shard stopped before every partition was done; null when all are. */
  readonly stopped: 'deadline' | 'aborted' | null;
  /** How many partitions the shard's task named. */
  readonly partitions: number;
  /** How many of them are done, their end and last part recorded. */
  readonly partitionsDone: number;
  /** Records of the window this shard wrote (data rows, late included). */
  readonly records: number;
  /**
   * How its partitions' shares ended, summed up (at most two entries; see `summarizeShareEnds`): whether
   * a window after this one may be skipped. Shares an earlier attempt ended count as unknown.
   */
  readonly ends: readonly ShareEnd[];
}

/** The finalize step's answer. */
export interface FinalizeResult {
  /** closed: the manifest is written and the boundary moved; incomplete: the window waits for the next attempt. */
  readonly outcome: 'closed' | 'incomplete';
  /** Another window may be ready now: plan again. */
  readonly more: boolean;
  /** The closed window's manifest key. */
  readonly manifestKey?: string;
  /** Records the closed window holds. */
  readonly records?: number;
}
