// Who runs a window's shards. In one process each shard gets its own record source (its own Kafka
// connection) and they read concurrently; the CLI can hand them to worker threads instead, and the
// Step Functions path runs each in its own Lambda invocation.
import type { RecordSource } from '../ports.js';
import { buildShard } from './build-shard.js';
import { SourceReader } from './source-reader.js';
import type { ShardResult, ShardTask, StepContext } from './step-types.js';

/** Runs a window's shard tasks. */
export interface ShardRunner {
  /**
   * Runs every task to its end and answers their results in task order. When one fails, the others
   * are still waited for (their recorded parts serve the next attempt), then the first failure is thrown.
   */
  run(tasks: readonly ShardTask[]): Promise<ShardResult[]>;
  /** Releases what the runner holds (sources, threads). */
  close(): Promise<void>;
}

/** Waits for every shard, then answers their results or throws the first failure. */
export async function settleShards(running: ReadonlyArray<Promise<ShardResult>>): Promise<ShardResult[]> {
  const settled = await Promise.allSettled(running);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ShardResult>).value);
}

/**
 * Runs shards in this process: shard 0 on `ctx`'s own source, every other on a source from
 * `openSource`, kept with its reader for the run's later windows.
 */
export function inProcessShardRunner(ctx: StepContext, openSource?: () => RecordSource): ShardRunner {
  const readers = new Map<number, SourceReader>();
  const contextFor = (shard: number): StepContext => {
    if (shard === 0) return ctx;
    let reader = readers.get(shard);
    if (!reader) {
      if (!openSource) throw new Error(`shard ${shard} needs a record source of its own; none can be opened`);
      reader = new SourceReader(openSource());
      readers.set(shard, reader);
    }
    return { ...ctx, source: reader.source, reader, onProgress: undefined };
  };
  return {
    run: (tasks) => settleShards(tasks.map((task) => buildShard(contextFor(task.shard), task))),
    close: async () => {
      await Promise.all([...readers.values()].map(({ source }) => source.close().catch(() => {})));
    },
  };
}
