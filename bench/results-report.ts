// Renders what one bench invocation measured as a Markdown report: the machine and the command first,
// then one section per scenario run. Figures are medians with (min–max) beside them.

import type { RunSample } from './bench-context.js';
import type { BenchOptions } from './bench-options.js';
import type { MachineInfo } from './machine-info.js';
import type { JoinFigures } from './measure-group-join.js';
import type { LadderRung } from './measure-memory.js';
import type { ThroughputFigures } from './measure-throughput.js';
import type { ValuesFigures } from './measure-values.js';
import type { VariantFigures } from './measure-variants.js';
import { fixed, integer, markdownTable, spread, summarize } from './summary-table.js';
import { valuesSection } from './values-report.js';

/** Everything one bench invocation measured; a scenario not run is undefined. */
export interface BenchReport {
  /** The options, for the command and the data described. */
  readonly options: BenchOptions;
  /** When the bench started, ISO 8601. */
  readonly date: string;
  /** The machine and software measured on. */
  readonly machine: MachineInfo;
  /** 1-minute load average at the start and end: above the core count, other work shared the machine. */
  readonly loadAverage: { readonly start: number; readonly end: number };
  /** Scenarios s3 and directory. */
  readonly throughput?: ThroughputFigures | undefined;
  /** Scenario memory. */
  readonly ladder?: readonly LadderRung[] | undefined;
  /** Scenario formats. */
  readonly formats?: readonly VariantFigures[] | undefined;
  /** Scenario shards. */
  readonly shards?: readonly VariantFigures[] | undefined;
  /** Scenario join, one entry per broker delay. */
  readonly join?: readonly JoinFigures[] | undefined;
  /** Scenario values. */
  readonly values?: ValuesFigures | undefined;
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function setup(report: BenchReport): string {
  const { machine: m, options: o } = report;
  const what = o.values === 'json' ? 'JSON order events' : 'random base64 text';
  const valuesNote = o.only.has('values')
    ? '; the values scenario produces order events whatever --values says'
    : '';
  return [
    `- Command: \`${o.command}\``,
    `- Date: ${report.date}; commit ${m.commit}`,
    `- Machine: ${m.cores} cores, ${m.memoryGiB} GiB, ${m.cpuModel}, Linux ${m.kernel}; load average (1 min) ${report.loadAverage.start.toFixed(2)} at the start, ${report.loadAverage.end.toFixed(2)} at the end (above about 1, other work shared the machine)`,
    `- Software: Node ${m.node}, kafkajs ${m.kafkajs}, AWS SDK ${m.awsSdk}; Apache Kafka ${m.kafkaBroker} (one KRaft node) and moto ${m.moto} on the same machine`,
    `- Data: ${integer(o.records)} records of ${o.recordBytes} B values (${what}, no key${valuesNote}) on ${o.partitions} partitions over ${o.windows} windows of ${o.batchIntervalSeconds} s, all ended; ${o.runs === 1 ? 'one run' : `medians of ${o.runs} runs (min–max)`}, each a fresh pipeline in its own process`,
  ].join('\n');
}

/** Records/s, MiB/s, CPU per GiB, size and memory of runs that each landed `records` records. */
function rateTable(
  first: string,
  rows: readonly VariantFigures[],
  records: number,
  recordBytes: number,
): string {
  const valueBytes = records * recordBytes;
  const rate = (runs: readonly RunSample[]) => runs.map((r) => records / (r.elapsedMs / 1000));
  const baseline = summarize(rate(rows[0]?.runs ?? []))?.median;
  return markdownTable(
    [
      first,
      'records/s',
      'MiB/s of values',
      'CPU s per GiB of values',
      'bytes / value bytes',
      'peak RSS MiB',
      'vs first row',
    ],
    rows.map(({ variant, runs }) => [
      variant.label,
      spread(rate(runs), integer),
      spread(
        runs.map((r) => valueBytes / MiB / (r.elapsedMs / 1000)),
        fixed(1),
      ),
      spread(
        runs.map((r) => r.cpuMs / 1000 / (valueBytes / GiB)),
        fixed(1),
      ),
      spread(
        runs.map((r) => r.bytesWritten / valueBytes),
        fixed(3),
      ),
      spread(
        runs.map((r) => r.peakRssBytes / MiB),
        integer,
      ),
      baseline === undefined ? '–' : ((summarize(rate(runs))?.median ?? Number.NaN) / baseline).toFixed(2),
    ]),
  );
}

function throughputSection(report: BenchReport, figures: ThroughputFigures): string {
  const { records, recordBytes } = report.options;
  const rows: VariantFigures[] = [
    { variant: { label: 'to S3 (moto), state in DynamoDB (moto)', variables: {} }, runs: figures.runs.s3 },
    { variant: { label: 'to a local folder, state in a file', variables: {} }, runs: figures.runs.directory },
  ].filter((row) => row.runs.length > 0);
  const seconds = (runs: readonly RunSample[], pick: (run: RunSample) => number | undefined) =>
    spread(
      runs
        .map(pick)
        .filter((ms): ms is number => ms !== undefined)
        .map((ms) => ms / 1000),
      fixed(2),
    );
  const overheadRow = (label: string, runs: readonly RunSample[]) => [
    label,
    seconds(runs, (r) => r.firstRecordMs),
    seconds(runs, (r) => r.firstCommitMs),
    seconds(runs, (r) => r.closeToCommitMs),
    seconds(runs, (r) => r.elapsedMs),
  ];
  const overhead = markdownTable(
    [
      'run',
      'start → first record',
      'start → first window committed',
      'last window: closed → committed',
      'whole run',
    ],
    [
      ...(figures.emptyTopicRuns.length > 0
        ? [overheadRow('new pipeline, empty topic (S3)', figures.emptyTopicRuns)]
        : []),
      ...(figures.idleRuns.length > 0
        ? [overheadRow('existing pipeline, no new record (S3)', figures.idleRuns)]
        : []),
      ...rows.map(({ variant, runs }) => overheadRow(`new pipeline, busy topic, ${variant.label}`, runs)),
    ],
  );
  return `## Landing a backlog (s3, directory)

${rateTable('the puller lands the whole topic', rows, records, recordBytes)}

Fixed cost of a run, seconds from before the adapters are created:

${overhead}`;
}

function ladderSection(report: BenchReport, rungs: readonly LadderRung[]): string {
  const peak = (rung: LadderRung) => rung.runs.map((r) => r.peakRssBytes / MiB);
  const table = markdownTable(
    ['records in ONE window', 'records', 'peak RSS MiB', 'RSS at start MiB', 'records/s'],
    rungs.map((rung) => [
      `${rung.windowMiB} MiB`,
      integer(rung.records),
      spread(peak(rung), integer),
      spread(
        rung.runs.map((r) => r.startRssBytes / MiB),
        integer,
      ),
      spread(
        rung.runs.map((r) => rung.records / (r.elapsedMs / 1000)),
        integer,
      ),
    ]),
  );
  const where =
    report.options.ladderSink === 's3' ? 'to S3, state in DynamoDB' : 'to a folder, state in a file';
  return `## Peak memory as one window grows (memory)\n\nEach window landed ${where}, one run per process.\n\n${table}`;
}

function joinSection(figures: readonly JoinFigures[]): string {
  const tables = figures.map(({ delayMs, broker, rows }) => {
    const table = markdownTable(
      ['', 'first records, ms', 'commit, ms'],
      rows.map(({ label, samples }) => [
        label,
        spread(
          samples.map((s) => s.firstRecordsMs),
          integer,
        ),
        spread(
          samples.map((s) => s.commitMs).filter((ms): ms is number => ms !== undefined),
          integer,
        ),
      ]),
    );
    return `### group.initial.rebalance.delay.ms = ${delayMs} (broker ${broker})\n\n${table}`;
  });
  return `## Starting to read: the group join (join)\n\n${tables.join('\n\n')}`;
}

/** The whole report. */
export function renderReport(report: BenchReport): string {
  const { records, recordBytes } = report.options;
  const sections = [`# Bench report\n\n${setup(report)}`];
  if (report.throughput) sections.push(throughputSection(report, report.throughput));
  if (report.ladder) sections.push(ladderSection(report, report.ladder));
  if (report.formats) {
    sections.push(
      `## Output formats, to a local folder (formats)\n\n${rateTable('format', report.formats, records, recordBytes)}`,
    );
  }
  if (report.shards) {
    sections.push(
      `## Shards on worker threads, to a local folder (shards)\n\n${rateTable('shards', report.shards, records, recordBytes)}`,
    );
  }
  if (report.join) sections.push(joinSection(report.join));
  if (report.values) sections.push(valuesSection(report.values, records));
  return `${sections.join('\n\n')}\n`;
}
