// At most one run works on a pipeline: a second run that finds a live lease changes nothing.
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../src/adapters/aws-clients.js';
import { DynamoDbStateStore } from '../src/adapters/dynamodb-state-store.js';
import { newPipelineState } from '../src/core/pipeline-state.js';
import type { BatchSink, StateStore } from '../src/ports.js';
import {
  createTopic,
  listKeys,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  uniqueName,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;

async function setUp() {
  const topic = await createTopic(2);
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
  await produce(
    topic,
    Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, timestamp: base + i * 3_000 })),
  );
  const { bucket, table, groupId, config, pipelineId } = await newPipeline(topic);
  // The runs given this store send through it: a client of the engine's, which the IAM audit records.
  const store = new DynamoDbStateStore(createDynamoDbClient(), table);
  return { config, bucket, store, groupId, topic, pipelineId };
}

/** The real store, counting the writes made through it. */
function counting(store: StateStore): StateStore & { saves: number } {
  const wrapper = {
    saves: 0,
    load: (id: string) => store.load(id),
    save: (...args: Parameters<StateStore['save']>) => {
      wrapper.saves += 1;
      return store.save(...args);
    },
    loadShares: (...args: Parameters<StateStore['loadShares']>) => store.loadShares(...args),
    saveShares: (...args: Parameters<StateStore['saveShares']>) => {
      wrapper.saves += 1;
      return store.saveShares(...args);
    },
  };
  return wrapper;
}

describe('lease', () => {
  it('lets exactly one of two overlapping runs work; the other writes nothing', async () => {
    const { config, bucket, store } = await setUp();
    let inFirstWindow: () => void = () => {};
    const firstIsWorking = new Promise<void>((resolve) => {
      inFirstWindow = resolve;
    });

    // The window clock: the first run catches up without waiting for the open window.
    const clock = windowClock(MINUTE);
    const first = runOnce(config, { now: clock, listener: { onProgress: () => inFirstWindow() } });
    await firstIsWorking;
    const secondStore = counting(store);
    const second = await runOnce(config, { now: clock, store: secondStore });
    const firstReport = await first;

    expect(second.outcome).toBe('lease-held');
    expect(second.leaseHolder).toBe(firstReport.runId);
    expect(second.windowsClosed).toHaveLength(0);
    expect(secondStore.saves).toBe(0);
    expect(firstReport.outcome).toBe('caught-up');
    const landed = await readLanded(bucket);
    expect(landed.records).toHaveLength(40);
    expect(new Set(landed.records).size).toBe(40);
  });

  it('backs off when a rival takes the lease between its read and its first write', async () => {
    const { config, bucket, store, groupId, topic, pipelineId } = await setUp();
    // The rival's write lands right after this run has read the (absent) state.
    let raced = false;
    const racing: StateStore = {
      load: async (id) => {
        const loaded = await store.load(id);
        if (raced) return loaded;
        raced = true;
        const rival = {
          ...newPipelineState(groupId, topic, Date.now()),
          lease: { owner: 'rival', expiresAtMs: Date.now() + MINUTE },
        };
        await store.save(id, rival, loaded?.version);
        return loaded;
      },
      save: (id, state, version) => store.save(id, state, version),
      loadShares: (id, pendingId, partitions) => store.loadShares(id, pendingId, partitions),
      saveShares: (id, pendingId, writes) => store.saveShares(id, pendingId, writes),
    };

    const report = await runOnce(config, { store: racing });

    expect(report.outcome).toBe('lease-held');
    expect(report.leaseHolder).toBe('rival');
    const stored = await store.load(pipelineId);
    expect(stored?.version).toBe(1);
    expect(stored?.state.lease?.owner).toBe('rival');
    expect(await listKeys(bucket)).toEqual([]);
  });

  it('releases the lease of a run that fails, so the next run works at once', async () => {
    const { config, bucket, store, pipelineId } = await setUp();
    // The sink fails its first manifest put (after its retries, as the S3 sink would report it).
    const failingManifest = (sink: BatchSink): BatchSink => ({
      openObject: (key, type) => sink.openObject(key, type),
      putObject: async (key, body, type) => {
        if (key.endsWith('_manifest.json')) throw new Error('manifest write failed');
        return sink.putObject(key, body, type);
      },
      locate: (key) => sink.locate(key),
      findKey: (prefix, suffix) => sink.findKey(prefix, suffix),
    });
    const failedRun = uniqueName('run');
    // One second into a window by this clock, with less time than the rest: the next run catches up
    // without waiting for the open window (on the wall clock it could end just before the deadline).
    const clock = windowClock(MINUTE);

    await expect(
      runOnce(config, {
        runId: failedRun,
        now: clock,
        adapt: (a) => ({ ...a, sink: failingManifest(a.sink) }),
      }),
    ).rejects.toThrow('manifest write failed');
    const afterFailure = await store.load(pipelineId);
    const next = await runOnce(config, { now: clock });

    expect(afterFailure?.state.lease).toBeNull();
    expect(afterFailure?.state.pending?.endOffsets).not.toBeNull();
    expect(next.outcome).toBe('caught-up');
    const landed = await readLanded(bucket);
    expect(landed.records).toHaveLength(40);
    expect(new Set(landed.records).size).toBe(40);
  });
});
