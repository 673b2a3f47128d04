// An execution that starts well into a window lands the windows that have ended and returns: it does
// not plan the window still open, nor hold shards polling until it ends, even though that window ends
// within the execution's budget. The next scheduled execution takes it once it has ended.
import { afterEach, describe, expect, it } from 'vitest';
import type { FinalizeResult, PlanResult, ShardTask } from '../../src/engine/step-types.js';
import { produce, readLanded } from '../support/bed.js';
import { answersOf, ShardedPipeline } from '../support/state-machine-bed.js';

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the wall clock is between `fromMs` and `toMs` into a minute. */
async function intoTheMinute(fromMs: number, toMs: number): Promise<void> {
  const phase = Date.now() % MINUTE;
  if (phase < fromMs) await sleep(fromMs - phase);
  else if (phase >= toMs) await sleep(MINUTE - phase + fromMs);
}

describe('an execution that starts late in a window', () => {
  let pipeline: ShardedPipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('lands the ended windows and returns without building the open one', async () => {
    // The construct's defaults: one-minute windows, a budget (and function timeout) of a minute.
    pipeline = await ShardedPipeline.create({ partitions: 2, shards: 2 });
    const { environment, timeoutSeconds } = pipeline.synthesized.function;
    const budgetMs = timeoutSeconds * 1000;
    const marginMs = Number(environment.SAFETY_MARGIN_SECONDS) * 1000;
    await intoTheMinute(20_000, 40_000);
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE;
    await produce(pipeline.topic, [
      { partition: 0, timestamp: minute - 2 * MINUTE + 1 },
      { partition: 1, timestamp: minute - 2 * MINUTE + 2 },
      { partition: 0, timestamp: minute - MINUTE + 3 },
      { partition: 1, timestamp: minute - MINUTE + 4 },
      // In the window open now.
      { partition: 0, timestamp: minute + 5 },
      { partition: 1, timestamp: minute + 6 },
    ]);

    const execution = await pipeline.execute();

    const planEvent = execution.calls[0]?.input as { executionStartTime?: string } | undefined;
    const startMs = Date.parse(planEvent?.executionStartTime ?? '');
    const openStartMs = Math.floor(startMs / MINUTE) * MINUTE;
    // The open window ends before the execution's work must stop: only the planning rule keeps it out.
    expect(openStartMs + MINUTE).toBeLessThan(startMs + budgetMs - marginMs);
    expect(execution.status).toBe('SUCCEEDED');
    const openShards = execution.calls.filter(
      (c) => c.state === 'Shard' && (c.input as { task: ShardTask }).task.windowStartMs >= openStartMs,
    );
    console.log(
      `started ${((startMs - openStartMs) / 1000).toFixed(1)} s into its window; ` +
        `${openShards.length} shard steps for the open window, for ` +
        `${(Math.max(0, ...openShards.map((c) => (c.endedAtMs ?? 0) - c.startedAtMs)) / 1000).toFixed(1)} s`,
    );
    const plans = answersOf<PlanResult>(execution, 'Plan');
    const planned = plans.flatMap((plan) => (plan.kind === 'window' ? [plan.windowStartMs] : []));
    expect(planned).toEqual([minute - 2 * MINUTE, minute - MINUTE].filter((start) => start < openStartMs));
    expect(openShards).toEqual([]);
    // It ended on a plan that found nothing more to do, or on a finalize that said so.
    const last = execution.calls.at(-1);
    if (last?.state === 'Plan') expect(last.output).toMatchObject({ kind: 'stop', outcome: 'caught-up' });
    else expect((last?.output as FinalizeResult | undefined)?.more).toBe(false);
    const landed = await readLanded(pipeline.bucket);
    expect(landed.records.sort()).toEqual(['0:0', '0:1', '1:0', '1:1']);
  });
});
