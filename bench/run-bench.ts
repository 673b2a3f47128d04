// `npm run bench`: the one entry of the benchmarks. Produces records with known timestamps into fresh
// topics of the test bed and measures the scenarios asked for (--only; all by default): how fast the
// puller lands them to S3 and to a folder and what a run costs at least, its peak memory as one window
// grows, the output formats side by side, shards, the group join, and Avro values against JSON ones. Prints a Markdown report (and
// writes it with --results). See `npm run bench -- --help`.
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { type AwsTargets, createAwsTargets, removeAwsTargets } from './aws-targets.js';
import type { BenchContext } from './bench-context.js';
import { type BenchOptions, parseBenchOptions, type Scenario, usage } from './bench-options.js';
import type { BenchSink } from './bench-pipeline.js';
import { BenchTopics } from './bench-topics.js';
import { describeMachine } from './machine-info.js';
import { measureGroupJoin } from './measure-group-join.js';
import { measureMemory } from './measure-memory.js';
import { measureThroughput } from './measure-throughput.js';
import { measureValues } from './measure-values.js';
import { formatVariants, measureVariants, shardVariants } from './measure-variants.js';
import { renderReport } from './results-report.js';
import { ensureTestBed } from './test-bed.js';

const log = (line: string) => console.error(line);
const interrupt = new AbortController();

async function bench(options: BenchOptions): Promise<void> {
  const wants = (scenario: Scenario) => options.only.has(scenario);
  const loadAtStart = loadavg()[0] ?? 0;
  const bed = await ensureTestBed(log);
  const topics = new BenchTopics(bed.brokers);
  let aws: AwsTargets | undefined;
  try {
    const machine = await describeMachine(bed.brokers, bed.awsEndpoint);
    log(
      `machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpuModel}; Kafka ${machine.kafkaBroker}`,
    );
    await topics.connect();
    if (wants('s3') || (wants('memory') && options.ladderSink === 's3')) aws = await createAwsTargets();
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
    const sinks = (['s3', 'directory'] as const).filter((sink: BenchSink) => wants(sink));
    const text = renderReport({
      options,
      date: new Date().toISOString(),
      machine,
      throughput: sinks.length > 0 ? await measureThroughput(context, sinks) : undefined,
      ladder: wants('memory') ? await measureMemory(context) : undefined,
      formats: wants('formats') ? await measureVariants(context, 'formats', formatVariants()) : undefined,
      shards: wants('shards')
        ? await measureVariants(context, 'shards', shardVariants(options.shards))
        : undefined,
      join: wants('join') ? await measureGroupJoin(context) : undefined,
      values: wants('values') ? await measureValues(context) : undefined,
      loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
    });
    console.log(text);
    if (options.resultsPath) {
      await writeFile(options.resultsPath, text);
      log(`report written to ${options.resultsPath}`);
    }
  } finally {
    await topics.close(log);
    if (aws) await removeAwsTargets(aws, log);
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
    console.error('interrupted: the bench stopped; its topics and bucket are deleted, no report was written');
    process.exitCode = 130;
    return;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
