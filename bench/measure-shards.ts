// `npm run bench:shards`: the same records landed to a folder by 1 shard and by 2 (and more where the
// machine has the cores), runs alternating, in one session: records/s, CPU seconds per GiB of values,
// peak RSS of the process (its worker threads included) and the ratio of N shards to 1. Writes
// bench/RESULTS-shards.md.
//
//   npm run bench:shards -- [--records 200000] [--record-bytes 1024] [--partitions 8] [--shards 1,2] [--runs 3]
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { stoppedByBench } from './bench-context.js';
import { BenchPipeline, checkPullerRun } from './bench-pipeline.js';
import { BenchTopics } from './bench-topics.js';
import { describeMachine } from './machine-info.js';
import { markdownTable } from './markdown-table.js';
import { pastWindowStart, produceRecords } from './produce-records.js';
import { summarize } from './statistics.js';
import { ensureTestBed } from './test-bed.js';

const log = (line: string) => console.log(line);

interface ShardRun {
  readonly elapsedMs: number;
  readonly cpuMs: number;
  readonly peakRssBytes: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '200000' },
      'record-bytes': { type: 'string', default: '1024' },
      partitions: { type: 'string', default: '8' },
      shards: { type: 'string', default: cpus().length >= 4 ? '1,2,4' : '1,2' },
      runs: { type: 'string', default: '3' },
      windows: { type: 'string', default: '4' },
      'batch-interval-seconds': { type: 'string', default: '60' },
      out: { type: 'string', default: 'bench/RESULTS-shards.md' },
    },
  });
  const shards = String(values.shards)
    .split(',')
    .map((n) => Number(n));
  return {
    records: Number(values.records),
    recordBytes: Number(values['record-bytes']),
    partitions: Number(values.partitions),
    shards,
    runs: Number(values.runs),
    windows: Number(values.windows),
    batchIntervalSeconds: Number(values['batch-interval-seconds']),
    out: String(values.out),
  };
}

async function main(): Promise<void> {
  const o = options();
  const bed = await ensureTestBed(log);
  const topics = new BenchTopics(bed.brokers);
  await topics.connect();
  const loadAtStart = loadavg()[0] ?? 0;
  try {
    const machine = await describeMachine(bed.brokers, bed.awsEndpoint, undefined);
    const intervalMs = o.batchIntervalSeconds * 1000;
    const topic = await topics.create(o.partitions, 'shards');
    const first = pastWindowStart(Date.now(), intervalMs, o.windows + 1);
    log(
      `producing ${o.records.toLocaleString('en-US')} records of ${o.recordBytes} bytes to ${topic} (${o.partitions} partitions)`,
    );
    await produceRecords({
      brokers: bed.brokers,
      topic,
      records: o.records,
      recordBytes: o.recordBytes,
      partitions: o.partitions,
      firstTimestampMs: first,
      endTimestampMs: first + o.windows * intervalMs,
    });
    const settings = {
      brokers: bed.brokers,
      batchIntervalSeconds: o.batchIntervalSeconds,
      runTimeoutMs: 600_000,
      compression: 'gzip' as const,
      format: 'ndjson' as const,
    };
    const figures = new Map<number, ShardRun[]>(o.shards.map((n) => [n, []]));
    for (let run = 1; run <= o.runs; run++) {
      // Alternating the shard counts run by run, so that a change in the machine's load hits all alike.
      for (const shards of o.shards) {
        const pipeline = await BenchPipeline.create(settings, 'directory', topic, undefined, {
          SHARDS: String(shards),
        });
        try {
          const result = await pipeline.run(o.windows);
          checkPullerRun(`${shards} shard(s)`, result, {
            records: o.records,
            windows: o.windows,
            outcome: stoppedByBench,
          });
          figures.get(shards)?.push({
            elapsedMs: result.elapsedMs,
            cpuMs: result.cpuUserMs + result.cpuSystemMs,
            peakRssBytes: result.peakRssBytes,
          });
          log(
            `[run ${run}/${o.runs}] ${shards} shard(s): ${Math.round(o.records / (result.elapsedMs / 1000)).toLocaleString('en-US')} records/s, ${((result.cpuUserMs + result.cpuSystemMs) / 1000).toFixed(1)} CPU s, peak RSS ${Math.round(result.peakRssBytes / 2 ** 20)} MiB`,
          );
        } finally {
          await pipeline.remove();
        }
      }
    }
    await topics.remove(topic);

    const gib = (o.records * o.recordBytes) / 2 ** 30;
    const mib = (o.records * o.recordBytes) / 2 ** 20;
    const median = (values: number[]) => summarize(values)?.median ?? Number.NaN;
    const baseline = median(
      (figures.get(o.shards[0] ?? 1) ?? []).map((r) => o.records / (r.elapsedMs / 1000)),
    );
    const rows = o.shards.map((shards) => {
      const runs = figures.get(shards) ?? [];
      const rate = median(runs.map((r) => o.records / (r.elapsedMs / 1000)));
      const mbps = median(runs.map((r) => mib / (r.elapsedMs / 1000)));
      return [
        String(shards),
        Math.round(rate).toLocaleString('en-US'),
        mbps.toFixed(1),
        median(runs.map((r) => r.cpuMs / 1000 / gib)).toFixed(1),
        `${Math.round(median(runs.map((r) => r.peakRssBytes)) / 2 ** 20)}`,
        (rate / baseline).toFixed(2),
      ];
    });
    const text = [
      '# Shards: one window read by N shards in parallel',
      '',
      `Command: \`npm run bench:shards -- --records ${o.records} --record-bytes ${o.recordBytes} --partitions ${o.partitions} --shards ${o.shards.join(',')} --runs ${o.runs}\``,
      '',
      `Machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpuModel}; Node ${process.version}; Kafka ${machine.kafkaBroker} on the same machine; commit ${machine.commit}. Load average (1 min) ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]?.toFixed(2)} at the end.`,
      '',
      `${o.records.toLocaleString('en-US')} records of ${o.recordBytes} bytes on ${o.partitions} partitions, ${o.windows} windows, landed to a folder as NDJSON with gzip, ${o.runs} runs per shard count, alternating; medians. Shards above 1 run on worker threads of one process (as \`run --shards N\` runs them); CPU seconds and peak RSS are the whole process's.`,
      '',
      markdownTable(
        ['shards', 'records/s', 'MB/s of values', 'CPU s per GiB', 'peak RSS MiB', 'vs 1 shard'],
        rows,
      ),
      '',
    ].join('\n');
    await writeFile(o.out, text);
    log(text);
  } finally {
    await topics.close(log);
    await bed.release();
  }
}

await main();
