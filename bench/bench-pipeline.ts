// One puller pipeline of the bench (its own consumer group, state and output prefix) and the child
// processes that run it: a second run on the same pipeline starts from the state the first one saved.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsTargets } from './aws-targets.js';
import type { BenchCompression } from './bench-options.js';
import { type ChildResult, runChild } from './child-process.js';

/** Where a pipeline lands: S3 with DynamoDB state (the Lambda), or a folder with a state file (the CLI). */
export type BenchSink = 's3' | 'directory';

/** What every pipeline of one bench has in common. */
export interface PipelineSettings {
  readonly brokers: readonly string[];
  readonly batchIntervalSeconds: number;
  /** A run's deadline is this far after its start; the child is killed a minute after that. */
  readonly runTimeoutMs: number;
  /** The puller's COMPRESSION. */
  readonly compression: BenchCompression;
  /** The puller's COMPRESSION_LEVEL; undefined: the codec's default. */
  readonly compressionLevel?: number | undefined;
  /** More puller settings, applied last (`--set`). */
  readonly extraVariables?: Readonly<Record<string, string>>;
  /** The puller's OUTPUT_FORMAT. */
  readonly format: 'ndjson' | 'parquet';
}

/** A pipeline's settings, and the clean-up of what its runs wrote. */
export class BenchPipeline {
  private constructor(
    readonly variables: Readonly<Record<string, string>>,
    private readonly settings: PipelineSettings,
    private readonly dispose: () => Promise<unknown>,
  ) {}

  /** A new pipeline over `topic`: fresh group, fresh state, output under its own prefix or folder. */
  static async create(
    settings: PipelineSettings,
    sink: BenchSink,
    topic: string,
    aws: AwsTargets | undefined,
    extra: Readonly<Record<string, string>> = {},
  ): Promise<BenchPipeline> {
    const id = randomUUID();
    const common: Record<string, string> = {
      KAFKA_BROKERS: settings.brokers.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: `bench-${id}`,
      KAFKA_CLIENT_ID: 'kbp-bench-puller',
      BATCH_INTERVAL_SECONDS: String(settings.batchIntervalSeconds),
      POLL_INTERVAL_SECONDS: '1',
      START_POSITION: 'earliest',
      COMPRESSION: settings.compression,
      ...(settings.compressionLevel === undefined
        ? {}
        : { COMPRESSION_LEVEL: String(settings.compressionLevel) }),
      OUTPUT_FORMAT: settings.format,
      OUTPUT_PREFIX: `run-${id}`,
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      ...extra,
      ...settings.extraVariables,
    };
    if (sink === 'directory') {
      const folder = await mkdtemp(join(tmpdir(), 'kbp-bench-'));
      return new BenchPipeline(
        { ...common, OUTPUT_DIRECTORY: join(folder, 'out'), STATE_FILE: join(folder, 'state.json') },
        settings,
        () => rm(folder, { recursive: true, force: true }),
      );
    }
    if (!aws) throw new Error('an S3 pipeline needs the bench bucket and state table');
    return new BenchPipeline(
      { ...common, OUTPUT_BUCKET: aws.bucket.name, STATE_TABLE: aws.table.name },
      settings,
      // moto keeps objects in memory: drop each pipeline's output as soon as it is measured.
      () => aws.bucket.empty(`run-${id}/`),
    );
  }

  /** Runs the puller once in a child process, stopping it once `stopAfterWindows` windows closed. */
  run(stopAfterWindows: number | undefined): Promise<ChildResult> {
    return runChild(
      {
        variables: this.variables,
        deadlineAfterMs: this.settings.runTimeoutMs,
        ...(stopAfterWindows === undefined ? {} : { stopAfterWindows }),
      },
      this.settings.runTimeoutMs + 60_000,
    );
  }

  /** Deletes what the pipeline's runs wrote. */
  async remove(): Promise<void> {
    await this.dispose();
  }
}

/**
 * Fails loudly when a run did not land exactly what was produced: the figures of a run that lost or
 * repeated records would mean nothing.
 */
export function checkPullerRun(
  label: string,
  result: ChildResult,
  expected: { records: number; windows: number; outcome: string },
): void {
  const problems: string[] = [];
  if (result.records !== expected.records)
    problems.push(`wrote ${result.records} records, expected ${expected.records}`);
  if (result.windowsClosed !== expected.windows) {
    problems.push(`closed ${result.windowsClosed} windows, expected ${expected.windows}`);
  }
  if (result.outcome !== expected.outcome)
    problems.push(`ended '${result.outcome}', expected '${expected.outcome}'`);
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
}
