// `npm run bench`: produces records with known timestamps, then measures how fast kcat, a bare kafkajs
// consumer and kafka-batch-puller (to S3 and to a folder) read them, the puller's fixed cost per run,
// and its peak memory as one window grows. Writes bench/RESULTS.md. See `npm run bench -- --help`.
import { loadavg } from 'node:os';
import { BenchBucket } from './bench-bucket.js';
import type { BenchContext } from './bench-context.js';
import { type BenchOptions, type Measurement, parseBenchOptions, usage } from './bench-options.js';
import type { AwsTargets } from './bench-pipeline.js';
import { BenchStateTable } from './bench-state-table.js';
import { BenchTopics } from './bench-topics.js';
import { kcatInstallHint, kcatVersion } from './kcat-read.js';
import { describeMachine } from './machine-info.js';
import { measureFormats } from './measure-formats.js';
import { measureMemory } from './measure-memory.js';
import { measureOverhead } from './measure-overhead.js';
import { measureThroughput } from './measure-throughput.js';
import { type LadderRung, type RunSample, type ThroughputKey, writeResults } from './results-writer.js';
import { ensureTestBed } from './test-bed.js';

const log = (line: string) => console.log(line);
const interrupt = new AbortController();

async function createAwsTargets(): Promise<AwsTargets> {
  const bucket = new BenchBucket();
  const table = new BenchStateTable();
  await bucket.create();
  await table.create();
  return { bucket, table };
}

async function bench(options: BenchOptions): Promise<void> {
  const wants = (m: Measurement) => options.only.has(m);
  const notes: string[] = [];
  const loadAtStart = loadavg()[0] ?? 0;
  const bed = await ensureTestBed(log);
  const topics = new BenchTopics(bed.brokers);
  let aws: AwsTargets | undefined;
  try {
    const kcat = await kcatVersion();
    if (!kcat && wants('kcat')) {
      log(`(a) skipped: ${kcatInstallHint}`);
      notes.push(`(a) was skipped: ${kcatInstallHint}.`);
    }
    const machine = await describeMachine(bed.brokers, bed.awsEndpoint, kcat);
    log(
      `machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpuModel}; Kafka ${machine.kafkaBroker}, moto ${machine.moto}`,
    );
    await topics.connect();
    const needsAws = wants('s3') || wants('overhead') || (wants('memory') && options.ladderSink === 's3');
    if (needsAws) aws = await createAwsTargets();
    const context: BenchContext = {
      options,
      brokers: bed.brokers,
      topics,
      aws,
      settings: {
        brokers: bed.brokers,
        batchIntervalSeconds: options.batchIntervalSeconds,
        runTimeoutMs: options.runTimeoutMs,
        compression: options.compression,
        compressionLevel: options.compressionLevel,
        extraVariables: options.extraVariables,
        format: options.format,
      },
      signal: interrupt.signal,
      log,
    };

    const keys = (['kcat', 'kafkajs', 's3', 'directory'] as const).filter(
      (key) => wants(key) && (key !== 'kcat' || kcat),
    );
    const measured = keys.length > 0 ? await measureThroughput(context, keys) : undefined;
    const overhead = wants('overhead') ? await measureOverhead(context) : undefined;
    const ladder: LadderRung[] = wants('memory') ? await measureMemory(context) : [];
    const formats = wants('formats') ? await measureFormats(context) : undefined;

    notes.push(
      `Load average (1 min) ${loadAtStart.toFixed(2)} at the start and ${loadavg()[0]?.toFixed(2)} at the end on ${machine.cores} cores: anything above about 1 means other work (the broker and moto count) shared the machine.`,
    );
    const none: Record<ThroughputKey, RunSample[]> = { kcat: [], kafkajs: [], s3: [], directory: [] };
    await writeResults(options.resultsPath, {
      command: options.command,
      date: new Date().toISOString(),
      machine,
      records: options.records,
      recordBytes: options.recordBytes,
      values: options.values,
      compression: options.compression,
      compressionLevel: options.compressionLevel,
      extraVariables: options.extraVariables,
      format: options.format,
      partitions: options.partitions,
      windows: options.windows,
      batchIntervalSeconds: options.batchIntervalSeconds,
      runs: options.runs,
      produceMs: measured?.produceMs,
      throughput: measured?.throughput ?? none,
      emptyTopicRuns: overhead?.emptyTopicRuns ?? [],
      idleRuns: overhead?.idleRuns ?? [],
      ladder,
      ladderSink: options.ladderSink,
      formats,
      notes,
    });
    log(`results written to ${options.resultsPath}`);
  } finally {
    await topics.close(log);
    await aws?.bucket
      .remove()
      .catch((error: unknown) => log(`could not delete the bench bucket: ${String(error)}`));
    await aws?.table
      .remove()
      .catch((error: unknown) => log(`could not delete the bench table: ${String(error)}`));
    await bed.release();
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof Error && error.message === usage) {
      console.log(usage);
      return;
    }
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
    return;
  }
  // Ctrl-C also reaches the running child; the bench then deletes what it made before it exits.
  process.once('SIGINT', () => {
    log('interrupted: cleaning up (topics, bucket, test bed) before exiting');
    interrupt.abort();
  });
  await bench(options);
}

main().catch((error: unknown) => {
  if (interrupt.signal.aborted) {
    console.error(
      'interrupted: the bench stopped; its topics and bucket are deleted, no results were written',
    );
    process.exitCode = 130;
    return;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
