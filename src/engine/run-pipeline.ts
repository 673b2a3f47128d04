// One run of a pipeline in one process: plan a window, build it with the shards, finalize it, and
// again, until no window can close before the deadline. With one shard this is the whole engine; the
// Step Functions path runs the same three steps, each in its own invocation. The order of writes is what
// makes it exactly-once:
//   1. plan records the window as pending, with every partition's start offset,
//   2. each shard writes its partitions' parts, recording each finished part, and each partition's end
//      offset before its last part (so a retry re-reads exactly those records and writes the same bytes),
//   3. finalize writes the manifest last, then commits the window to the pipeline's table if it has one,
//   4. then saves the new boundary and offsets with pending cleared, in one conditional write,
//   5. then commits the offsets to the consumer group (the saved state, not the group, is the truth).
// A run that dies anywhere is finished by the next one, which writes the same keys with the same bytes.
import { pipelineIdOf } from '../core/pipeline-state.js';
import { finalizeWindow } from './finalize-window.js';
import { planWindow } from './plan-window.js';
import { releaseLease } from './release-lease.js';
import { type ClosedWindow, type RunOptions, RunOutcome, type RunReport } from './run-types.js';
import { inProcessShardRunner } from './shard-runner.js';
import { SourceReader } from './source-reader.js';
import type { StepContext } from './step-types.js';

/** Runs the pipeline once; see RunOptions. Resolves with what the run did; throws on failure. */
export async function runPipeline(options: RunOptions): Promise<RunReport> {
  const { config, source, store } = options;
  const now = options.now ?? Date.now;
  const shards = options.shards ?? config.shards;
  const ctx: StepContext = {
    config,
    source,
    // Plan and shard 0 read this source, window after window: what one fetched past its end, the next reads.
    reader: new SourceReader(source),
    sink: options.sink,
    store,
    ...(options.table ? { table: options.table } : {}),
    ...(options.schemas ? { schemas: options.schemas } : {}),
    attemptId: options.runId,
    deadlineMs: options.deadlineMs,
    now,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.endedRunIds ? { endedRunIds: [...options.endedRunIds] } : {}),
    ...(options.listener?.onProgress ? { onProgress: (p) => options.listener?.onProgress?.(p) } : {}),
  };
  const runner = options.shardRunner ?? inProcessShardRunner(ctx, options.openSource);
  const pipelineId = pipelineIdOf(config.groupId, config.topic);
  const closed: ClosedWindow[] = [];
  let outcome: RunOutcome = RunOutcome.CAUGHT_UP;
  let leaseHolder: string | undefined;
  let retentionGapRecords = 0;
  // Set once a plan may have written the lease: from then on the run releases it, however it ends.
  let mayHoldLease = false;
  try {
    for (;;) {
      mayHoldLease = true;
      const plan = await planWindow(ctx, shards);
      retentionGapRecords += plan.retentionGapRecords ?? 0;
      if (plan.kind === 'stop') {
        outcome = plan.outcome;
        if (plan.outcome === RunOutcome.LEASE_HELD) {
          leaseHolder = plan.leaseHolder;
          mayHoldLease = closed.length > 0;
        }
        break;
      }
      const results = await runner.run(plan.tasks);
      const finalized = await finalizeWindow(ctx, plan, results, {
        keepLease: true,
        onWindowClosed: (window) => {
          closed.push(window);
          options.listener?.onWindowClosed?.(window);
        },
      });
      if (finalized.outcome === 'incomplete') {
        outcome = results.find((r) => r.stopped !== null)?.stopped ?? RunOutcome.DEADLINE;
        break;
      }
    }
    const state = mayHoldLease
      ? await releaseLease(store, pipelineId, options.runId, now)
      : (await store.load(pipelineId))?.state;
    let consumerLag: number | undefined;
    if (outcome !== RunOutcome.LEASE_HELD && state) {
      const bounds = await source.partitionBounds().catch(() => []);
      consumerLag = bounds.reduce((sum, b) => {
        const saved = state.offsets[String(b.partition)] ?? b.low;
        // Records an open transaction holds back count: they are in the log, not yet landed.
        return sum + Math.max(0, Number(BigInt(b.highWatermark ?? b.high) - BigInt(saved)));
      }, 0);
    }
    const newest = state?.lastClosedWindow;
    const totals = closed.map((c) => c.manifest.totals);
    return {
      runId: options.runId,
      outcome,
      windowsClosed: closed,
      recordsWritten: totals.reduce((sum, t) => sum + t.records, 0),
      bytesWritten: totals.reduce((sum, t) => sum + t.bytes, 0),
      lateRecords: totals.reduce((sum, t) => sum + t.lateRecords, 0),
      errorRecords: totals.reduce((sum, t) => sum + t.errorRecords, 0),
      retentionGapRecords,
      consumerLag,
      newestWindowAgeSeconds: newest ? Math.max(0, (now() - newest.endMs) / 1000) : undefined,
      ...(leaseHolder === undefined ? {} : { leaseHolder }),
    };
  } catch (error) {
    // The failed write may have been applied after all: the release re-reads the item rather than trust
    // the version this run last knew.
    if (mayHoldLease) await releaseLease(store, pipelineId, options.runId, now).catch(() => {});
    throw error;
  } finally {
    await runner.close();
    await source.close();
  }
}
