// The messages between the CLI's main thread and its shard workers. Plain data: they are cloned.
import type { PullerConfig } from '../config.js';
import type { ShardResult, ShardTask } from '../engine/step-types.js';
import type { FailureKind } from '../errors.js';

/** What a worker starts with. */
export interface ShardWorkerData {
  readonly config: PullerConfig;
  /** The run's deadline, epoch ms. */
  readonly deadlineMs: number;
}

/** The main thread's requests. */
export type ShardWorkerRequest =
  | { readonly type: 'shard'; readonly task: ShardTask }
  /** Stop the shard at its next safe point (Ctrl-C). */
  | { readonly type: 'abort' }
  /** Close the adapters and end the thread. */
  | { readonly type: 'close' };

/** A worker's answer to a shard request. */
export type ShardWorkerReply =
  | { readonly type: 'result'; readonly result: ShardResult }
  | { readonly type: 'error'; readonly name: string; readonly message: string; readonly kind: FailureKind };
