// Helpers for tests of sharded windows: a source per shard, a run with N shards in one process, an
// attempt whose steps (plan, shards, finalize) a test calls one at a time, and the checks that a bucket
// holds every record exactly once.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { type Adapters, createAdapters } from '../../src/adapters/create-adapters.js';
import type { PullerConfig } from '../../src/config.js';
import type { Manifest } from '../../src/core/manifest.js';
import { runPipeline } from '../../src/engine/run-pipeline.js';
import type { RunOptions, RunReport } from '../../src/engine/run-types.js';
import { SourceReader } from '../../src/engine/source-reader.js';
import type {
  FinalizeResult,
  PlanResult,
  ShardResult,
  StepContext,
  WindowPlan,
} from '../../src/engine/step-types.js';
import { abandonAttempt, buildShard, finalizeWindow, planWindow } from '../../src/engine/window-steps.js';
import type { BatchSink, RecordSource, SourceBatch, StateStore, WrittenObject } from '../../src/ports.js';
import { getObject, listKeys, readLanded, storedOffsets, uniqueName } from './bed.js';

/**
 * A source of the pipeline's topic for a shard after the first. Only shard 0's source (the one plan and
 * finalize use) commits or reads committed offsets; the others get a throwaway group id, so that a
 * source that joins a consumer group does not rebalance shard 0's (a source that joins none ignores it).
 */
export async function openShardAdapters(config: PullerConfig): Promise<Adapters> {
  return createAdapters({ ...config, groupId: uniqueName('shard-g') });
}

/**
 * `store` with its saves made one at a time. The emulator (moto) checks a PutItem's condition and writes
 * the item without a lock, so two concurrent conditional writes of one item can both succeed, and the
 * second silently drops what the first recorded (measured: 27 of 100 rounds of 6 concurrent writers).
 * DynamoDB itself is atomic. Shards of one attempt write one item concurrently, so their tests send their
 * writes through this: each is still conditional, and a shard that lost the race still retries.
 */
export function atomicStore(store: StateStore): StateStore {
  let last: Promise<unknown> = Promise.resolve();
  return {
    load: (id) => store.load(id),
    save: (id, state, version) => {
      const saved = last.then(() => store.save(id, state, version));
      last = saved.catch(() => {});
      return saved;
    },
    loadShares: (id, pendingId, partitions) => store.loadShares(id, pendingId, partitions),
    saveShares: (id, pendingId, writes) => {
      const saved = last.then(() => store.saveShares(id, pendingId, writes));
      last = saved.catch(() => {});
      return saved;
    },
  };
}

/** Runs the engine once with `shards` shards in this process, each on its own source. */
export async function runSharded(
  config: PullerConfig,
  shards: number,
  extra: Partial<Omit<RunOptions, 'config' | 'source' | 'sink' | 'store' | 'shards' | 'openSource'>> & {
    /** @default until just before the open window could close, by the run's clock (see `windowClock`) */
    seconds?: number;
  } = {},
): Promise<RunReport> {
  const main = await createAdapters(config);
  // openSource is synchronous: the sources are opened before the run and handed out in shard order.
  const spare = await Promise.all(Array.from({ length: shards - 1 }, () => openShardAdapters(config)));
  let handedOut = 0;
  try {
    const { seconds, ...rest } = extra;
    const now = rest.now ?? Date.now;
    return await runPipeline({
      config,
      source: main.source,
      sink: main.sink,
      store: atomicStore(main.store),
      deadlineMs: seconds === undefined ? beforeOpenWindowCloses(config, now) : now() + seconds * 1000,
      runId: uniqueName('run'),
      shards,
      ...(main.table ? { table: main.table } : {}),
      openSource: () => {
        const adapters = spare[handedOut++];
        if (!adapters) throw new Error(`the test opened only ${shards - 1} extra sources`);
        return adapters.source;
      },
      ...rest,
    });
  } finally {
    await Promise.all([main, ...spare].map((a) => a.close()));
  }
}

/** What an attempt's steps are given beyond the config. */
export interface AttemptOptions {
  /** The attempt's id, the lease owner. @default a unique one */
  readonly attemptId?: string;
  /** @default until just before the open window could close, by the attempt's clock (see `windowClock`) */
  readonly deadlineMs?: number;
  /** The attempt's clock. @default Date.now */
  readonly now?: () => number;
  /** Attempts known to have ended: a lease one of them holds is taken over at once. */
  readonly endedRunIds?: readonly string[];
}

/**
 * One attempt at a pipeline, as a Step Functions execution runs it: plan and finalize (and shard 0) on
 * one set of adapters, every other shard on a source of its own. A test calls the steps itself, or
 * `runSteps` for all of them.
 */
export class StepAttempt {
  /** The attempt's id, the lease owner. */
  readonly id: string;
  /** The context of plan, finalize and shard 0. */
  readonly context: StepContext;
  private readonly shardAdapters = new Map<number, Promise<Adapters>>();
  /** Each shard's one reader of its own source, kept for every window the shard reads. */
  private readonly shardReaders = new Map<number, SourceReader>();
  private closed = false;

  private constructor(
    readonly config: PullerConfig,
    private readonly main: Adapters,
    options: AttemptOptions,
  ) {
    this.id = options.attemptId ?? uniqueName('attempt');
    const now = options.now ?? Date.now;
    this.context = {
      config,
      source: main.source,
      reader: new SourceReader(main.source),
      sink: main.sink,
      store: atomicStore(main.store),
      ...(main.table ? { table: main.table } : {}),
      attemptId: this.id,
      deadlineMs: options.deadlineMs ?? beforeOpenWindowCloses(config, now),
      now,
      ...(options.endedRunIds ? { endedRunIds: options.endedRunIds } : {}),
    };
  }

  static async open(config: PullerConfig, options: AttemptOptions = {}): Promise<StepAttempt> {
    return new StepAttempt(config, await createAdapters(config), options);
  }

  /** The context shard `shard` runs in: shard 0 shares plan's, every other has its own source. */
  async shardContext(shard: number): Promise<StepContext> {
    if (shard === 0) return this.context;
    let adapters = this.shardAdapters.get(shard);
    if (!adapters) {
      adapters = openShardAdapters(this.config);
      this.shardAdapters.set(shard, adapters);
    }
    const { source } = await adapters;
    let reader = this.shardReaders.get(shard);
    if (!reader) {
      reader = new SourceReader(source);
      this.shardReaders.set(shard, reader);
    }
    return { ...this.context, source, reader };
  }

  /** Runs every task of `plan` concurrently, each in its shard's context; throws the first failure. */
  async buildAll(plan: WindowPlan): Promise<ShardResult[]> {
    const settled = await Promise.allSettled(
      // A task with no partitions reads nothing: it needs no source of its own.
      plan.tasks.map(async (task) =>
        buildShard(task.partitions.length === 0 ? this.context : await this.shardContext(task.shard), task),
      ),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<ShardResult>).value);
  }

  /**
   * Plan, shards, finalize, again while finalize says another window may be ready and until plan stops
   * or a window stays incomplete: what the state machine does. Answers every step's result.
   */
  async runSteps(shards: number): Promise<AttemptSteps> {
    const plans: WindowPlan[] = [];
    const results: ShardResult[][] = [];
    const finalized: FinalizeResult[] = [];
    for (;;) {
      const plan = await planWindow(this.context, shards);
      if (plan.kind === 'stop') {
        // A plan that took the lease and then found nothing to do leaves it for the caller to release.
        await abandonAttempt(this.context);
        return { plans, results, finalized, stop: plan };
      }
      plans.push(plan);
      const built = await this.buildAll(plan);
      results.push(built);
      const done = await finalizeWindow(this.context, plan, built);
      finalized.push(done);
      // As the state machine does: plan again only when finalize says another window may be ready.
      if (done.outcome === 'incomplete' || !done.more) return { plans, results, finalized, stop: undefined };
    }
  }

  /** Closes every adapter of the attempt; a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const extra = await Promise.all(this.shardAdapters.values());
    await Promise.all([this.main, ...extra].map((a) => a.close()));
  }
}

/** What `StepAttempt.runSteps` did. */
export interface AttemptSteps {
  /** Every window planned, in order. */
  readonly plans: WindowPlan[];
  /** Each planned window's shard results, in task order. */
  readonly results: ShardResult[][];
  /** Each planned window's finalize answer. */
  readonly finalized: FinalizeResult[];
  /** Plan's last answer, when it (not finalize) ended the loop. */
  readonly stop: (PlanResult & { kind: 'stop' }) | undefined;
}

/**
 * Checks that `bucket` holds every record `topic` holds exactly once: each listed object has its listed
 * size and checksum, no object is unlisted, and each partition's windows follow one another with no gap
 * or overlap. Answers the manifests, in window order.
 */
export async function expectExactlyOnce(bucket: string, topic: string, label = bucket): Promise<Manifest[]> {
  const landed = await readLanded(bucket);
  expect([...landed.records].sort(), label).toEqual((await storedOffsets(topic)).sort());
  expect(landed.unlisted, label).toEqual([]);
  const manifests = [...landed.manifests].sort((a, b) => a.window.startMs - b.window.startMs);
  const reached = new Map<number, string>();
  for (const manifest of manifests) {
    for (const share of manifest.partitions) {
      const before = reached.get(share.partition);
      if (before !== undefined) {
        expect(share.startOffset, `${label}: partition ${share.partition} at ${manifest.window.start}`).toBe(
          before,
        );
      }
      reached.set(share.partition, share.endOffset);
    }
  }
  return manifests;
}

/** Checks that every object `manifest` lists is stored with the listed size and SHA-256. */
export async function expectListedObjectsIntact(bucket: string, manifest: Manifest): Promise<void> {
  for (const object of manifest.objects) {
    const bytes = await getObject(bucket, object.key);
    expect(bytes.length, object.key).toBe(object.bytes);
    expect(createHash('sha256').update(bytes).digest('hex'), object.key).toBe(object.sha256);
  }
}

/** Every key under `prefix`. */
export async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  return (await listKeys(bucket)).filter((key) => key.startsWith(prefix));
}

/**
 * The latest deadline at which a run stops before the window open now could close: the run closes every
 * past window and never waits for the open one. With a `windowClock`, most of a window's length.
 */
export function beforeOpenWindowCloses(config: PullerConfig, now: () => number): number {
  const interval = config.batchIntervalMs;
  return Math.floor(now() / interval) * interval + interval + config.safetyMarginMs - 1;
}

/**
 * A clock at the wall clock's pace that reads one second into a window now, and not earlier than
 * `notBeforeMs`: a run given less than the rest of the window then never waits for the open window to
 * end (the wall clock could be anywhere in its window). A later attempt's clock passes the earlier one's,
 * or its lease's expiry.
 */
export function windowClock(intervalMs: number, notBeforeMs = 0): () => number {
  const real = Date.now();
  let reading = Math.floor(real / intervalMs) * intervalMs + 1000;
  while (reading < notBeforeMs) reading += intervalMs;
  const skew = reading - real;
  return () => Date.now() + skew;
}

/** A source every call of which fails: for a step that must not read at all. */
export function untouchableSource(): RecordSource {
  const refuse = (what: string) => () => {
    throw new Error(`the source was used (${what})`);
  };
  return {
    partitionBounds: async () => refuse('partitionBounds')(),
    topicIdentity: async () => refuse('topicIdentity')(),
    offsetsForTime: async () => refuse('offsetsForTime')(),
    start: async () => refuse('start')(),
    poll: async () => refuse('poll')(),
    pause: refuse('pause'),
    resume: refuse('resume'),
    commit: async () => refuse('commit')(),
    committedOffsets: async () => refuse('committedOffsets')(),
    close: async () => {},
  };
}

/** A sink and a store every call of which fails. */
export function untouchableOutput(): { sink: BatchSink; store: StateStore } {
  const refuse = (what: string) => () => {
    throw new Error(`the ${what} was used`);
  };
  return {
    sink: {
      openObject: refuse('sink'),
      putObject: async () => refuse('sink')(),
      locate: refuse('sink'),
      findKey: async () => refuse('sink')(),
    },
    store: {
      load: async () => refuse('store')(),
      save: async () => refuse('store')(),
      loadShares: async () => refuse('store')(),
      saveShares: async () => refuse('store')(),
    },
  };
}

/**
 * A source that hands out at most `limit` records, then holds every poll until `release()` is called:
 * a shard that stalls mid-window (a frozen Lambda, a slow network) and resumes later. A batch cut at the
 * limit continues from the first record held back.
 */
export function stallingSource(
  source: RecordSource,
  limit: number,
): { source: RecordSource; stalled: Promise<void>; release: () => void } {
  let delivered = 0;
  const heldBack: SourceBatch[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let onStalled!: () => void;
  const stalled = new Promise<void>((resolve) => {
    onStalled = resolve;
  });
  let isReleased = false;
  const drop = (partitions: readonly number[]) => {
    for (let i = heldBack.length - 1; i >= 0; i--) {
      if (partitions.includes((heldBack[i] as SourceBatch).partition)) heldBack.splice(i, 1);
    }
  };
  void released.then(() => {
    isReleased = true;
  });
  return {
    stalled,
    release,
    source: {
      ...bind(source),
      poll: async (maxWaitMs) => {
        if (!isReleased && delivered >= limit) {
          onStalled();
          await released;
        }
        const batches = heldBack.length > 0 ? heldBack.splice(0) : await source.poll(maxWaitMs);
        if (isReleased) return batches;
        const out: SourceBatch[] = [];
        for (const batch of batches) {
          const room = limit - delivered;
          if (room >= batch.records.length) {
            out.push(batch);
            delivered += batch.records.length;
            continue;
          }
          const taken = batch.records.slice(0, Math.max(0, room));
          const rest = batch.records.slice(taken.length);
          if (taken.length > 0) {
            const last = taken[taken.length - 1] as (typeof taken)[number];
            out.push({ ...batch, records: taken, nextOffset: (BigInt(last.offset) + 1n).toString() });
          }
          heldBack.push({ ...batch, records: rest });
          delivered += taken.length;
        }
        return out;
      },
      // Records held back for a partition paused or read again from elsewhere are dropped, as the
      // source drops its own.
      pause: (partitions) => {
        const mine = heldBack.filter((batch) => partitions.includes(batch.partition));
        drop(partitions);
        return [...mine, ...source.pause(partitions)];
      },
      resume: (positions) => {
        drop([...positions.keys()]);
        source.resume(positions);
      },
    },
  };
}

/** `source`'s methods bound to it, to spread into a wrapper. */
export function bind(source: RecordSource): RecordSource {
  return {
    partitionBounds: () => source.partitionBounds(),
    topicIdentity: () => source.topicIdentity(),
    offsetsForTime: (ms) => source.offsetsForTime(ms),
    start: (positions) => source.start(positions),
    poll: (ms) => source.poll(ms),
    pause: (partitions) => source.pause(partitions),
    resume: (positions) => source.resume(positions),
    commit: (positions) => source.commit(positions),
    committedOffsets: () => source.committedOffsets(),
    close: () => source.close(),
  };
}

/** `ctx` with another source, read through a reader of its own (as a shard in its own process has). */
export function withSource(ctx: StepContext, source: RecordSource): StepContext {
  return { ...ctx, source, reader: new SourceReader(source) };
}

/** What a watched sink reports of each object it completes: before the completion, and once it succeeded. */
export interface CompletionWatch {
  readonly before?: (key: string, written: WrittenObject) => void;
  readonly after?: (key: string, written: WrittenObject) => void;
}

/** `sink`, telling `watch` of every object it completes. */
export function watchCompletions(sink: BatchSink, watch: CompletionWatch): BatchSink {
  return {
    ...sink,
    openObject: (key, contentType) => {
      const upload = sink.openObject(key, contentType);
      return {
        write: (chunk) => upload.write(chunk),
        abort: () => upload.abort(),
        complete: async (written, options) => {
          watch.before?.(key, written);
          await upload.complete(written, options);
          watch.after?.(key, written);
        },
      };
    },
    putObject: (key, body, contentType) => sink.putObject(key, body, contentType),
    locate: (key) => sink.locate(key),
    findKey: (prefix, suffix) => sink.findKey(prefix, suffix),
  };
}
