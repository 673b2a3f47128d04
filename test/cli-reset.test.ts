// `kafka-batch-puller reset` as a real process against the real broker, with a local folder and state
// file: a reset to a time or to offsets re-lands exactly the windows from there on, and what it refuses
// (windows the output still holds, a live lease, members in the group) it refuses before writing anything.
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStateStore } from '../src/adapters/file-state-store.js';
import { windowFolder } from '../src/core/key-layout.js';
import type { Manifest } from '../src/core/manifest.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import {
  createBucket,
  createStateTable,
  createTopic,
  getObject,
  listKeys,
  produce,
  s3,
  type TestRecord,
  testKafka,
  uniqueName,
} from './support/bed.js';
import { jsonEvents, runCli } from './support/cli.js';

const intervalMs = 10_000;
const fastWindows = ['--batch-interval-seconds', '10', '--poll-interval-seconds', '1'];
const folders: string[] = [];

afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A pipeline that has landed 4 windows of 5 records per partition (2 partitions), ending where the current one starts. */
async function landedPipeline(where: readonly string[] = []) {
  const cwd = await mkdtemp(join(tmpdir(), 'kbp-reset-'));
  folders.push(cwd);
  const topic = await createTopic(2);
  const groupId = uniqueName('g');
  const currentStart = Math.floor(Date.now() / intervalMs) * intervalMs;
  const windows = [4, 3, 2, 1].map((back) => ({
    startMs: currentStart - back * intervalMs,
    endMs: currentStart - (back - 1) * intervalMs,
  }));
  const records: TestRecord[] = windows.flatMap((window) =>
    [0, 1].flatMap((partition) =>
      Array.from({ length: 5 }, (_, i) => ({ partition, timestamp: window.startMs + i * 1_000 })),
    ),
  );
  await produce(topic, records);
  const pipeline = ['--topic', topic, '--group-id', groupId, ...where];
  const run = () => runCli(['run', ...pipeline, ...fastWindows, '--once'], { cwd });
  const first = await run();
  expect(first.code, first.stderr).toBe(0);
  return { cwd, topic, groupId, windows, pipeline, run };
}

/** The landed windows' manifests under `root`, by window folder, without their close time. */
async function manifestsUnder(root: string): Promise<Map<string, Omit<Manifest, 'closedAt'>>> {
  const names = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  const found = new Map<string, Omit<Manifest, 'closedAt'>>();
  for (const name of names.filter((n) => n.endsWith('_manifest.json')).sort()) {
    const { closedAt: _, ...manifest } = JSON.parse(await readFile(join(root, name), 'utf8')) as Manifest;
    found.set(dirname(name), manifest);
  }
  return found;
}

/** Moves the window folders from `fromMs` on out of `output` into `aside`, as the runbook says. */
async function moveWindowsFrom(output: string, aside: string, topic: string, fromMs: number): Promise<void> {
  const from = windowFolder('', topic, { startMs: fromMs, endMs: fromMs + intervalMs });
  for (const folder of (await manifestsUnder(output)).keys()) {
    if (folder < from) continue;
    await mkdir(dirname(join(aside, folder)), { recursive: true });
    await rename(join(output, folder), join(aside, folder));
  }
}

async function committedOffsets(groupId: string, topic: string): Promise<Record<string, string>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((offsets?.partitions ?? []).map((p) => [String(p.partition), p.offset]));
  } finally {
    await admin.disconnect();
  }
}

function stateFileOf(cwd: string): string {
  return join(cwd, 'kafka-batch-puller-state.json');
}

describe('kafka-batch-puller reset', () => {
  it('refuses, writing nothing, while the output holds windows from the reset point on', async () => {
    const { cwd, topic, groupId, windows, pipeline } = await landedPipeline();
    const stateBefore = await readFile(stateFileOf(cwd), 'utf8');
    const committedBefore = await committedOffsets(groupId, topic);
    const at = new Date((windows[1]?.startMs ?? 0) + 3_000).toISOString();

    const result = await runCli(['reset', ...pipeline, '--to-time', at], { cwd });

    expect(result.code).toBe(1);
    // 3, or more when the run also closed the (empty) window that ended while it ran.
    expect(result.stderr).toMatch(/the output already holds \d+ windows from /);
    for (const window of windows.slice(1, 3))
      expect(result.stderr).toContain(windowFolder('', topic, window));
    expect(result.stderr).not.toContain(windowFolder('', topic, windows[0] as (typeof windows)[0]));
    expect(await readFile(stateFileOf(cwd), 'utf8')).toBe(stateBefore);
    expect(await committedOffsets(groupId, topic)).toEqual(committedBefore);
  });

  it('to a time, re-lands exactly the windows from the window holding it on', async () => {
    const { cwd, topic, groupId, windows, pipeline, run } = await landedPipeline();
    const output = join(cwd, 'kafka-batches');
    const aside = join(cwd, 'aside');
    const from = windows[1]?.startMs ?? 0;
    const landedBefore = await manifestsUnder(output);
    await moveWindowsFrom(output, aside, topic, from);
    const moved = await manifestsUnder(aside);
    const first = moved.get(windowFolder('', topic, windows[1] as (typeof windows)[1]));

    const result = await runCli(
      ['reset', ...pipeline, '--to-time', new Date(from + 3_000).toISOString(), '--json'],
      {
        cwd,
      },
    );

    expect(result.code, result.stderr).toBe(0);
    const [report] = jsonEvents(result.stdout);
    expect(report).toMatchObject({ event: 'reset', committed: true });
    expect(report?.nextWindowStart).toMatchObject({ after: new Date(from).toISOString() });
    const after = Object.fromEntries(
      first?.partitions.map((p) => [String(p.partition), p.startOffset]) ?? [],
    );
    expect(report?.partitions).toEqual(
      [0, 1].map((partition) => expect.objectContaining({ partition, after: after[String(partition)] })),
    );
    expect(await committedOffsets(groupId, topic)).toEqual(after);

    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    const relanded = await manifestsUnder(output);
    // Every window moved aside is back, with the same records, objects and checksums; the earlier one untouched.
    for (const [folder, manifest] of moved) expect(relanded.get(folder)).toEqual(manifest);
    const earlier = windowFolder('', topic, windows[0] as (typeof windows)[0]);
    expect(relanded.get(earlier)).toEqual(landedBefore.get(earlier));
    expect(
      [...relanded.keys()].filter(
        (folder) => folder < windowFolder('', topic, windows[1] as (typeof windows)[1]),
      ),
    ).toEqual([earlier]);
  });

  it('to offsets, moves the state and the group there, and the next run lands from them', async () => {
    const { cwd, topic, groupId, windows, pipeline, run } = await landedPipeline();
    const output = join(cwd, 'kafka-batches');
    const target = windows[2] as (typeof windows)[2];
    await moveWindowsFrom(output, join(cwd, 'aside'), topic, target.startMs);
    const moved = await manifestsUnder(join(cwd, 'aside'));
    const starts = moved
      .get(windowFolder('', topic, target))
      ?.partitions.map((p) => `${p.partition}:${p.startOffset}`);

    const result = await runCli(['reset', ...pipeline, '--to-offsets', (starts ?? []).join(',')], { cwd });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/partition {2}before {2}after/);
    const saved = await new FileStateStore(stateFileOf(cwd)).load(pipelineIdOf(groupId, topic));
    const offsets = Object.fromEntries((starts ?? []).map((s) => s.split(':') as [string, string]));
    expect(saved?.state).toMatchObject({
      offsets,
      nextWindowStartMs: target.startMs,
      pending: null,
      lease: null,
    });
    expect(saved?.state.committedBehind).toBeUndefined();
    expect(await committedOffsets(groupId, topic)).toEqual(offsets);

    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    const relanded = await manifestsUnder(output);
    for (const [folder, manifest] of moved) expect(relanded.get(folder)).toEqual(manifest);
  });

  it('on S3 and DynamoDB, refuses over the windows the bucket holds, and re-lands them once moved', async () => {
    const bucket = await createBucket();
    const table = await createStateTable();
    const prefix = 'raw/zone';
    const { topic, windows, pipeline, run } = await landedPipeline([
      '--output',
      `s3://${bucket}/${prefix}`,
      '--state',
      `dynamodb://${table}`,
    ]);
    const target = windows[2] as (typeof windows)[2];
    const at = ['--to-time', new Date(target.startMs).toISOString()];

    const refused = await runCli(['reset', ...pipeline, ...at]);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`windows from ${new Date(target.startMs).toISOString()} on`);
    expect(refused.stderr).toContain(windowFolder(prefix, topic, target));
    const from = windowFolder(prefix, topic, target);
    const moved = new Map<string, Buffer>();
    for (const key of (await listKeys(bucket)).filter((k) => k >= from)) {
      moved.set(key, await getObject(bucket, key));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }

    const reset = await runCli(['reset', ...pipeline, ...at]);
    expect(reset.code, reset.stderr).toBe(0);
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    // The parts come back byte for byte; the manifests with the same ranges and checksums.
    for (const [key, bytes] of moved) {
      const again = await getObject(bucket, key);
      if (!key.endsWith('_manifest.json')) expect(again.equals(bytes), key).toBe(true);
      else {
        const { closedAt: _a, ...before } = JSON.parse(bytes.toString('utf8')) as Manifest;
        const { closedAt: _b, ...after } = JSON.parse(again.toString('utf8')) as Manifest;
        expect(after).toEqual(before);
      }
    }
  });

  it('refuses while a run holds the lease, naming the run and when its lease expires', async () => {
    const { cwd, topic, groupId, pipeline } = await landedPipeline();
    const store = new FileStateStore(stateFileOf(cwd));
    const pipelineId = pipelineIdOf(groupId, topic);
    const loaded = await store.load(pipelineId);
    const expiresAtMs = Date.now() + 120_000;
    if (!loaded) throw new Error('the first run saved no state');
    await store.save(
      pipelineId,
      { ...loaded.state, lease: { owner: 'cli-elsewhere-42', expiresAtMs } },
      loaded.version,
    );
    const stateBefore = await readFile(stateFileOf(cwd), 'utf8');

    const result = await runCli(['reset', ...pipeline, '--to-latest'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `run cli-elsewhere-42 holds its lease until ${new Date(expiresAtMs).toISOString()}`,
    );
    expect(await readFile(stateFileOf(cwd), 'utf8')).toBe(stateBefore);
  });

  it('refuses while another consumer is a member of the group', async () => {
    const { cwd, topic, groupId, pipeline } = await landedPipeline();
    const consumer = testKafka().consumer({ groupId });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic });
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
      });
      await consumer.run({ eachMessage: async () => {} });
      for (let waited = 0; !joined && waited < 30_000; waited += 100)
        await new Promise((r) => setTimeout(r, 100));
      const stateBefore = await readFile(stateFileOf(cwd), 'utf8');

      const result = await runCli(['reset', ...pipeline, '--to-latest'], { cwd });

      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`consumer group '${groupId}': another consumer is a member of it`);
      expect(await readFile(stateFileOf(cwd), 'utf8')).toBe(stateBefore);
    } finally {
      await consumer.disconnect();
    }
  });
});
