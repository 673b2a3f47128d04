// Measurements (a)-(d): one topic of records spread over several closed windows, read whole by kcat,
// by a bare kafkajs consumer, and landed by the puller to S3 and to a folder.
import { randomUUID } from 'node:crypto';
import { type BenchContext, describeRun, landTopic, sampleOf } from './bench-context.js';
import { runChild } from './child-process.js';
import { kcatReadTopic } from './kcat-read.js';
import { pastWindowStart, produceRecords } from './produce-records.js';
import type { RunSample, ThroughputKey } from './results-writer.js';

/** What the throughput phase measured. */
export interface ThroughputFigures {
  readonly produceMs: number;
  readonly throughput: Record<ThroughputKey, RunSample[]>;
}

/** Produces the records, then runs each of `keys` `options.runs` times, interleaved. */
export async function measureThroughput(
  context: BenchContext,
  keys: readonly ThroughputKey[],
): Promise<ThroughputFigures> {
  const { options, brokers, log } = context;
  const intervalMs = options.batchIntervalSeconds * 1000;
  const topic = await context.topics.create(options.partitions, 'throughput');
  // Windows W+1 .. 2 back: all ended, so the puller closes each as soon as it has read past it.
  const first = pastWindowStart(Date.now(), intervalMs, options.windows + 1);
  log(
    `producing ${options.records.toLocaleString('en-US')} records of ${options.recordBytes} B on ${options.partitions} partitions over ${options.windows} windows to ${topic}`,
  );
  const produced = await produceRecords({
    brokers,
    topic,
    records: options.records,
    recordBytes: options.recordBytes,
    values: options.values,
    partitions: options.partitions,
    firstTimestampMs: first,
    endTimestampMs: first + options.windows * intervalMs,
  });
  const stored = await context.topics.count(topic);
  if (stored !== options.records) {
    throw new Error(`the topic holds ${stored} records after producing ${options.records}`);
  }
  log(describeRun('produced', options.records, produced));

  const throughput: Record<ThroughputKey, RunSample[]> = { kcat: [], kafkajs: [], s3: [], directory: [] };
  const checkCount = (who: string, records: number) => {
    if (records !== options.records)
      throw new Error(`${who} read ${records} records, expected ${options.records}`);
  };
  // Runs interleave the measurements, so a slow spell of the shared machine hits all of them alike.
  for (let run = 1; run <= options.runs; run++) {
    for (const key of keys) {
      context.signal.throwIfAborted();
      let sample: RunSample;
      if (key === 'kcat') {
        const read = await kcatReadTopic(brokers, topic, options.runTimeoutMs);
        checkCount('kcat', read.records);
        sample = { elapsedMs: read.elapsedMs };
      } else if (key === 'kafkajs') {
        const groupId = `bench-${randomUUID()}`;
        const read = await runChild({ kind: 'kafkajs-read', brokers, topic, groupId }, options.runTimeoutMs);
        checkCount('kafkajs', read.records);
        sample = sampleOf(read);
      } else {
        const expected = { records: options.records, windows: options.windows };
        const label = `(${key === 's3' ? 'c' : 'd'}) ${key}`;
        sample = sampleOf(await landTopic(context, key, topic, expected, label));
      }
      throughput[key].push(sample);
      log(describeRun(`[run ${run}/${options.runs}] ${key}`, options.records, sample));
    }
  }
  await context.topics.remove(topic);
  return { produceMs: produced.elapsedMs, throughput };
}
