// One window as one Iceberg append snapshot: its summary, the commit that adds it, and how a retry finds
// it already committed. Pure: no I/O.
//
// The summary names the pipeline, the window and its end offsets, so the table's own history says which
// windows it holds. A finalize that is retried, or that died between its commit and its state save, finds
// its window there and commits nothing. The same commit also raises a table property, the pipeline's
// last committed window end, which outlives snapshot expiry: a window at or before it is committed even
// when maintenance has expired the snapshot that added it.
import type { Snapshot, TableCommit, TableMetadata } from './ports.js';

/** The snapshot summary keys this puller writes beside Iceberg's own. */
export const SummaryKey = {
  PIPELINE_ID: 'kafka-batch-puller.pipeline-id',
  WINDOW_START: 'kafka-batch-puller.window-start',
  WINDOW_END: 'kafka-batch-puller.window-end',
  /** JSON object: partition number to the next offset after the window (Kafka's meaning). */
  END_OFFSETS: 'kafka-batch-puller.end-offsets',
} as const;

/** The table property holding a pipeline's last committed window end (ISO-8601). */
export const lastWindowEndProperty = (pipelineId: string) =>
  `kafka-batch-puller.last-window-end.${pipelineId}`;

/** The branch every window is appended to. */
export const MAIN_BRANCH = 'main';

/** The window a commit lands. */
export interface WindowCommit {
  /** The pipeline's id (its consumer group and topic). */
  readonly pipelineId: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Per partition number, the next offset after the window's records. */
  readonly endOffsets: Readonly<Record<string, string>>;
}

/** What a window adds to the table. */
export interface AddedFiles {
  readonly files: number;
  readonly records: number;
  readonly bytes: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The snapshot that is main's head now, if any. */
export function mainSnapshotId(metadata: TableMetadata): string | undefined {
  const head = metadata.refs?.[MAIN_BRANCH]?.['snapshot-id'] ?? metadata['current-snapshot-id'];
  // Iceberg's Java metadata writer says -1 for "no snapshot".
  return head === null || head === undefined || head === '-1' ? undefined : head;
}

/** Main's snapshots, newest first, as far back as the table still keeps them. */
function* mainHistory(metadata: TableMetadata): Generator<Snapshot> {
  const byId = new Map((metadata.snapshots ?? []).map((s) => [s['snapshot-id'], s]));
  for (let id = mainSnapshotId(metadata); id !== undefined; ) {
    const snapshot = byId.get(id);
    if (snapshot === undefined) return;
    yield snapshot;
    id = snapshot['parent-snapshot-id'];
  }
}

/** Where a window was found committed: its snapshot, or only the pipeline's watermark property. */
export type CommittedWindow = { readonly snapshot: Snapshot } | { readonly byWatermark: string };

/** The window's commit in the table, or undefined when the table does not hold the window yet. */
export function findCommittedWindow(
  metadata: TableMetadata,
  window: WindowCommit,
): CommittedWindow | undefined {
  for (const snapshot of mainHistory(metadata)) {
    const summary = snapshot.summary;
    if (
      summary[SummaryKey.PIPELINE_ID] === window.pipelineId &&
      summary[SummaryKey.WINDOW_START] === iso(window.startMs) &&
      summary[SummaryKey.WINDOW_END] === iso(window.endMs)
    )
      return { snapshot };
  }
  const watermark = metadata.properties?.[lastWindowEndProperty(window.pipelineId)];
  if (watermark !== undefined && Date.parse(watermark) >= window.endMs) return { byWatermark: watermark };
  return undefined;
}

/** Iceberg's running totals, carried on from the parent's summary (absent when the parent has none). */
function totals(parent: Snapshot | undefined, added: AddedFiles): Record<string, string> {
  const before = (key: string) => (parent === undefined ? 0 : Number(parent.summary[key]));
  const keys = ['total-records', 'total-data-files', 'total-files-size'];
  if (keys.some((key) => Number.isNaN(before(key)))) return {};
  return {
    'total-records': String(before('total-records') + added.records),
    'total-data-files': String(before('total-data-files') + added.files),
    'total-files-size': String(before('total-files-size') + added.bytes),
    'total-delete-files': String(before('total-delete-files') || 0),
    'total-position-deletes': String(before('total-position-deletes') || 0),
    'total-equality-deletes': String(before('total-equality-deletes') || 0),
  };
}

/** The summary of a window's snapshot: Iceberg's append counts and totals, and the window. */
export function windowSummary(
  window: WindowCommit,
  added: AddedFiles,
  parent: Snapshot | undefined,
): Record<string, string> {
  return {
    operation: 'append',
    'added-data-files': String(added.files),
    'added-records': String(added.records),
    'added-files-size': String(added.bytes),
    ...totals(parent, added),
    [SummaryKey.PIPELINE_ID]: window.pipelineId,
    [SummaryKey.WINDOW_START]: iso(window.startMs),
    [SummaryKey.WINDOW_END]: iso(window.endMs),
    [SummaryKey.END_OFFSETS]: JSON.stringify(window.endOffsets),
  };
}

/** The snapshot a window's commit adds, on top of main as `metadata` has it. */
export function windowSnapshot(
  metadata: TableMetadata,
  window: WindowCommit,
  added: AddedFiles,
  snapshot: { readonly id: string; readonly manifestList: string; readonly timestampMs: number },
): Snapshot {
  const parentId = mainSnapshotId(metadata);
  const parent = metadata.snapshots?.find((s) => s['snapshot-id'] === parentId);
  return {
    'snapshot-id': snapshot.id,
    ...(parentId === undefined ? {} : { 'parent-snapshot-id': parentId }),
    'sequence-number': metadata['last-sequence-number'] + 1,
    'timestamp-ms': snapshot.timestampMs,
    'manifest-list': snapshot.manifestList,
    summary: windowSummary(window, added, parent),
    'schema-id': metadata['current-schema-id'],
  };
}

/**
 * The commit that appends `snapshot` to main: it holds only while main is still where `metadata` saw it,
 * so of two writers that read the same head, one wins and the other gets a conflict and reads again.
 */
export function appendCommit(metadata: TableMetadata, window: WindowCommit, snapshot: Snapshot): TableCommit {
  return {
    requirements: [
      { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: MAIN_BRANCH, 'snapshot-id': mainSnapshotId(metadata) ?? null },
    ],
    updates: [
      { action: 'add-snapshot', snapshot },
      {
        action: 'set-snapshot-ref',
        'ref-name': MAIN_BRANCH,
        type: 'branch',
        'snapshot-id': snapshot['snapshot-id'],
      },
      {
        action: 'set-properties',
        updates: { [lastWindowEndProperty(window.pipelineId)]: iso(window.endMs) },
      },
    ],
  };
}
