// A window larger than one run can read: each partition's share is far below the part size, so no
// part is cut by size, and the window needs several runs. Each run must keep what it wrote by its
// deadline (a part cut there, recorded), and the next resume after it: the window closes after a few
// runs, every record once. Without that, every run read the same records and threw them away again.
import { describe, expect, it } from 'vitest';
import type { BatchSink, RecordSource, SourceBatch } from '../src/ports.js';
import { createTopic, newPipeline, produce, readLanded, runOnce, type TestRecord } from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
const PARTITIONS = 3;
const PER_PARTITION = 2_400;

/** Records a batch holds at most, as `smallBatches` hands them out. */
const PER_BATCH = 100;

/** `batches` cut into batches of at most PER_BATCH records, in order. */
function cut(batches: readonly SourceBatch[]): SourceBatch[] {
  return batches.flatMap((batch) => {
    const pieces: SourceBatch[] = [];
    for (let i = 0; i < batch.records.length; i += PER_BATCH) {
      const records = batch.records.slice(i, i + PER_BATCH);
      const following = batch.records[i + PER_BATCH];
      pieces.push({ partition: batch.partition, records, nextOffset: following?.offset ?? batch.nextOffset });
    }
    return pieces.length > 0 ? pieces : [batch];
  });
}

/** `source` handing out its batches cut small: the run writes (and waits on the sink) batch by batch. */
function smallBatches(source: RecordSource): RecordSource {
  return {
    partitionBounds: () => source.partitionBounds(),
    topicIdentity: () => source.topicIdentity(),
    offsetsForTime: (ms) => source.offsetsForTime(ms),
    start: (positions) => source.start(positions),
    poll: async (ms) => cut(await source.poll(ms)),
    pause: (partitions) => cut(source.pause(partitions)),
    resume: (positions) => source.resume(positions),
    commit: (positions) => source.commit(positions),
    committedOffsets: () => source.committedOffsets(),
    close: () => source.close(),
  };
}

/** `sink`, each write of an object's bytes taking `delayMs` longer: a slow network to S3. */
function slowSink(sink: BatchSink, delayMs: number): BatchSink {
  return {
    openObject: (key, contentType) => {
      const upload = sink.openObject(key, contentType);
      return {
        write: async (chunk) => {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          await upload.write(chunk);
        },
        complete: (written) => upload.complete(written),
        abort: () => upload.abort(),
      };
    },
    putObject: (key, body, contentType) => sink.putObject(key, body, contentType),
    locate: (key) => sink.locate(key),
    findKey: (prefix, suffix) => sink.findKey(prefix, suffix),
  };
}

describe('a window larger than one run', () => {
  it('closes after a few runs, each keeping what it wrote by its deadline, every record once', async () => {
    const topic = await createTopic(PARTITIONS);
    const clock = windowClock(MINUTE);
    const base = Math.floor(clock() / MINUTE) * MINUTE - 3 * MINUTE;
    const records: TestRecord[] = [];
    for (let i = 0; i < PER_PARTITION * PARTITIONS; i++) {
      records.push({
        partition: i % PARTITIONS,
        timestamp: base + Math.floor((i * MINUTE) / (PER_PARTITION * PARTITIONS)),
        value: `${i}:${'v'.repeat(180)}`,
      });
    }
    // One record per partition in the next window: each share of the first ends on a record.
    for (let p = 0; p < PARTITIONS; p++) records.push({ partition: p, timestamp: base + MINUTE + p });
    await produce(topic, records);
    // Small batches, each written to a slow sink: a 4 s run writes far less than the window.
    const { bucket, config } = await newPipeline(topic, { COMPRESSION: 'none' });

    const runs: { outcome: string; records: number }[] = [];
    for (let run = 0; run < 12; run++) {
      const report = await runOnce(config, {
        now: clock,
        seconds: 4,
        adapt: (adapters) => ({
          ...adapters,
          source: smallBatches(adapters.source),
          sink: slowSink(adapters.sink, 100),
        }),
      });
      runs.push({ outcome: report.outcome, records: report.recordsWritten });
      if (report.windowsClosed.some((w) => w.manifest.window.startMs === base)) break;
    }

    console.log(`runs to close the oversized window: ${runs.length} (${JSON.stringify(runs)})`);
    // The first run could not read the window whole: it is larger than one run.
    expect(runs[0]?.outcome).toBe('deadline');
    const landed = await readLanded(bucket);
    const first = landed.manifests.find((m) => m.window.startMs === base);
    expect(first, `the window closed within ${runs.length} runs`).toBeDefined();
    expect(first?.totals.records).toBe(PER_PARTITION * PARTITIONS);
    expect(new Set(landed.records).size).toBe(landed.records.length);
    expect(landed.unlisted).toEqual([]);
  });
});
