// Two writers of one part key, against the real broker and the emulator. Parts are completed in S3
// before they are recorded, so a writer that read differently from the one whose part is recorded (a
// retry of a shard whose first invocation still runs, and that read late records past the end the
// other recorded) must not replace a listed object; and an object under a part key that no share
// records (a run of a window's earlier plan, or a dead writer on another runtime) must not keep the
// window from closing.

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Sink } from '../src/adapters/s3-sink.js';
import { partKey } from '../src/core/key-layout.js';
import { buildShard, finalizeWindow, planWindow } from '../src/engine/window-steps.js';
import { AttemptSupersededError } from '../src/errors.js';
import type { BatchSink, RecordSource, WrittenObject } from '../src/ports.js';
import {
  createTopic,
  getObject,
  newPipeline,
  produce,
  readLanded,
  s3,
  type TestRecord,
} from './support/bed.js';
import { countingClient } from './support/counting-s3-client.js';
import {
  bind,
  expectExactlyOnce,
  expectListedObjectsIntact,
  openShardAdapters,
  StepAttempt,
  watchCompletions,
  windowClock,
  withSource,
} from './support/shard-bed.js';

const MINUTE = 60_000;

/** `count` records of about 1 KB on partition 0, stamped from `fromMs` a second apart. */
function records(fromMs: number, count: number, tag: string): TestRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    partition: 0,
    timestamp: fromMs + i * 1000,
    value: `${tag}:${i}:${'x'.repeat(1000)}`,
  }));
}

/** A source whose first fetch waits until `thaw()`: a shard frozen after it planned its reading. */
function frozenSource(source: RecordSource): {
  source: RecordSource;
  frozen: Promise<void>;
  thaw: () => void;
} {
  let thaw!: () => void;
  const thawed = new Promise<void>((resolve) => {
    thaw = resolve;
  });
  let onFrozen!: () => void;
  const frozen = new Promise<void>((resolve) => {
    onFrozen = resolve;
  });
  return {
    frozen,
    thaw,
    source: {
      ...bind(source),
      start: async (positions) => {
        onFrozen();
        await thawed;
        await source.start(positions);
      },
    },
  };
}

/** `sink`, noting what each completed object was said to hold. */
function notingSink(sink: BatchSink): { sink: BatchSink; completed: Map<string, WrittenObject> } {
  const completed = new Map<string, WrittenObject>();
  return {
    completed,
    sink: watchCompletions(sink, { before: (key, written) => completed.set(key, written) }),
  };
}

describe('two writers of one part key', () => {
  it('a second writer of a shard that read late records past the recorded end changes no listed object', async () => {
    const topic = await createTopic(1);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    // 30 records in the window: one part, shorter than the part size (about 44 such records).
    await produce(topic, records(base, 30, 'on-time'));
    const { bucket, config } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
    const attempt = await StepAttempt.open(config, { now: clock });
    const own = await openShardAdapters(config);
    const { client, seen } = countingClient();
    const frozen = frozenSource(own.source);
    const noting = notingSink(new S3Sink(client, bucket));
    try {
      const plan = await planWindow(attempt.context, 1);
      if (plan.kind !== 'window') throw new Error(`no window planned: ${plan.outcome}`);
      const [task] = plan.tasks;
      if (!task) throw new Error('no task');
      // The first invocation of the shard plans its reading, then freezes before its first fetch.
      const first = buildShard(
        { ...withSource(attempt.context, frozen.source), sink: noting.sink, store: own.store },
        task,
      );
      first.catch(() => {}); // awaited below
      await frozen.frozen;

      // Its retry reads the partition, closes it by idle time at offset 30, and records part 0.
      const retry = await buildShard(attempt.context, task);
      const window = { startMs: plan.windowStartMs, endMs: plan.windowEndMs };
      const key = partKey(config.output.prefix, topic, window, 0, 0, config.compression, config.format);

      // Late records arrive; the first invocation thaws and reads them with the rest, past offset 30.
      await produce(topic, records(base + 30_000, 40, 'late'));
      frozen.thaw();
      const refused = await first.then(
        () => undefined,
        (error: unknown) => error,
      );
      const closed = await finalizeWindow(attempt.context, plan, [retry]);

      expect(closed.outcome).toBe('closed');
      const [manifest] = await readLanded(bucket).then((landed) => landed.manifests);
      if (!manifest) throw new Error('no manifest');
      expect(manifest.objects.map((o) => [o.key, o.records])).toEqual([[key, 30]]);
      // The first invocation cut part 0 by size with other records, and completed it under that key ...
      expect(noting.completed.get(key)?.sha256).toBeDefined();
      expect(noting.completed.get(key)?.sha256).not.toBe(manifest.objects[0]?.sha256);
      // ... which holds the listed bytes still; the late writer failed, saying why.
      await expectListedObjectsIntact(bucket, manifest);
      expect(refused).toBeInstanceOf(AttemptSupersededError);
      expect(String(refused)).toContain(
        'part 0 of partition 0 is already stored with other bytes, which this shard may not replace: another writer recorded it, up to offset 30',
      );
      expect(seen.preconditionFailed).toBe(1);
    } finally {
      frozen.thaw();
      await own.close();
      await attempt.close();
      client.destroy();
    }
  });

  it('replaces an object no share records under a part key, and closes the window', async () => {
    const topic = await createTopic(1);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, records(base, 30, 'on-time'));
    const { bucket, config } = await newPipeline(topic, { PART_SIZE_MB: '0.05' });
    const window = { startMs: base, endMs: base + MINUTE };
    const key = partKey(config.output.prefix, topic, window, 0, 0, config.compression, config.format);
    // What a writer of an earlier plan of the window left: no share of this plan records it.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'left by an earlier plan' }));
    const attempt = await StepAttempt.open(config, { now: clock });
    try {
      const steps = await attempt.runSteps(1);

      expect(steps.finalized.map((f) => f.outcome)).toContain('closed');
      const manifests = await expectExactlyOnce(bucket, topic);
      expect(manifests.flatMap((m) => m.objects.map((o) => o.key))).toContain(key);
      expect((await getObject(bucket, key)).toString()).not.toBe('left by an earlier plan');
    } finally {
      await attempt.close();
    }
  });
});
