// What a reset does to a pipeline's Iceberg table: main goes back to before the pipeline's first window at
// or after the reset point, and the pipeline's last-window-end property down to that point, so that the
// windows the next run lands again are committed again (the history and the property say otherwise until
// then). Pure: no I/O.
//
// Only the pipeline's own newest snapshots are taken off main. When another writer committed after one of
// them, taking it off would take that writer's commit off too: refused, and left to the table's owner.
import type { Snapshot, TableCommit, TableMetadata, TableUpdate } from './ports.js';
import { lastWindowEndProperty, MAIN_BRANCH, mainSnapshotId, SummaryKey } from './window-snapshot.js';

/** What a reset changes in the table. */
export type RollbackPlan =
  /** Main and the property already agree with the reset point. */
  | { readonly kind: 'nothing' }
  /** The commit that moves main back (to `headAfter`, or to no snapshot) and lowers the property. */
  | {
      readonly kind: 'roll-back';
      readonly commit: TableCommit;
      /** The windows taken off main, oldest first, as `start/end` ISO-8601 intervals. */
      readonly windows: readonly string[];
      readonly headBefore: string | undefined;
      readonly headAfter: string | undefined;
    }
  /** A commit by another writer sits above a window to take off. */
  | { readonly kind: 'refused'; readonly reason: string };

const iso = (ms: number) => new Date(ms).toISOString();

function windowOf(snapshot: Snapshot): string {
  return `${snapshot.summary[SummaryKey.WINDOW_START]}/${snapshot.summary[SummaryKey.WINDOW_END]}`;
}

/**
 * The rollback that makes the table hold none of the pipeline's windows ending after `fromMs` (every one
 * of them when `fromMs` is null: the next window starts at the first record read).
 */
export function planRollback(
  metadata: TableMetadata,
  pipelineId: string,
  fromMs: number | null,
): RollbackPlan {
  const byId = new Map((metadata.snapshots ?? []).map((s) => [s['snapshot-id'], s]));
  const headBefore = mainSnapshotId(metadata);
  // Newest first: the snapshots above the oldest window to take off, and that window's parent.
  const above: Snapshot[] = [];
  let cut: Snapshot | undefined;
  for (let id = headBefore; id !== undefined; ) {
    const snapshot = byId.get(id);
    if (snapshot === undefined) break;
    const summary = snapshot.summary;
    const ownWindow = summary[SummaryKey.PIPELINE_ID] === pipelineId;
    if (ownWindow && fromMs !== null && Date.parse(summary[SummaryKey.WINDOW_END] ?? '') <= fromMs) break;
    above.push(snapshot);
    if (ownWindow) cut = snapshot;
    id = snapshot['parent-snapshot-id'];
  }
  const dropped = cut === undefined ? [] : above.slice(0, above.indexOf(cut) + 1);
  const foreign = dropped.find((s) => s.summary[SummaryKey.PIPELINE_ID] !== pipelineId);
  if (foreign !== undefined) {
    return {
      kind: 'refused',
      reason:
        `its Iceberg table has snapshot ${foreign['snapshot-id']}, committed by another writer after a window this reset would land again; ` +
        'roll the table back by hand (Iceberg rollback_to_snapshot) to before that window, then reset again',
    };
  }
  const property = lastWindowEndProperty(pipelineId);
  const watermark = metadata.properties?.[property];
  const lowerWatermark = watermark !== undefined && (fromMs === null || Date.parse(watermark) > fromMs);
  if (dropped.length === 0 && !lowerWatermark) return { kind: 'nothing' };

  const headAfter = cut === undefined ? headBefore : cut['parent-snapshot-id'];
  const updates: TableUpdate[] = [];
  if (dropped.length > 0) {
    updates.push(
      headAfter === undefined
        ? { action: 'remove-snapshot-ref', 'ref-name': MAIN_BRANCH }
        : { action: 'set-snapshot-ref', 'ref-name': MAIN_BRANCH, type: 'branch', 'snapshot-id': headAfter },
    );
  }
  if (lowerWatermark) {
    updates.push(
      fromMs === null
        ? { action: 'remove-properties', removals: [property] }
        : { action: 'set-properties', updates: { [property]: iso(fromMs) } },
    );
  }
  return {
    kind: 'roll-back',
    commit: {
      requirements: [
        { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
        { type: 'assert-ref-snapshot-id', ref: MAIN_BRANCH, 'snapshot-id': headBefore ?? null },
      ],
      updates,
    },
    windows: dropped.map(windowOf).reverse(),
    headBefore,
    headAfter,
  };
}
