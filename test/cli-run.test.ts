// `kafka-batch-puller run` and `status` as real processes against the real broker, writing to a
// local folder and a local state file: the batches they leave, Ctrl-C, and the lag they report.

import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDynamoDbClient, createS3Client } from '../src/adapters/aws-clients.js';
import { FileStateStore } from '../src/adapters/file-state-store.js';
import { manifestKey } from '../src/core/key-layout.js';
import type { Manifest } from '../src/core/manifest.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import { CliProcess, jsonEvents, runCli } from './support/cli.js';
import { forArrangement } from './support/iam-audit/arrangement.js';
import { storedPending } from './support/stored-pending.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const kafka = new Kafka({ clientId: 'cli-run-test', brokers, logLevel: logLevel.NOTHING });
const intervalMs = 10_000;
/** Small windows and polls so a test sees several windows close within seconds. */
const fastWindows = ['--batch-interval-seconds', '10', '--poll-interval-seconds', '1'];

interface Produced {
  readonly partition: number;
  readonly timestamp: number;
  readonly key: string;
  readonly value: string;
}

let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin.disconnect();
});

async function createTopic(partitions: number): Promise<string> {
  const topic = `cli-${randomUUID()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return topic;
}

async function produce(topic: string, records: readonly Produced[]): Promise<void> {
  // Idempotent: a send retried under load must not write its records twice (the tests count them).
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({
      topic,
      messages: records.slice(i, i + 500).map((r) => ({ ...r, timestamp: String(r.timestamp) })),
    });
  }
  await producer.disconnect();
}

/**
 * `perPartition` records in each of `windows` consecutive windows, the last ending where the current
 * one starts. (Windows after them, up to the current one, close empty if the clock passes a tick.)
 */
function pastWindowRecords(windows: number, partitions: number, perPartition: number) {
  const currentStart = Math.floor(Date.now() / intervalMs) * intervalMs;
  const bounds = Array.from({ length: windows }, (_, w) => {
    const startMs = currentStart - (windows - w) * intervalMs;
    return { startMs, endMs: startMs + intervalMs };
  });
  const records: Produced[] = [];
  for (const [w, window] of bounds.entries()) {
    for (let partition = 0; partition < partitions; partition++) {
      for (let i = 0; i < perPartition; i++) {
        const timestamp = window.startMs + Math.floor((i * intervalMs) / perPartition);
        records.push({ partition, timestamp, key: `k-${i}`, value: JSON.stringify({ w, partition, i }) });
      }
    }
  }
  return { bounds, records };
}

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** The manifests under `output` of windows that hold records (empty windows close too, with no parts). */
async function nonEmptyManifests(output: string): Promise<Manifest[]> {
  const keys = (await filesUnder(output)).filter((f) => f.endsWith('_manifest.json'));
  const manifests = await Promise.all(keys.map((key) => readManifest(output, key)));
  return manifests.filter((m) => m.totals.records > 0);
}

async function readManifest(output: string, key: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(output, key), 'utf8')) as Manifest;
}

/** The rows of a gzip NDJSON object. */
async function readRows(path: string): Promise<Array<{ partition: number; offset: number; value: string }>> {
  const text = gunzipSync(await readFile(path)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('kafka-batch-puller run', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kbp-cli-run-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('with --once writes each closed window as parts and a manifest under ./kafka-batches', async () => {
    const topic = await createTopic(3);
    const { bounds, records } = pastWindowRecords(3, 3, 20);
    await produce(topic, records);
    const groupId = `cli-${randomUUID()}`;

    const result = await runCli(['run', '--topic', topic, '--group-id', groupId, ...fastWindows, '--once'], {
      cwd: dir,
    });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = join(dir, 'kafka-batches');
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => / window .* closed: 60 records, /.test(line))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/run \S+ caught-up after [\d.]+ s: \d+ windows? closed/);
    for (const window of bounds) {
      const key = manifestKey('', topic, window);
      expect(result.stdout).toContain(`-> ${join(output, key)}`);
      const manifest = await readManifest(output, key);
      expect(manifest.window).toMatchObject(window);
      expect(manifest.totals.records).toBe(60);
      expect(manifest.partitions.map((p) => p.records)).toEqual([20, 20, 20]);
      for (const object of manifest.objects) {
        expect((await stat(join(output, object.key))).size).toBe(object.bytes);
        const rows = await readRows(join(output, object.key));
        expect(rows).toHaveLength(object.records);
        expect(rows.map((row) => JSON.parse(row.value).partition)).toEqual(rows.map(() => object.partition));
      }
    }
    expect(await nonEmptyManifests(output)).toHaveLength(3);
    const files = await filesUnder(output);
    expect(files.filter((f) => f.endsWith('.ndjson.gz'))).toHaveLength(9);
    expect(files.filter((f) => !f.endsWith('.ndjson.gz') && !f.endsWith('_manifest.json'))).toEqual([]);
    const saved = await new FileStateStore(join(dir, 'kafka-batch-puller-state.json')).load(
      pipelineIdOf(groupId, topic),
    );
    // At or after the last window with records: an empty window closes too if the clock passed a tick.
    expect(saved?.state.lastClosedWindow?.endMs).toBeGreaterThanOrEqual(bounds[2]?.endMs ?? 0);

    // Exactly once: a second run finds nothing new and writes nothing.
    const again = await runCli(['run', '--topic', topic, '--group-id', groupId, ...fastWindows, '--once'], {
      cwd: dir,
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/, 0 records,/);
    expect((await filesUnder(output)).filter((f) => f.endsWith('.ndjson.gz'))).toEqual(
      files.filter((f) => f.endsWith('.ndjson.gz')),
    );
  });

  it('with --json prints one parseable event per line', async () => {
    const topic = await createTopic(2);
    const { bounds, records } = pastWindowRecords(2, 2, 15);
    await produce(topic, records);
    const output = join(dir, 'out');

    const result = await runCli([
      'run',
      '--topic',
      topic,
      '--group-id',
      `cli-${randomUUID()}`,
      ...fastWindows,
      '--output',
      output,
      '--state',
      join(dir, 'state.json'),
      '--once',
      '--json',
    ]);

    expect(result.code).toBe(0);
    const events = jsonEvents(result.stdout);
    expect(events[0]?.event).toBe('run-started');
    expect(events.at(-1)).toMatchObject({ event: 'run-finished', outcome: 'caught-up', consumerLag: 0 });
    const closed = events.filter((e) => e.event === 'window-closed' && e.records !== 0);
    expect(closed).toHaveLength(2);
    expect(closed[0]).toMatchObject({
      topic,
      start: new Date(bounds[0]?.startMs ?? 0).toISOString(),
      end: new Date(bounds[0]?.endMs ?? 0).toISOString(),
      records: 30,
      manifest: join(output, manifestKey('', topic, bounds[0] ?? { startMs: 0, endMs: 0 })),
    });
    const finished = events.filter((e) => e.event === 'run-finished');
    expect(finished.reduce((sum, e) => sum + Number(e.recordsWritten), 0)).toBe(60);
  });

  it('stops at a safe point on Ctrl-C, leaving no partial batch, and the next run completes it', async () => {
    const topic = await createTopic(3);
    const { records } = pastWindowRecords(6, 3, 1500);
    // About 1 KiB values and 1 MiB parts: each window is several parts, so Ctrl-C lands mid-window.
    const padded = records.map((r) => ({
      ...r,
      value: JSON.stringify({ ...JSON.parse(r.value), pad: 'x'.repeat(1000) }),
    }));
    await produce(topic, padded);
    const groupId = `cli-${randomUUID()}`;
    const output = join(dir, 'out');
    const statePath = join(dir, 'state.json');
    const args = ['run', '--topic', topic, '--group-id', groupId, ...fastWindows, '--part-size-mb', '1'];
    const paths = ['--output', output, '--state', statePath, '--json'];
    const store = new FileStateStore(statePath);
    const pipelineId = pipelineIdOf(groupId, topic);

    const first = new CliProcess([...args, ...paths]);
    await first.waitFor(async () => {
      const pending = await storedPending(store, pipelineId).catch(() => null);
      return (pending?.parts.length ?? 0) > 0;
    });
    first.kill('SIGINT');
    const interrupted = await first.exited;

    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain('stopping at the next safe point');
    expect(jsonEvents(interrupted.stdout).at(-1)).toMatchObject({
      event: 'run-finished',
      outcome: 'aborted',
    });
    const afterStop = await filesUnder(output);
    expect(afterStop.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const saved = await store.load(pipelineId);
    expect(saved?.state.lease).toBeNull();
    const pending = saved?.state.pending;
    expect((await nonEmptyManifests(output)).length).toBeLessThan(6);
    if (pending) {
      const pendingManifest = manifestKey('', topic, {
        startMs: pending.windowStartMs,
        endMs: pending.windowEndMs,
      });
      expect(afterStop).not.toContain(pendingManifest);
    }

    const second = await runCli([...args, ...paths, '--once']);

    expect(second.code).toBe(0);
    const files = await filesUnder(output);
    const manifests = await nonEmptyManifests(output);
    expect(manifests).toHaveLength(6);
    expect(manifests.reduce((sum, m) => sum + m.totals.records, 0)).toBe(padded.length);
    // Every record once: per partition, the windows' offset ranges tile [0, high) without gap or overlap,
    // and the data objects hold exactly those offsets.
    for (const partition of [0, 1, 2]) {
      const ranges = manifests
        .map((m) => m.partitions.find((p) => p.partition === partition))
        .map((p) => [Number(p?.startOffset), Number(p?.endOffset)] as const)
        .sort((a, b) => a[0] - b[0]);
      expect(ranges[0]?.[0]).toBe(0);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.[0]).toBe(ranges[i - 1]?.[1]);
      expect(ranges.at(-1)?.[1]).toBe(6 * 1500);
      const offsets: number[] = [];
      for (const manifest of manifests) {
        for (const object of manifest.objects.filter((o) => o.partition === partition && o.kind === 'data')) {
          offsets.push(...(await readRows(join(output, object.key))).map((row) => row.offset));
        }
      }
      expect(offsets.sort((a, b) => a - b)).toEqual(Array.from({ length: 6 * 1500 }, (_, i) => i));
    }
    // Only what the manifests list is left (the interrupted window's parts were finished, not duplicated).
    const listed = new Set(manifests.flatMap((m) => m.objects.map((o) => o.key)));
    expect(files.filter((f) => !f.endsWith('_manifest.json') && !listed.has(f))).toEqual([]);
  });

  it('exits at once on a second Ctrl-C, leaving the lease to expire at the run deadline', async () => {
    const topic = await createTopic(1);
    // A backlog of a few hundred windows keeps each run busy for its whole budget.
    const currentStart = Math.floor(Date.now() / intervalMs) * intervalMs;
    await produce(
      topic,
      Array.from({ length: 300 }, (_, i) => ({
        partition: 0,
        timestamp: currentStart - (300 - i) * intervalMs,
        key: `k${i}`,
        value: '{}',
      })),
    );
    const groupId = `cli-${randomUUID()}`;
    const statePath = join(dir, 'state.json');
    const store = new FileStateStore(statePath);
    const cli = new CliProcess([
      'run',
      '--topic',
      topic,
      '--group-id',
      groupId,
      ...fastWindows,
      '--output',
      join(dir, 'out'),
      '--state',
      statePath,
    ]);
    // Holding the state file's writer lock while the lease is held keeps the run from releasing it
    // (or saving anything) until the signals have come: the run is stopped mid-window, deterministically.
    const lockPath = `${statePath}.lock`;
    await cli.waitFor(async () => {
      const held = await store.load(pipelineIdOf(groupId, topic)).catch(() => undefined);
      if (held?.state.lease == null) return false;
      const lock = await open(lockPath, 'wx').catch(() => undefined);
      if (!lock) return false;
      await lock.close();
      if ((await store.load(pipelineIdOf(groupId, topic)))?.state.lease != null) return true;
      await unlink(lockPath);
      return false;
    });

    cli.kill('SIGINT');
    await cli.waitFor(() => cli.stderr.includes('press Ctrl-C again'));
    cli.kill('SIGINT');
    const result = await cli.exited;
    await unlink(lockPath);

    expect(result.code).toBe(130);
    expect(result.stderr).toContain('stopping now');
    expect(result.stdout).not.toContain('run-finished');
    const saved = await store.load(pipelineIdOf(groupId, topic));
    expect(saved?.state.lease?.owner).toMatch(/^cli-/);
  });

  it('starts a run at every batch interval until Ctrl-C, then exits with 130', async () => {
    const topic = await createTopic(1);

    const cli = new CliProcess([
      'run',
      '--topic',
      topic,
      '--group-id',
      `cli-${randomUUID()}`,
      ...fastWindows,
      '--output',
      join(dir, 'out'),
      '--state',
      join(dir, 'state.json'),
      '--json',
    ]);
    await cli.waitFor(
      () => jsonEvents(cli.stdout).filter((e) => e.event === 'run-started').length >= 2,
      40_000,
    );
    cli.kill('SIGINT');
    const result = await cli.exited;

    expect(result.code).toBe(130);
    const events = jsonEvents(result.stdout);
    const starts = events.filter((e) => e.event === 'run-started');
    const runs = events.filter((e) => e.event === 'run-finished');
    // The second run starts at the first one's deadline: a multiple of the interval.
    expect(Date.parse(String(starts[1]?.deadline)) - Date.parse(String(starts[0]?.deadline))).toBe(
      intervalMs,
    );
    expect(Date.parse(String(starts[0]?.deadline)) % intervalMs).toBe(0);
    expect(runs[0]).toMatchObject({ outcome: 'caught-up' });
  });
});

describe('kafka-batch-puller on AWS targets', () => {
  it('writes to s3:// and keeps state in dynamodb://, and status reads that state', async () => {
    const bucket = `cli-${randomUUID()}`;
    const table = `cli-${randomUUID()}`;
    const s3 = forArrangement(createS3Client());
    const dynamodb = forArrangement(createDynamoDbClient());
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pipelineId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pipelineId', KeyType: 'HASH' }],
      }),
    );
    const topic = await createTopic(2);
    const { bounds, records } = pastWindowRecords(2, 2, 10);
    await produce(topic, records);
    const pipeline = [
      '--topic',
      topic,
      '--group-id',
      `cli-${randomUUID()}`,
      '--state',
      `dynamodb://${table}`,
    ];

    const run = await runCli([
      'run',
      ...pipeline,
      ...fastWindows,
      '--output',
      `s3://${bucket}/landing/zone`,
      '--once',
    ]);
    const status = await runCli(['status', ...pipeline, '--json']);

    // (stderr may hold the AWS SDK's notice about Node 20 support; no error.)
    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    const key = `landing/zone/${manifestKey('', topic, bounds[0] ?? { startMs: 0, endMs: 0 })}`;
    expect(run.stdout).toContain(`-> s3://${bucket}/${key}`);
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const manifest = JSON.parse((await stored.Body?.transformToString()) ?? '') as Manifest;
    expect(manifest.totals.records).toBe(20);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      saved: true,
      state: `dynamodb://${table}`,
      totalLag: 0,
    });
    s3.destroy();
    dynamodb.destroy();
  });
});

describe('kafka-batch-puller status', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kbp-cli-status-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the lag per partition as the high watermark minus the saved offset', async () => {
    const topic = await createTopic(3);
    const { bounds, records } = pastWindowRecords(2, 3, 10);
    await produce(topic, records);
    const groupId = `cli-${randomUUID()}`;
    const pipeline = ['--topic', topic, '--group-id', groupId, '--state', join(dir, 'state.json')];
    const run = await runCli(['run', ...pipeline, ...fastWindows, '--output', join(dir, 'out'), '--once']);
    expect(run.code).toBe(0);
    await produce(
      topic,
      Array.from({ length: 25 }, (_, i) => ({
        partition: 1,
        timestamp: Date.now(),
        key: `new-${i}`,
        value: '{}',
      })),
    );

    const json = await runCli(['status', ...pipeline, '--json']);
    const text = await runCli(['status', ...pipeline]);

    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status).toMatchObject({
      event: 'status',
      pipelineId: pipelineIdOf(groupId, topic),
      saved: true,
      pending: null,
      lease: null,
      totalLag: 25,
    });
    expect(Date.parse(status.lastClosedWindow.end)).toBeGreaterThanOrEqual(bounds[1]?.endMs ?? 0);
    expect(status.partitions).toEqual([
      { partition: 0, savedOffset: '20', committedOffset: '20', low: '0', high: '20', lag: 0 },
      { partition: 1, savedOffset: '20', committedOffset: '20', low: '0', high: '45', lag: 25 },
      { partition: 2, savedOffset: '20', committedOffset: '20', low: '0', high: '20', lag: 0 },
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\s+1\s+20\s+20\s+45\s+25$/m);
    expect(text.stdout).toMatch(/^total lag\s+25$/m);
    expect(text.stdout).toMatch(/^lease\s+free$/m);
  });

  it('reports a pipeline that never ran without joining its consumer group', async () => {
    const topic = await createTopic(2);
    await produce(topic, [{ partition: 0, timestamp: Date.now(), key: 'a', value: '{}' }]);
    const groupId = `cli-${randomUUID()}`;

    const result = await runCli([
      'status',
      '--topic',
      topic,
      '--group-id',
      groupId,
      '--state',
      join(dir, 'state.json'),
    ]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^state\s+none saved: the pipeline has not run yet$/m);
    expect(result.stdout).toMatch(/^\s+0\s+-\s+-\s+1\s+-$/m);
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0]?.members).toEqual([]);
    expect(groups[0]?.state).toBe('Dead');
  });

  it('names a topic that does not exist', async () => {
    const topic = `cli-${randomUUID()}`;

    const result = await runCli([
      'status',
      '--topic',
      topic,
      '--group-id',
      'g',
      '--state',
      join(dir, 'state.json'),
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: topic '${topic}' does not exist (the puller does not create topics)\n`,
    );
  });
});
