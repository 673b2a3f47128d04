// Renders a bench's figures as bench/RESULTS.md. The lead's "before/after optimisation" section is
// kept across rewrites: it lives between two markers and is copied from the file being replaced.
import { readFile, writeFile } from 'node:fs/promises';
import type { BenchCompression } from './bench-options.js';
import type { MachineInfo } from './machine-info.js';
import { markdownTable } from './markdown-table.js';
import type { FormatFigures } from './measure-formats.js';
import type { BenchValues } from './produce-records.js';
import { type Summary, summarize } from './statistics.js';

/** One run of a read or puller measurement, as the bench recorded it; times in ms from the start of work. */
export interface RunSample {
  readonly elapsedMs: number;
  readonly firstRecordMs?: number | undefined;
  readonly firstCommitMs?: number | undefined;
  readonly closeToCommitMs?: number | undefined;
  readonly commitToEndMs?: number | undefined;
  readonly startRssBytes?: number;
  readonly peakRssBytes?: number;
  /** User plus system CPU time of the measuring process. */
  readonly cpuMs?: number;
}

/** The throughput measurements, keyed as in the results. */
export type ThroughputKey = 'kcat' | 'kafkajs' | 's3' | 'directory';

/** One rung of the memory ladder: all its records in one window. */
export interface LadderRung {
  readonly windowMiB: number;
  readonly records: number;
  readonly runs: readonly RunSample[];
}

/** Everything one bench invocation measured. */
export interface BenchResults {
  readonly command: string;
  readonly date: string;
  readonly machine: MachineInfo;
  readonly records: number;
  readonly recordBytes: number;
  /** What the values were. */
  readonly values?: BenchValues;
  /** The puller's COMPRESSION. */
  readonly compression: BenchCompression;
  /** The puller's COMPRESSION_LEVEL; undefined: the codec's default. */
  readonly compressionLevel?: number | undefined;
  /** Puller settings given with `--set`. */
  readonly extraVariables?: Readonly<Record<string, string>>;
  /** The puller's OUTPUT_FORMAT. */
  readonly format: 'ndjson' | 'parquet';
  readonly partitions: number;
  readonly windows: number;
  readonly batchIntervalSeconds: number;
  readonly runs: number;
  readonly produceMs: number | undefined;
  readonly throughput: Partial<Record<ThroughputKey, readonly RunSample[]>>;
  /** A new pipeline on a topic with no records. */
  readonly emptyTopicRuns: readonly RunSample[];
  /** A pipeline's second run when no record came since its first: it closes one empty window. */
  readonly idleRuns: readonly RunSample[];
  readonly ladder: readonly LadderRung[];
  readonly ladderSink: 's3' | 'directory';
  /** (e) NDJSON and Parquet side by side; undefined when not measured (the section already there is kept). */
  readonly formats?: readonly FormatFigures[] | undefined;
  readonly notes: readonly string[];
}

const formatsStart =
  '<!-- formats:start (kept by the bench when it rewrites this file without measuring formats) -->';
const formatsEnd = '<!-- formats:end -->';
const defaultFormats = '_Not measured yet: `npm run bench -- --only formats`._';
const beforeAfterStart = '<!-- before-after:start (kept by the bench when it rewrites this file) -->';
const beforeAfterEnd = '<!-- before-after:end -->';
const defaultBeforeAfter = markdownTable(
  ['change', 'figure', 'before', 'after', 'after / before'],
  [['_(filled by hand: the same command before and after a change, on the same machine)_', '', '', '', '']],
);

const labels: Record<ThroughputKey, string> = {
  kcat: '(a) kcat (librdkafka) reads the topic to /dev/null',
  kafkajs: '(b) bare kafkajs consumer (eachBatch, no commits)',
  s3: '(c) kafka-batch-puller → S3 (moto), state in DynamoDB (moto)',
  directory: '(d) kafka-batch-puller → local folder, state in a file',
};

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function integer(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fixed(digits: number): (n: number) => string {
  return (n) => n.toFixed(digits);
}

/** "median (min–max)", or "–" when nothing was measured. */
function spread(summary: Summary | undefined, format: (n: number) => string): string {
  if (!summary) return '–';
  if (summary.runs === 1) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

function values(runs: readonly RunSample[], pick: (run: RunSample) => number | undefined): number[] {
  return runs.map(pick).filter((v): v is number => v !== undefined);
}

function throughputTable(results: BenchResults): string {
  const valueBytes = results.records * results.recordBytes;
  const rows = (Object.keys(labels) as ThroughputKey[]).map((key) => {
    const runs = results.throughput[key] ?? [];
    const seconds = values(runs, (r) => r.elapsedMs / 1000);
    return [
      labels[key],
      spread(summarize(seconds.map((s) => results.records / s)), integer),
      spread(summarize(seconds.map((s) => valueBytes / MiB / s)), fixed(1)),
      spread(summarize(seconds), fixed(2)),
      spread(summarize(values(runs, (r) => r.peakRssBytes).map((b) => b / MiB)), integer),
      spread(summarize(values(runs, (r) => r.cpuMs).map((ms) => ms / 1000)), fixed(1)),
      spread(summarize(values(runs, (r) => r.cpuMs).map((ms) => ms / 1000 / (valueBytes / GiB))), fixed(1)),
    ];
  });
  return markdownTable(
    ['measurement', 'records/s', 'MiB/s of values', 'elapsed s', 'peak RSS MiB', 'CPU s', 'CPU s per GiB'],
    rows,
  );
}

function medianRate(results: BenchResults, key: ThroughputKey): number | undefined {
  const runs = results.throughput[key] ?? [];
  return summarize(runs.map((r) => results.records / (r.elapsedMs / 1000)))?.median;
}

function ratiosTable(results: BenchResults): string {
  const ratio = (top: ThroughputKey, bottom: ThroughputKey): string => {
    const a = medianRate(results, top);
    const b = medianRate(results, bottom);
    if (a === undefined || b === undefined) return '–';
    return `${(a / b).toFixed(3)} (${((a / b) * 100).toFixed(a / b < 0.1 ? 1 : 0)} %)`;
  };
  return markdownTable(
    ['ratio of median records/s', 'value'],
    [
      ['c / a (puller to S3 vs kcat)', ratio('s3', 'kcat')],
      ['c / b (puller to S3 vs bare kafkajs)', ratio('s3', 'kafkajs')],
      ['d / a (puller to folder vs kcat)', ratio('directory', 'kcat')],
      ['d / b (puller to folder vs bare kafkajs)', ratio('directory', 'kafkajs')],
    ],
  );
}

function overheadTable(results: BenchResults): string {
  const seconds = (runs: readonly RunSample[], pick: (run: RunSample) => number | undefined) =>
    spread(summarize(values(runs, pick).map((ms) => ms / 1000)), fixed(2));
  const row = (label: string, runs: readonly RunSample[]) => [
    label,
    seconds(runs, (r) => r.firstRecordMs),
    seconds(runs, (r) => r.firstCommitMs),
    seconds(runs, (r) => r.closeToCommitMs),
    seconds(runs, (r) => r.commitToEndMs),
    seconds(runs, (r) => r.elapsedMs),
  ];
  return markdownTable(
    [
      'run',
      'start → first record',
      'start → first window committed',
      'last window: closed → committed',
      'committed → run returned',
      'whole run',
    ],
    [
      row('new pipeline, empty topic (S3 + DynamoDB)', results.emptyTopicRuns),
      row('existing pipeline, no new records (S3 + DynamoDB)', results.idleRuns),
      row('new pipeline, busy topic (c) (S3 + DynamoDB)', results.throughput.s3 ?? []),
      row('new pipeline, busy topic (d) (folder + file)', results.throughput.directory ?? []),
    ],
  );
}

function ladderSection(results: BenchResults): string {
  const rungs = results.ladder.filter((rung) => rung.runs.length > 0);
  if (rungs.length === 0) return '_Not measured in this run._';
  const peak = (rung: LadderRung) => summarize(values(rung.runs, (r) => r.peakRssBytes).map((b) => b / MiB));
  const table = markdownTable(
    ['records in ONE window', 'records', 'peak RSS MiB', 'RSS at start MiB', 'records/s'],
    rungs.map((rung) => [
      `${rung.windowMiB} MiB`,
      integer(rung.records),
      spread(peak(rung), integer),
      spread(summarize(values(rung.runs, (r) => r.startRssBytes).map((b) => b / MiB)), integer),
      spread(summarize(rung.runs.map((r) => rung.records / (r.elapsedMs / 1000))), integer),
    ]),
  );
  // Judged between the two largest windows: the smallest one also carries the process's warm-up.
  const upper = rungs[rungs.length - 1];
  const lower = rungs[rungs.length - 2];
  if (!upper || !lower) return table;
  const growth = (peak(upper)?.median ?? 0) - (peak(lower)?.median ?? 0);
  const slope = growth / (upper.windowMiB - lower.windowMiB);
  // Flat: the peak grows by less than a tenth of what the window grows by.
  const verdict = slope < 0.1 ? 'flat' : 'still growing with the window';
  return `${table}\n\nFrom the ${lower.windowMiB} MiB window to the ${upper.windowMiB} MiB one the median peak RSS changed by ${growth.toFixed(0)} MiB, ${slope.toFixed(3)} MiB per MiB of window: **${verdict}**.`;
}

/** (e): one row per output format. */
export function formatsSection(results: BenchResults): string {
  const figures = results.formats ?? [];
  const valueGiB = (results.records * results.recordBytes) / 2 ** 30;
  const table = markdownTable(
    [
      'format (to a local folder)',
      'records/s',
      'CPU s per GiB of values',
      'bytes written',
      'bytes / value bytes',
      'peak RSS MiB',
    ],
    figures.map(({ variant, runs }) => [
      variant.label,
      spread(summarize(runs.map((r) => results.records / (r.elapsedMs / 1000))), integer),
      spread(summarize(runs.map((r) => r.cpuMs / 1000 / valueGiB)), fixed(1)),
      spread(summarize(runs.map((r) => r.bytesWritten)), integer),
      spread(summarize(runs.map((r) => r.bytesWritten / (results.records * results.recordBytes))), fixed(3)),
      spread(summarize(runs.map((r) => r.peakRssBytes / MiB)), integer),
    ]),
  );
  return `Command: \`${results.command}\` (${results.date}, commit ${results.machine.commit}, Node ${results.machine.node}); ${integer(results.records)} records of ${results.recordBytes} B values on ${results.partitions} partitions over ${results.windows} windows, each variant landed by a fresh pipeline in its own process, ${results.runs === 1 ? 'one run' : `median of ${results.runs} runs (min–max)`}. ${results.values === 'json' ? 'The values are JSON order events (`--values json`), which compress about as well as real events do.' : 'The values are random base64 text, which no codec shrinks much: compare formats on CPU and memory here, and on size with your own data (or `--values json`).'}

${table}`;
}

function partsWritten(results: BenchResults): string {
  if (results.format === 'parquet')
    return `Parquet parts (\`OUTPUT_FORMAT=parquet\`, \`COMPRESSION=${results.compression}\``;
  const level =
    results.compressionLevel === undefined ? '' : `, \`COMPRESSION_LEVEL=${results.compressionLevel}\``;
  const extra = Object.entries(results.extraVariables ?? {})
    .map(([name, value]) => `, \`${name}=${value}\``)
    .join('');
  if (results.compression === 'gzip' && level === '' && extra === '') return 'gzip NDJSON parts (the default';
  if (results.compression === 'none') return `uncompressed NDJSON parts (\`COMPRESSION=none\`${extra}`;
  return `${results.compression} NDJSON parts (\`COMPRESSION=${results.compression}\`${level}${extra}`;
}

function machineSection(results: BenchResults): string {
  const m = results.machine;
  return [
    `- Machine: ${m.cores} cores, ${m.memoryGiB} GiB memory, CPU ${m.cpuModel}, Linux ${m.kernel}`,
    `- Software: Node ${m.node}, kafkajs ${m.kafkajs}, AWS SDK v3 ${m.awsSdk}, Apache Kafka ${m.kafkaBroker} (single KRaft node, the test bed), moto ${m.moto}, ${m.kcat}`,
    `- Commit: ${m.commit}`,
    `- Date: ${results.date}`,
    `- Command: \`${results.command}\``,
    `- Data: ${integer(results.records)} records of ${results.recordBytes} B values (${results.values === 'json' ? 'JSON order events' : 'random base64 text'}, no key, no headers) on ${results.partitions} partitions, timestamps spread evenly over ${results.windows} windows of ${results.batchIntervalSeconds} s, all in the past${results.produceMs === undefined ? '' : `; produced with kafkajs in ${(results.produceMs / 1000).toFixed(1)} s (${integer(results.records / (results.produceMs / 1000))} records/s)`}`,
    `- Each figure: ${results.runs === 1 ? 'one run' : `median of ${results.runs} runs, (min–max) beside it`}. Each consumer and puller run is a fresh process, fresh consumer group and fresh state; the broker and moto run on the same machine.`,
  ].join('\n');
}

/** The whole RESULTS.md text, with `beforeAfter` as the body of the before/after section. */
export function renderResults(
  results: BenchResults,
  beforeAfter: string = defaultBeforeAfter,
  formatsKept: string | undefined = results.formats ? undefined : defaultFormats,
): string {
  return `# Benchmark results

Written by \`npm run bench\` (bench/run-bench.ts); rerun it to refresh. Benchmarks, not tests: nothing here is asserted by \`npm test\`.

## Setup

${machineSection(results)}

## Throughput: reading the whole topic

Elapsed time runs from the start of work (before any connection) to the last record read (a, b) or to \`runPipeline\` returning with every produced window landed and its offsets committed (c, d). kcat's includes its process start; it runs with \`-X fetch.wait.max.ms=10\` so that noticing the end of each partition costs 10 ms rather than librdkafka's default 500 ms. Peak RSS and CPU are those of the measuring process (not the broker's or moto's), compression threads included; CPU counts from after the code is loaded, as a warm Lambda's would (it loads its bundle once per cold start), and CPU s per GiB divides it by the GiB of record values read or landed. The puller writes ${partsWritten(results)}, \`PART_SIZE_MB\` 64), polls every 1 s, and the bench stops each run (its abort signal) once the produced windows have closed, since a run otherwise goes on closing windows until its deadline.

${throughputTable(results)}

${ratiosTable(results)}

## Per-run overhead

Seconds, from before \`createAdapters\`. "First record": the first \`onProgress\` with records > 0 (state read, lease, connect, group join, first fetch). "First window committed": the first \`onWindowClosed\`, which the engine calls after committing the offsets. "Closed → committed": from the first \`onProgress\` of the last window with every partition done to its \`onWindowClosed\` (last parts finished, manifest, state saved, offsets committed); – when that window closed before any poll, as a window with nothing to read does. "Committed → run returned": lease released, report built. A new pipeline on an empty topic has no window to close: its whole run is the least a scheduled run costs. An existing pipeline with no new records (its second run, after a first one landed one record per partition) closes the empty window that follows: the cost of a run on a quiet topic.

${overheadTable(results)}

## Peak memory as the window grows

Each rung is its own topic whose records all fall in ONE window, landed ${results.ladderSink === 's3' ? 'to S3 (moto), state in DynamoDB (moto),' : 'to a local folder, state in a file,'} by one puller run in its own process (${partsWritten(results)})); peak RSS is that process's getrusage maxrss.

${ladderSection(results)}

## Output formats: NDJSON and Parquet

${formatsStart}
${formatsKept ?? formatsSection(results)}
${formatsEnd}

## Before/after optimisation

${beforeAfterStart}
${beforeAfter}
${beforeAfterEnd}
${results.notes.length > 0 ? `\n## Notes\n\n${results.notes.map((note) => `- ${note}`).join('\n')}\n` : ''}`;
}

/** Writes the results to `path`, keeping the before/after section of the file already there. */
export async function writeResults(path: string, results: BenchResults): Promise<void> {
  const existing = await readFile(path, 'utf8').catch(() => '');
  const start = existing.indexOf(beforeAfterStart);
  const end = existing.indexOf(beforeAfterEnd);
  const kept =
    start >= 0 && end > start ? existing.slice(start + beforeAfterStart.length, end).trim() : undefined;
  const formatsFrom = existing.indexOf(formatsStart);
  const formatsTo = existing.indexOf(formatsEnd);
  const formatsKept =
    results.formats === undefined
      ? (formatsFrom >= 0 && formatsTo > formatsFrom
          ? existing.slice(formatsFrom + formatsStart.length, formatsTo).trim()
          : undefined) || defaultFormats
      : undefined;
  await writeFile(path, renderResults(results, kept || defaultBeforeAfter, formatsKept));
}
