// `kafka-batch-puller status`: what the pipeline's state says (last closed window, pending batch,
// lease) beside the topic's high watermarks, giving the lag per partition. Read-only: it uses the
// admin API and the state store, and never joins the consumer group.
import type { Admin } from 'kafkajs';
import { createKafkaClient } from '../adapters/kafka-client.js';
import type { PullerConfig } from '../config.js';
import { assemblePending } from '../core/partition-share.js';
import { type PendingBatch, type PipelineState, pipelineIdOf } from '../core/pipeline-state.js';
import { readShares } from '../engine/attempt-store.js';
import { TopicNotFoundError } from '../errors.js';
import { connectTo } from './broker-connection.js';
import type { CliContext } from './cli-context.js';
import { type CommandSpec, commandHelp, parseFlags } from './parse-args.js';
import { applyRegionFlag, configFromFlags, connectionFlags, groupFlag, stateFlag } from './pipeline-flags.js';
import { formatCount, formatTime, formatWindow, jsonLine } from './terminal-output.js';

/** The `status` subcommand's flags and help. */
export const statusCommandSpec: CommandSpec = {
  name: 'status',
  summary: "show a pipeline's last closed window, pending batch, lease, offsets and lag",
  usage: 'status --broker <host:port> --topic <name> --group-id <id> [flags]',
  description: [
    "Shows the pipeline's saved state beside the topic's high watermarks: lag per partition is the high",
    'watermark minus the saved next offset. Reads only; it does not join the consumer group.',
  ].join('\n'),
  flags: [
    ...connectionFlags,
    groupFlag,
    stateFlag,
    { name: 'json', type: 'boolean', help: 'print one JSON object (event "status")' },
  ],
};

/** One partition's offsets and lag. Offsets are decimal strings (64-bit). */
export interface PartitionStatus {
  readonly partition: number;
  /** The next offset the saved state says to read; null when the pipeline has not read this partition. */
  readonly savedOffset: string | null;
  /** The consumer group's committed offset; null when none is committed. */
  readonly committedOffset: string | null;
  readonly low: string;
  readonly high: string;
  /** `high - savedOffset`; null without a saved offset. */
  readonly lag: number | null;
}

/** Everything `status` reports. */
export interface PipelineStatus {
  readonly pipelineId: string;
  readonly topic: string;
  readonly groupId: string;
  /** Where the state lives (a file path or dynamodb://table). */
  readonly state: string;
  /** False when no state is saved: the pipeline has not run yet. */
  readonly saved: boolean;
  readonly version: number | null;
  readonly windowsClosed: number;
  readonly lastClosedWindow: {
    readonly start: string;
    readonly end: string;
    readonly closedAt: string;
    readonly records: number;
    readonly manifestKey: string;
  } | null;
  readonly nextWindowStart: string | null;
  readonly pending: {
    readonly start: string;
    readonly end: string;
    /** True once the window's end offsets are recorded and its manifest is being written. */
    readonly closing: boolean;
    readonly parts: number;
    readonly records: number;
    readonly bytes: number;
  } | null;
  readonly lease: { readonly owner: string; readonly expiresAt: string; readonly live: boolean } | null;
  readonly updatedAt: string | null;
  readonly partitions: readonly PartitionStatus[];
  /** Sum of the partitions' lag; null when no partition has a saved offset. */
  readonly totalLag: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Runs `status`; resolves to the process exit code. */
export async function statusCommand(argv: readonly string[], context: CliContext): Promise<number> {
  const flags = parseFlags(statusCommandSpec, argv);
  if (flags.help) {
    context.streams.stdout.write(commandHelp(statusCommandSpec));
    return 0;
  }
  const config = configFromFlags(flags, statusCommandSpec.name, context.env);
  applyRegionFlag(flags);
  const status = await readStatus(config, Date.now());
  context.streams.stdout.write(
    flags.booleans.has('json') ? jsonLine('status', { ...status }) : formatStatus(status),
  );
  return 0;
}

/** Reads the saved state and the topic's offsets, and puts them side by side. */
export async function readStatus(config: PullerConfig, nowMs: number): Promise<PipelineStatus> {
  const pipelineId = pipelineIdOf(config.groupId, config.topic);
  // Loaded on first use: the AWS SDK is not needed for --help or a bad flag.
  const { createAdapters } = await import('../adapters/create-adapters.js');
  const adapters = await createAdapters(config);
  const offsets = await readOffsets(config);
  let saved: Awaited<ReturnType<typeof adapters.store.load>>;
  let pending: PendingBatch | null = null;
  try {
    saved = await adapters.store.load(pipelineId);
    const window = saved?.state.pending;
    if (window) {
      const partitions = [
        ...new Set([...offsets.map((o) => o.partition), ...Object.keys(window.startOffsets).map(Number)]),
      ];
      const shares = await readShares(adapters.store, pipelineId, window, partitions);
      pending = assemblePending(
        window,
        [...shares.values()].map((known) => known.share),
      );
    }
  } finally {
    await adapters.close();
  }
  const state = saved?.state;
  const partitions = offsets.map(({ partition, low, high, committed }): PartitionStatus => {
    const savedOffset = state?.offsets[String(partition)] ?? null;
    const lag = savedOffset === null ? null : Number(BigInt(high) - BigInt(savedOffset));
    return {
      partition,
      savedOffset,
      committedOffset: committed,
      low,
      high,
      lag: lag === null ? null : Math.max(0, lag),
    };
  });
  const lags = partitions.map((p) => p.lag).filter((lag): lag is number => lag !== null);
  return {
    pipelineId,
    topic: config.topic,
    groupId: config.groupId,
    state: config.state.kind === 'file' ? config.state.path : `dynamodb://${config.state.table}`,
    saved: state !== undefined,
    version: saved?.version ?? null,
    windowsClosed: state?.windowsClosed ?? 0,
    lastClosedWindow: lastClosedOf(state),
    nextWindowStart: state?.nextWindowStartMs == null ? null : iso(state.nextWindowStartMs),
    pending: pendingOf(pending),
    lease: state?.lease
      ? {
          owner: state.lease.owner,
          expiresAt: iso(state.lease.expiresAtMs),
          live: state.lease.expiresAtMs > nowMs,
        }
      : null,
    updatedAt: state ? iso(state.updatedAtMs) : null,
    partitions,
    totalLag: lags.length === 0 ? null : lags.reduce((sum, lag) => sum + lag, 0),
  };
}

function lastClosedOf(state: PipelineState | undefined): PipelineStatus['lastClosedWindow'] {
  const last = state?.lastClosedWindow;
  if (!last) return null;
  return {
    start: iso(last.startMs),
    end: iso(last.endMs),
    closedAt: iso(last.closedAtMs),
    records: last.records,
    manifestKey: last.manifestKey,
  };
}

function pendingOf(pending: PendingBatch | null): PipelineStatus['pending'] {
  if (!pending) return null;
  return {
    start: iso(pending.windowStartMs),
    end: iso(pending.windowEndMs),
    closing: pending.endOffsets !== null,
    parts: pending.parts.length,
    records: pending.parts.reduce((sum, part) => sum + part.records, 0),
    bytes: pending.parts.reduce((sum, part) => sum + part.bytes, 0),
  };
}

interface PartitionOffsets {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
  readonly committed: string | null;
}

/** High watermarks and the group's committed offsets, through the admin API only. */
async function readOffsets(config: PullerConfig): Promise<PartitionOffsets[]> {
  const admin: Admin = (await createKafkaClient(config)).admin();
  await connectTo(admin, config.brokers);
  try {
    if (!(await admin.listTopics()).includes(config.topic)) throw new TopicNotFoundError(config.topic);
    const [watermarks, committed] = await Promise.all([
      admin.fetchTopicOffsets(config.topic),
      admin.fetchOffsets({ groupId: config.groupId, topics: [config.topic] }),
    ]);
    const committedByPartition = new Map(
      (committed.find((t) => t.topic === config.topic)?.partitions ?? []).map((p) => [p.partition, p.offset]),
    );
    return watermarks
      .map(({ partition, low, high }) => {
        const offset = committedByPartition.get(partition);
        // Kafka answers -1 for a partition the group never committed.
        return { partition, low, high, committed: offset === undefined || offset === '-1' ? null : offset };
      })
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/** The status as a few aligned lines for people. */
export function formatStatus(status: PipelineStatus): string {
  const lines = [`pipeline      ${status.pipelineId}  (state: ${status.state})`];
  if (!status.saved) {
    lines.push('state         none saved: the pipeline has not run yet');
  } else {
    const last = status.lastClosedWindow;
    lines.push(
      last
        ? `last closed   ${formatWindow(Date.parse(last.start), Date.parse(last.end))}  ${formatCount(last.records)} records, ` +
            `closed ${formatTime(Date.parse(last.closedAt))}  (${formatCount(status.windowsClosed)} windows closed)`
        : 'last closed   none yet',
    );
    if (last) lines.push(`manifest      ${last.manifestKey}`);
    if (status.nextWindowStart)
      lines.push(`next window   starts ${formatTime(Date.parse(status.nextWindowStart))}`);
    const pending = status.pending;
    lines.push(
      pending
        ? `pending       ${formatWindow(Date.parse(pending.start), Date.parse(pending.end))} ` +
            `${pending.closing ? 'closing' : 'open'}: ${pending.parts} parts, ${formatCount(pending.records)} records written`
        : 'pending       none',
    );
    const lease = status.lease;
    lines.push(
      lease
        ? `lease         ${lease.owner} until ${formatTime(Date.parse(lease.expiresAt))} (${lease.live ? 'live' : 'expired'})`
        : 'lease         free',
    );
  }
  const rows = [
    ['partition', 'saved', 'committed', 'high', 'lag'],
    ...status.partitions.map((p) => [
      String(p.partition),
      p.savedOffset ?? '-',
      p.committedOffset ?? '-',
      p.high,
      p.lag === null ? '-' : formatCount(p.lag),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  lines.push('');
  for (const row of rows)
    lines.push(row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  '));
  lines.push(`total lag     ${status.totalLag === null ? '-' : formatCount(status.totalLag)}`);
  return `${lines.join('\n')}\n`;
}
