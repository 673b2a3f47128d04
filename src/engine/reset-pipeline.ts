// Moves a stopped pipeline to a time or to offsets, so that its next run lands from there: the state item
// (offsets, window boundary, no pending window) rewritten with conditional writes under a lease of its
// own, and the consumer group committed to the same offsets. Refuses, before writing anything, what would
// make the next run fail or land a window twice: a live run, a window at or after the reset point that
// the output already holds, members in the group. A pipeline's Iceberg table is moved back first.

import { topicFolder, windowFolder } from '../core/key-layout.js';
import { blockingLease, withLease } from '../core/lease.js';
import {
  type ResetTarget,
  recordedIntervalMs,
  resetBoundary,
  resetOffsets,
  resetState,
} from '../core/pipeline-reset.js';
import { type PipelineState, pipelineIdOf } from '../core/pipeline-state.js';
import { GroupHasMembersError } from '../errors.js';
import { ResetRefusal, ResetRefusedError } from '../operator-errors.js';
import type { RecordSource, StateStore, TableRollback, TableRollbackResult } from '../ports.js';
import { firstTimestampAt } from './first-timestamp.js';

/** What to reset, and how. */
export interface ResetRequest {
  readonly topic: string;
  readonly groupId: string;
  /** The output prefix given (the state's recorded one must match). */
  readonly prefix: string;
  readonly target: ResetTarget;
  /** The batch interval, when given; otherwise read from the state's windows. */
  readonly intervalMs?: number;
  /** Records stamped further ahead of the clock do not date the reset point (as in the window rule). */
  readonly futureToleranceMs: number;
  /** The reset's own lease owner id. */
  readonly resetId: string;
  /** How long the reset holds the lease while it commits. */
  readonly leaseMs: number;
  /** How long reading the first records at the new offsets may take. */
  readonly readTimeoutMs: number;
  readonly now: () => number;
}

/** Lists the manifests of landed windows, in key (so time) order. */
export interface LandedWindows {
  /**
   * The manifest keys under `topicFolder` whose window folder sorts at or after `fromFolder` (every one
   * when it is undefined).
   */
  manifestsFrom(topicFolder: string, fromFolder: string | undefined): Promise<string[]>;
}

/** What the reset needs to reach: the state, the topic and its group, the output's landed windows. */
export interface ResetPorts {
  readonly store: StateStore;
  readonly source: RecordSource;
  readonly landed: LandedWindows;
  /** How many members the consumer group has now. */
  readonly groupMembers: () => Promise<number>;
  /** The pipeline's Iceberg table, when it lands one: moved back with the pipeline. */
  readonly table?: TableRollback;
}

/** One partition before and after the reset. */
export interface PartitionReset {
  readonly partition: number;
  /** The saved next offset before; null for a partition the pipeline had not read. */
  readonly before: string | null;
  readonly after: string;
  /** The group's committed offset before; null when it had none. */
  readonly committedBefore: string | null;
}

/** What the reset changed. */
export interface ResetReport {
  readonly pipelineId: string;
  readonly intervalMs: number;
  /** Where the next window started before, and starts now (null: at the first record read). */
  readonly nextWindowStartBefore: number | null;
  readonly nextWindowStartAfter: number | null;
  /** The pending window that was cleared, if any. */
  readonly pendingCleared: { readonly startMs: number; readonly endMs: number } | null;
  readonly partitions: readonly PartitionReset[];
  /** Whether the group now holds the new offsets (false: the next run accepts the old ones until it commits). */
  readonly committed: boolean;
  /** Why the commit failed, when it did. */
  readonly commitError?: string;
  /** What the reset did to the pipeline's Iceberg table, when it lands one. */
  readonly table?: TableRollbackResult;
}

/** How many landed windows a refusal names. */
const NAMED_WINDOWS = 3;

/** Resets the pipeline of `request`; see the file comment. */
export async function resetPipeline(request: ResetRequest, ports: ResetPorts): Promise<ResetReport> {
  const { store, source } = ports;
  const pipelineId = pipelineIdOf(request.groupId, request.topic);
  const refuse = (reason: ResetRefusal, message: string): never => {
    throw new ResetRefusedError(pipelineId, reason, message);
  };
  const loaded = await store.load(pipelineId);
  if (!loaded) {
    return refuse(
      ResetRefusal.NO_STATE,
      'it has no state item, so it has not run: its first run starts where --start (START_POSITION) says',
    );
  }
  const { state } = loaded;
  const blocker = blockingLease(state, request.resetId, request.now());
  if (blocker) {
    refuse(
      ResetRefusal.LEASE_HELD,
      `run ${blocker.owner} holds its lease until ${new Date(blocker.expiresAtMs).toISOString()}. Stop the ` +
        'pipeline (disable its schedule, or stop `run`), wait for that run to end or its lease to expire, ' +
        'then reset again',
    );
  }
  const intervalMs = intervalOf(state, request, refuse);
  const recordedPrefix = state.output?.prefix ?? request.prefix;
  if (recordedPrefix !== request.prefix) {
    refuse(
      ResetRefusal.OUTPUT,
      `its windows are written under the prefix '${recordedPrefix}', not '${request.prefix}': give --output with that prefix`,
    );
  }

  const bounds = await source.partitionBounds();
  const identity = await source.topicIdentity();
  const { target } = request;
  const atTime =
    target.kind === 'time'
      ? await source.offsetsForTime(resetBoundary(target, null, intervalMs, undefined) as number)
      : undefined;
  const { offsets, problems } = resetOffsets(target, bounds, state.offsets, atTime);
  if (problems.length > 0) refuse(ResetRefusal.OFFSETS, problems.join('; '));
  const first =
    target.kind === 'time'
      ? undefined
      : await firstTimestampAt(source, movedOnly(offsets, state.offsets), bounds, {
          futureToleranceMs: request.futureToleranceMs,
          timeoutMs: request.readTimeoutMs,
          now: request.now,
        });
  const boundary = resetBoundary(target, state.nextWindowStartMs, intervalMs, first);

  const folder = topicFolder(recordedPrefix, request.topic);
  const from =
    boundary === null
      ? undefined
      : windowFolder(recordedPrefix, request.topic, { startMs: boundary, endMs: boundary + intervalMs });
  const landed = await ports.landed.manifestsFrom(folder, from);
  if (landed.length > 0) refuse(ResetRefusal.WINDOWS_LANDED, landedMessage(landed, boundary));
  if ((await ports.groupMembers()) > 0) throw new GroupHasMembersError(request.groupId);
  // The table first: a reset that stops after it leaves the state as it was, and a second reset finds the
  // table already moved back; the other way round, a run could find the windows it lands again committed.
  const table = ports.table ? await ports.table.rollBackFrom(pipelineId, boundary) : undefined;
  if (table?.kind === 'refused') refuse(ResetRefusal.TABLE, table.reason);

  const committed = await source.committedOffsets();
  const change = {
    offsets,
    nextWindowStartMs: boundary,
    committed,
    topicIdentity: identity,
    nowMs: request.now(),
  };
  const moved = resetState(state, change);
  // Under a lease of its own, so no run starts between the state write and the commit.
  const version = await store.save(
    pipelineId,
    withLease(moved, request.resetId, request.now() + request.leaseMs),
    loaded.version,
  );
  let commitError: string | undefined;
  try {
    await source.commit(toMap(offsets));
  } catch (error) {
    commitError = error instanceof Error ? error.message : String(error);
  }
  const final =
    commitError === undefined ? resetState(state, { ...change, committed: toMap(offsets) }) : moved;
  await store.save(pipelineId, { ...final, lease: null }, version);

  return {
    pipelineId,
    intervalMs,
    nextWindowStartBefore: state.nextWindowStartMs,
    nextWindowStartAfter: boundary,
    pendingCleared: state.pending
      ? { startMs: state.pending.windowStartMs, endMs: state.pending.windowEndMs }
      : null,
    partitions: bounds
      .map(({ partition }) => ({
        partition,
        before: state.offsets[String(partition)] ?? null,
        after: offsets[String(partition)] as string,
        committedBefore: committed.get(partition) ?? null,
      }))
      .sort((a, b) => a.partition - b.partition),
    committed: commitError === undefined,
    ...(commitError === undefined ? {} : { commitError }),
    ...(table === undefined ? {} : { table }),
  };
}

/**
 * The offsets a reset moves. A partition left where the state has it reads what it would have read
 * anyway, so only the moved ones date the reset point: putting the saved offsets back keeps the boundary.
 */
function movedOnly(
  offsets: Readonly<Record<string, string>>,
  saved: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(offsets).filter(([p, offset]) => saved[p] !== offset));
}

function toMap(offsets: Readonly<Record<string, string>>): Map<number, string> {
  return new Map(Object.entries(offsets).map(([p, offset]) => [Number(p), offset]));
}

/** The batch interval: the one given, which must be the state's when it records one. */
function intervalOf(
  state: PipelineState,
  request: ResetRequest,
  refuse: (reason: ResetRefusal, message: string) => never,
): number {
  const recorded = recordedIntervalMs(state);
  if (recorded !== undefined && request.intervalMs !== undefined && recorded !== request.intervalMs) {
    refuse(
      ResetRefusal.INTERVAL,
      `its windows are ${recorded / 1000} s long, not ${request.intervalMs / 1000} s (--batch-interval-seconds)`,
    );
  }
  const intervalMs = request.intervalMs ?? recorded;
  if (intervalMs === undefined) {
    return refuse(
      ResetRefusal.INTERVAL,
      'its state records no window yet, so its batch interval is unknown: give --batch-interval-seconds',
    );
  }
  return intervalMs;
}

function landedMessage(manifests: readonly string[], boundary: number | null): string {
  const named = manifests.slice(0, NAMED_WINDOWS).map((key) => key.slice(0, key.lastIndexOf('/') + 1));
  const more = manifests.length > NAMED_WINDOWS ? ` and ${manifests.length - NAMED_WINDOWS} more` : '';
  const from = boundary === null ? '' : ` from ${new Date(boundary).toISOString()} on`;
  return (
    `the output already holds ${manifests.length} window${manifests.length === 1 ? '' : 's'}${from} ` +
    `(${named.join(', ')}${more}). The next run would write their keys again, and a create-only write ` +
    'refuses a manifest already there (ObjectExistsError). Move those window folders, and the same ' +
    'windows under errors/, out of the output first, then reset again'
  );
}
