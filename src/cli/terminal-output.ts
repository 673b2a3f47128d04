// What the CLI prints: a live line and summaries on a terminal, plain log lines when piped, or one
// JSON object per line (--json) for machines. Notes and errors go to stderr in every mode.
import type { Writable } from 'node:stream';
import type { RunLogger } from '../engine/run-logger.js';
import type { ClosedWindow, RunReport, WindowProgress } from '../engine/run-types.js';
import type { TableCommitOutcome } from '../ports.js';

/** How output is shaped: `tty` redraws a live line, `plain` only appends lines, `json` prints events. */
export type OutputMode = 'tty' | 'plain' | 'json';

/** The streams the CLI writes to; `isTTY` decides between the live display and plain lines. */
export interface OutputStreams {
  readonly stdout: Writable & { readonly isTTY?: boolean; readonly columns?: number };
  readonly stderr: Writable;
}

/** The output mode for these flags and streams. */
export function outputModeOf(json: boolean, streams: OutputStreams): OutputMode {
  if (json) return 'json';
  return streams.stdout.isTTY ? 'tty' : 'plain';
}

/** `1234567` as `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A count with its noun, plural unless it is one: `1 window`, `1,234 records`. */
export function countOf(n: number, noun: string): string {
  return `${formatCount(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** Bytes in binary units: `512 B`, `12.3 KiB`, `4.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An instant as ISO-8601 UTC to the second: `2026-11-27T09:40:00Z`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A window as `2026-11-27T09:40:00Z..09:41:00Z` (the end's date only when it differs). */
export function formatWindow(startMs: number, endMs: number): string {
  const start = formatTime(startMs);
  const end = formatTime(endMs);
  return `${start}..${end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end}`;
}

/** One JSON object per line, with the event name first. */
export function jsonLine(event: string, fields: Record<string, unknown>): string {
  return `${JSON.stringify({ event, ...fields })}\n`;
}

/** What a closed window's line says of its table commit: nothing when it made no snapshot. */
const TABLE_COMMIT_NOTES: Readonly<Record<TableCommitOutcome, string>> = {
  committed: ' + Iceberg snapshot',
  'already-committed': ' (its Iceberg snapshot was already committed)',
  empty: '',
};

/** The summary of a closed window: bounds, records, bytes, where its manifest is, and its snapshot. */
export function windowClosedLine(closed: ClosedWindow): string {
  const { window, totals } = closed.manifest;
  const late = totals.lateRecords > 0 ? `, ${formatCount(totals.lateRecords)} late` : '';
  const errors = totals.errorRecords > 0 ? `, ${formatCount(totals.errorRecords)} errors` : '';
  return (
    `window ${formatWindow(window.startMs, window.endMs)} closed: ${formatCount(totals.records)} records${late}${errors}, ` +
    `${formatBytes(totals.bytes)} in ${countOf(totals.objects, 'object')} -> ${closed.manifestLocation}` +
    TABLE_COMMIT_NOTES[closed.tableCommit ?? 'empty']
  );
}

/** The summary of a run: why it ended and what it did. */
export function runFinishedLine(report: RunReport, elapsedMs: number): string {
  const windows = report.windowsClosed.length;
  const lag = report.consumerLag === undefined ? '' : `, lag ${formatCount(report.consumerLag)}`;
  const holder = report.leaseHolder ? ` (lease held by ${report.leaseHolder})` : '';
  return (
    `run ${report.runId} ${report.outcome}${holder} after ${(elapsedMs / 1000).toFixed(1)} s: ` +
    `${countOf(windows, 'window')} closed, ${formatCount(report.recordsWritten)} records, ` +
    `${formatBytes(report.bytesWritten)}${lag}`
  );
}

/** The JSON fields of a run report, for `--json`. */
export function runReportFields(report: RunReport, elapsedMs: number): Record<string, unknown> {
  return {
    runId: report.runId,
    outcome: report.outcome,
    elapsedMs,
    windowsClosed: report.windowsClosed.map((w) => ({
      start: w.manifest.window.start,
      end: w.manifest.window.end,
      records: w.manifest.totals.records,
      manifest: w.manifestLocation,
    })),
    recordsWritten: report.recordsWritten,
    bytesWritten: report.bytesWritten,
    lateRecords: report.lateRecords,
    errorRecords: report.errorRecords,
    retentionGapRecords: report.retentionGapRecords,
    consumerLag: report.consumerLag ?? null,
    newestWindowAgeSeconds: report.newestWindowAgeSeconds ?? null,
    leaseHolder: report.leaseHolder ?? null,
  };
}

/** What `run` prints while it works, in the chosen mode; also the engine's logger. */
export class RunOutput implements RunLogger {
  private liveLine = false;
  private lastDrawMs = 0;

  constructor(
    readonly mode: OutputMode,
    private readonly streams: OutputStreams,
    private readonly now: () => number = Date.now,
  ) {}

  /** Redraws the open window's live line (terminal only; at most ten times a second). */
  progress(progress: WindowProgress): void {
    if (this.mode !== 'tty') return;
    const nowMs = this.now();
    if (nowMs - this.lastDrawMs < 100) return;
    this.lastDrawMs = nowMs;
    const lag = progress.lag === undefined ? '' : `  lag ${formatCount(progress.lag)}`;
    // Times only (the summary line has the date): the line must fit an 80-column terminal.
    const window = `${formatTime(progress.windowStartMs).slice(11, 19)}..${formatTime(progress.windowEndMs).slice(11)}`;
    const text =
      `open window ${window}  ${formatCount(progress.records)} records  ` +
      `${progress.partitionsDone}/${progress.partitions} partitions done${lag}`;
    const width = (this.streams.stdout.columns ?? 120) - 1;
    // \r returns to the line start and ESC[K clears what a longer previous line left.
    this.streams.stdout.write(`\r${text.slice(0, width)}\x1b[K`);
    this.liveLine = true;
  }

  /** A run started. */
  runStarted(runId: string, deadlineMs: number): void {
    if (this.mode === 'json') {
      this.write(jsonLine('run-started', { runId, deadline: new Date(deadlineMs).toISOString() }));
    } else if (this.mode === 'plain') {
      this.line(`run ${runId} started (next run at ${formatTime(deadlineMs)})`);
    }
  }

  /** A window was closed: its summary line, or its event. */
  windowClosed(closed: ClosedWindow): void {
    if (this.mode === 'json') {
      const { manifest } = closed;
      this.write(
        jsonLine('window-closed', {
          topic: manifest.topic,
          start: manifest.window.start,
          end: manifest.window.end,
          records: manifest.totals.records,
          lateRecords: manifest.totals.lateRecords,
          errorRecords: manifest.totals.errorRecords,
          bytes: manifest.totals.bytes,
          objects: manifest.totals.objects,
          manifest: closed.manifestLocation,
          ...(closed.tableCommit ? { tableCommit: closed.tableCommit } : {}),
        }),
      );
      return;
    }
    this.line(windowClosedLine(closed));
  }

  /** A run ended. */
  runFinished(report: RunReport, elapsedMs: number): void {
    if (this.mode === 'json') {
      this.write(jsonLine('run-finished', runReportFields(report, elapsedMs)));
      return;
    }
    this.line(runFinishedLine(report, elapsedMs));
  }

  /** The engine's warning: a `warning` event with --json, else a note naming each attribute. */
  warn(message: string, attributes: Readonly<Record<string, unknown>>): void {
    if (this.mode === 'json') {
      this.clearLiveLine();
      this.write(jsonLine('warning', { message, ...attributes }));
      return;
    }
    const details = Object.entries(attributes).map(([name, value]) => `${name}=${String(value)}`);
    this.note(`warning: ${message} (${details.join(', ')})`);
  }

  /** A note for the person at the terminal (stderr in every mode, so --json stays parseable). */
  note(text: string): void {
    this.clearLiveLine();
    this.streams.stderr.write(`${text}\n`);
  }

  private line(text: string): void {
    this.clearLiveLine();
    this.write(this.mode === 'plain' ? `${formatTime(this.now())} ${text}\n` : `${text}\n`);
  }

  private clearLiveLine(): void {
    if (!this.liveLine) return;
    this.streams.stdout.write('\r\x1b[K');
    this.liveLine = false;
  }

  private write(text: string): void {
    this.streams.stdout.write(text);
  }
}
