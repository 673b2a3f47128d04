// The run lease: at most one run works on a pipeline at a time. Pure: the store enforces it by
// making every write conditional on the version read, this decides who may take it.
import type { PipelineState } from './pipeline-state.js';

/** A lease as stored. */
export type Lease = NonNullable<PipelineState['lease']>;

/**
 * The live lease of another run that stops `runId` from working now, if any. A lease is not live once
 * its expiry (the holder's deadline) has passed, or when its holder is one of `endedRunIds`: a run known
 * to have ended, which failed before it could release it.
 */
export function blockingLease(
  state: PipelineState,
  runId: string,
  nowMs: number,
  endedRunIds: Iterable<string> = [],
): Lease | undefined {
  const lease = state.lease;
  if (lease === null || lease.owner === runId || lease.expiresAtMs <= nowMs) return undefined;
  if (new Set(endedRunIds).has(lease.owner)) return undefined;
  return lease;
}

/** `state` with the lease held by `runId` until `expiresAtMs`. */
export function withLease(state: PipelineState, runId: string, expiresAtMs: number): PipelineState {
  return { ...state, lease: { owner: runId, expiresAtMs } };
}

/** `state` with no lease, for the last write of a run. */
export function withoutLease(state: PipelineState): PipelineState {
  return { ...state, lease: null };
}
