// `kafka-batch-puller reset`: moves a stopped pipeline to a time or to offsets (its state item and its
// consumer group), so that its next run lands from there; prints each partition's offsets before and
// after. The rules are the engine's (reset-pipeline.ts); this file reads flags and prints.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { PullerConfig } from '../config.js';
import { parseIsoDateTime } from '../core/iso-time.js';
import type { ResetTarget } from '../core/pipeline-reset.js';
import type { ResetReport } from '../engine/reset-pipeline.js';
import { connectTo } from './broker-connection.js';
import type { CliContext } from './cli-context.js';
import { type CommandSpec, commandHelp, type FlagSpec, type ParsedFlags, parseFlags } from './parse-args.js';
import {
  applyRegionFlag,
  configFromFlags,
  connectionFlags,
  groupFlag,
  runTuningFlags,
  stateFlag,
  tableFormatFlags,
} from './pipeline-flags.js';
import { formatTime, jsonLine } from './terminal-output.js';
import { UsageError } from './usage-error.js';

const name = 'reset';

function runFlag(flag: string): FlagSpec {
  const spec = runTuningFlags.find((f) => f.name === flag);
  if (!spec) throw new Error(`run has no flag --${flag}`);
  return spec;
}

/** The reset's targets: exactly one is given. */
const targetFlags: readonly FlagSpec[] = [
  {
    name: 'to-time',
    type: 'string',
    placeholder: '<ISO-8601>',
    help: 'land again from the window holding this time: each partition from its first record stamped then or later',
  },
  {
    name: 'to-offsets',
    type: 'list',
    placeholder: '<partition:offset>',
    help: 'these next offsets (comma-separated or repeated); partitions not named keep their saved offset',
  },
  { name: 'to-earliest', type: 'boolean', help: "every partition's first stored offset" },
  { name: 'to-latest', type: 'boolean', help: "every partition's end: skip what is not landed yet" },
];

/** The `reset` subcommand's flags and help. */
export const resetCommandSpec: CommandSpec = {
  name,
  summary: 'move a stopped pipeline to a time or to offsets (its state and its consumer group)',
  usage: `${name} --topic <name> --group-id <id> (--to-time <ISO-8601> | --to-offsets <p:o,...> | --to-earliest | --to-latest) [flags]`,
  description: [
    "Rewrites the pipeline's state item (every partition's next offset, where the next window starts, no",
    'pending window) and commits the consumer group to the same offsets, so its next run lands from there.',
    'Refuses, writing nothing, while a run holds the lease, while the group has members, and while the',
    'output holds windows at or after the reset point (move them away first: writes are create-only).',
    "A pipeline that lands an Iceberg table: give its --table-format and --iceberg-* flags, and the table's",
    'main branch goes back to before the first window the next run lands again.',
  ].join('\n'),
  flags: [
    ...connectionFlags,
    groupFlag,
    stateFlag,
    runFlag('output'),
    {
      ...runFlag('batch-interval-seconds'),
      default: undefined,
      defaultHelp: 'the length of the windows the state recorded; needed only when it records none',
    },
    ...targetFlags,
    // A table's settings are checked as run checks them: Iceberg needs Parquet.
    runFlag('format'),
    ...tableFormatFlags(),
    { name: 'json', type: 'boolean', help: 'print one JSON object (event "reset")' },
  ],
};

/** The target the flags name; exactly one target flag must be given. */
export function resetTargetOf(flags: ParsedFlags): ResetTarget {
  const given = targetFlags.filter(
    (f) => flags.strings.has(f.name) || flags.lists.has(f.name) || flags.booleans.has(f.name),
  );
  if (given.length !== 1) {
    throw new UsageError(
      `give exactly one of ${targetFlags.map((f) => `--${f.name}`).join(', ')}${given.length > 1 ? ` (got ${given.map((f) => `--${f.name}`).join(', ')})` : ''}`,
      name,
    );
  }
  if (flags.booleans.has('to-earliest')) return { kind: 'earliest' };
  if (flags.booleans.has('to-latest')) return { kind: 'latest' };
  const time = flags.strings.get('to-time');
  if (time !== undefined) {
    const timestampMs = parseIsoDateTime(time);
    if (timestampMs === undefined)
      throw new UsageError(`--to-time must be an ISO-8601 time, got '${time}'`, name);
    // Records produced from now on would land as late records of a window that has not begun.
    if (timestampMs > Date.now()) throw new UsageError(`--to-time ${time} is in the future`, name);
    return { kind: 'time', timestampMs };
  }
  const offsets = new Map<number, string>();
  for (const entry of flags.lists.get('to-offsets') ?? []) {
    const match = /^(\d+):(\d+)$/.exec(entry.trim());
    if (!match) throw new UsageError(`--to-offsets takes partition:offset pairs, got '${entry}'`, name);
    if (offsets.has(Number(match[1])))
      throw new UsageError(`--to-offsets names partition ${match[1]} twice`, name);
    offsets.set(Number(match[1]), match[2] as string);
  }
  return { kind: 'offsets', offsets };
}

/** Runs `reset`; resolves to the process exit code. */
export async function resetCommand(argv: readonly string[], context: CliContext): Promise<number> {
  const flags = parseFlags(resetCommandSpec, argv);
  if (flags.help) {
    context.streams.stdout.write(commandHelp(resetCommandSpec));
    return 0;
  }
  const target = resetTargetOf(flags);
  const config = configFromFlags(flags, name, context.env);
  applyRegionFlag(flags);
  const intervalGiven = flags.strings.has('batch-interval-seconds');
  const report = await resetWith(config, target, intervalGiven ? config.batchIntervalMs : undefined);
  const state = config.state.kind === 'file' ? config.state.path : `dynamodb://${config.state.table}`;
  context.streams.stdout.write(
    flags.booleans.has('json') ? jsonLine(name, resetFields(report, state)) : formatReset(report, state),
  );
  return 0;
}

/** Builds the adapters `config` names and resets. */
async function resetWith(
  config: PullerConfig,
  target: ResetTarget,
  intervalMs: number | undefined,
): Promise<ResetReport> {
  // Loaded on first use: the AWS SDK is not needed for --help or a bad flag.
  const { createAdapters } = await import('../adapters/create-adapters.js');
  const { createS3Client } = await import('../adapters/aws-clients.js');
  const { landedWindowsOf } = await import('../adapters/landed-windows.js');
  const { createKafkaClient } = await import('../adapters/kafka-client.js');
  const { resetPipeline } = await import('../engine/reset-pipeline.js');
  const adapters = await createAdapters(config);
  const admin = (await createKafkaClient(config)).admin();
  const s3 = config.output.kind === 's3' ? createS3Client() : undefined;
  try {
    await connectTo(admin, config.brokers);
    return await resetPipeline(
      {
        topic: config.topic,
        groupId: config.groupId,
        prefix: config.output.prefix,
        target,
        ...(intervalMs === undefined ? {} : { intervalMs }),
        futureToleranceMs: config.futureToleranceMs,
        resetId: `reset-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        leaseMs: 60_000,
        readTimeoutMs: 30_000,
        now: Date.now,
      },
      {
        store: adapters.store,
        source: adapters.source,
        landed: landedWindowsOf(config.output, () => s3 ?? createS3Client()),
        groupMembers: async () => {
          const { groups } = await admin.describeGroups([config.groupId]);
          return groups[0]?.members.length ?? 0;
        },
        ...(adapters.table ? { table: adapters.table } : {}),
      },
    );
  } finally {
    await admin.disconnect().catch(() => {});
    await adapters.close();
    s3?.destroy();
  }
}

const timeOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The report as the fields of one JSON line. */
export function resetFields(report: ResetReport, state: string): Record<string, unknown> {
  return {
    pipelineId: report.pipelineId,
    state,
    nextWindowStart: {
      before: timeOrNull(report.nextWindowStartBefore),
      after: timeOrNull(report.nextWindowStartAfter),
    },
    pendingCleared: report.pendingCleared && {
      start: new Date(report.pendingCleared.startMs).toISOString(),
      end: new Date(report.pendingCleared.endMs).toISOString(),
    },
    partitions: report.partitions,
    committed: report.committed,
    ...(report.commitError === undefined ? {} : { commitError: report.commitError }),
    ...(report.table === undefined ? {} : { table: report.table }),
  };
}

/** What the reset did to the Iceberg table, in a few words. */
function describeRollback(result: NonNullable<ResetReport['table']>): string {
  if (result.kind !== 'rolled-back') return 'held no window from the reset point on';
  const { windows, headAfter } = result;
  const to = headAfter === undefined ? 'no snapshot' : `snapshot ${headAfter}`;
  return `${windows.length} window(s) taken off main (${windows[0]} to ${windows.at(-1)}), main at ${to}`;
}

/** The report as a few aligned lines for people. */
export function formatReset(report: ResetReport, state: string): string {
  const time = (ms: number | null) => (ms === null ? 'at the first record read' : formatTime(ms));
  const pending = report.pendingCleared;
  const lines = [
    `pipeline      ${report.pipelineId}  (state: ${state})`,
    `next window   ${time(report.nextWindowStartBefore)} -> ${time(report.nextWindowStartAfter)}`,
    `pending       ${pending ? `${formatTime(pending.startMs)}..${formatTime(pending.endMs)} cleared` : 'none'}`,
    `group         ${report.committed ? 'committed the new offsets' : `not committed (${report.commitError}): the next run accepts the old offsets and commits after its first window`}`,
    ...(report.table ? [`table         ${describeRollback(report.table)}`] : []),
    '',
  ];
  const rows = [
    ['partition', 'before', 'after'],
    ...report.partitions.map((p) => [String(p.partition), p.before ?? '-', p.after]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows)
    lines.push(row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  '));
  return `${lines.join('\n')}\n`;
}
