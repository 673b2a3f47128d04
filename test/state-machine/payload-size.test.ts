// The largest state an execution passes from state to state, at the largest shape the construct takes:
// MAX_SHARDS shards over 2,000 partitions. The synthesized definition runs, and its tasks run the real
// steps as the handler does (the event checked, then runStep) over the engine's ports held in memory,
// so every state's input and output has the size a deployment's would. Step Functions fails a state
// over 256 KiB (States.DataLimitExceeded).
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfig, MAX_SHARDS } from '../../src/config.js';
import type { PlanResult, WindowPlan } from '../../src/engine/step-types.js';
import { runStep } from '../../src/lambda/run-step.js';
import { parseStepEvent, type RawStepEvent } from '../../src/lambda/step-events.js';
import { MemorySink, MemorySource, MemoryStore, type MemoryTopic } from '../support/memory-adapters.js';
import {
  answersOf,
  executeDefinition,
  jsonBytes,
  STATE_PAYLOAD_LIMIT_BYTES,
  synthesizePipeline,
} from '../support/state-machine-bed.js';

const DAY = 86_400_000;
const PARTITIONS = 2000;
/** Offsets of a long-lived topic: sixteen digits, as every offset and end offset in the states will be. */
const LOW_OFFSET = 1_000_000_000_000_000n;

describe(`an execution at ${PARTITIONS} partitions and ${MAX_SHARDS} shards`, () => {
  it('passes no state larger than Step Functions’ 256 KiB', async () => {
    const today = Math.floor(Date.now() / DAY) * DAY;
    // Each partition: a record three days ago, and one the day before yesterday that ends its share of
    // that window (so every shard result carries an end offset and an ending timestamp).
    const topic: MemoryTopic = {
      partitions: new Map(
        Array.from({ length: PARTITIONS }, (_, partition) => [
          partition,
          { low: LOW_OFFSET, timestamps: [today - 3 * DAY + partition, today - DAY + partition] },
        ]),
      ),
      committed: new Map(),
    };
    const { definition, function: fn } = synthesizePipeline({
      topic: 'orders',
      bucket: 'orders-batches',
      table: 'puller-state',
      shards: MAX_SHARDS,
      batchInterval: Duration.days(1),
    });
    const config = loadConfig(fn.environment);
    const sink = new MemorySink();
    const store = new MemoryStore();
    // Shards of one attempt write one item; one at a time here, so no write is lost to a conflict.
    let turn: Promise<unknown> = Promise.resolve();

    const execution = await executeDefinition(definition, async (input) => {
      const event = parseStepEvent(input as RawStepEvent);
      const run = () =>
        runStep(event, {
          config,
          adapters: { source: new MemorySource(topic), sink, store, close: async () => {} },
          deadlineMs: 'deadlineMs' in event ? event.deadlineMs : Date.now() + 60_000,
          hooks: {},
          logger: new Logger({ logLevel: 'SILENT' }),
          metrics: new Metrics({ namespace: 'KafkaBatchPullerTest', serviceName: 'payload-size' }),
        });
      const answer = turn.then(run);
      turn = answer.catch(() => undefined);
      return answer;
    });

    expect(execution.status).toBe('SUCCEEDED');
    const plans = answersOf<PlanResult>(execution, 'Plan').filter(
      (p): p is WindowPlan => p.kind === 'window',
    );
    expect(plans).toHaveLength(2);
    expect(plans[0]?.tasks).toHaveLength(MAX_SHARDS);
    expect(plans[0]?.tasks.flatMap((task) => task.partitions)).toHaveLength(PARTITIONS);
    const finalizeInputs = execution.calls
      .filter((c) => c.state === 'Finalize')
      .map((c) => jsonBytes(c.input));
    console.log(
      `largest state of an execution at ${PARTITIONS} partitions and ${MAX_SHARDS} shards: ` +
        `${execution.largestPayloadBytes} bytes (limit ${STATE_PAYLOAD_LIMIT_BYTES}); ` +
        `finalize's inputs ${finalizeInputs.join(', ')} bytes; plan ${jsonBytes(plans[0])} bytes`,
    );
    expect(execution.largestPayloadBytes).toBeLessThan(STATE_PAYLOAD_LIMIT_BYTES);
  });
});
