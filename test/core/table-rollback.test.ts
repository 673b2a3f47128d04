// What a reset does to a pipeline's Iceberg table, planned from the table's metadata alone: which of the
// pipeline's windows come off main, where main goes, what the pipeline's last-window-end property
// becomes, and when another writer's commit makes it refuse.
import { describe, expect, it } from 'vitest';
import type { Snapshot, TableMetadata } from '../../src/iceberg/ports.js';
import { planRollback } from '../../src/iceberg/table-rollback.js';
import { lastWindowEndProperty, SummaryKey } from '../../src/iceberg/window-snapshot.js';

const PIPELINE = 'g|orders';
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Snapshot `id` on top of `parent`: a window of `pipeline` from minute `minute`, or another writer's. */
function snapshot(id: string, parent: string | undefined, pipeline: string | null, minute = 0): Snapshot {
  const summary: Record<string, string> =
    pipeline === null
      ? { operation: 'append' }
      : {
          operation: 'append',
          [SummaryKey.PIPELINE_ID]: pipeline,
          [SummaryKey.WINDOW_START]: iso(T0 + minute * MINUTE),
          [SummaryKey.WINDOW_END]: iso(T0 + (minute + 1) * MINUTE),
        };
  return {
    'snapshot-id': id,
    ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
    'sequence-number': Number(id),
    'timestamp-ms': T0,
    'manifest-list': `s3://b/m/${id}.avro`,
    summary,
    'schema-id': 0,
  };
}

/** A table whose main is the chain `snapshots` (oldest first), with the pipeline's watermark. */
function table(snapshots: Snapshot[], watermark?: number): TableMetadata {
  const head = snapshots.at(-1)?.['snapshot-id'];
  return {
    'format-version': 2,
    'table-uuid': 'u-1',
    location: 's3://b/t',
    'last-sequence-number': snapshots.length,
    'last-column-id': 1,
    'current-schema-id': 0,
    schemas: [],
    ...(head ? { 'current-snapshot-id': head, refs: { main: { 'snapshot-id': head, type: 'branch' } } } : {}),
    snapshots,
    properties: watermark === undefined ? {} : { [lastWindowEndProperty(PIPELINE)]: iso(watermark) },
  } as unknown as TableMetadata;
}

/** Four windows of the pipeline, minutes 0 to 3, watermark at the end of minute 3. */
const fourWindows = () =>
  table(
    [
      snapshot('1', undefined, PIPELINE, 0),
      snapshot('2', '1', PIPELINE, 1),
      snapshot('3', '2', PIPELINE, 2),
      snapshot('4', '3', PIPELINE, 3),
    ],
    T0 + 4 * MINUTE,
  );

describe('planRollback', () => {
  it('takes the windows from the reset point on off main, on condition that main has not moved, and lowers the watermark', () => {
    const plan = planRollback(fourWindows(), PIPELINE, T0 + 2 * MINUTE);
    expect(plan).toEqual({
      kind: 'roll-back',
      windows: [
        `${iso(T0 + 2 * MINUTE)}/${iso(T0 + 3 * MINUTE)}`,
        `${iso(T0 + 3 * MINUTE)}/${iso(T0 + 4 * MINUTE)}`,
      ],
      headBefore: '4',
      headAfter: '2',
      commit: {
        requirements: [
          { type: 'assert-table-uuid', uuid: 'u-1' },
          { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': '4' },
        ],
        updates: [
          { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': '2' },
          { action: 'set-properties', updates: { [lastWindowEndProperty(PIPELINE)]: iso(T0 + 2 * MINUTE) } },
        ],
      },
    });
  });

  it('changes nothing when the table holds no window from the reset point on (a reset forward)', () => {
    expect(planRollback(fourWindows(), PIPELINE, T0 + 10 * MINUTE)).toEqual({ kind: 'nothing' });
  });

  it('to the first record read, takes every window of the pipeline off and leaves main without a snapshot', () => {
    const plan = planRollback(fourWindows(), PIPELINE, null);
    if (plan.kind !== 'roll-back') throw new Error(plan.kind);
    expect(plan.windows).toHaveLength(4);
    expect(plan.headAfter).toBeUndefined();
    expect(plan.commit.updates).toEqual([
      { action: 'remove-snapshot-ref', 'ref-name': 'main' },
      { action: 'remove-properties', removals: [lastWindowEndProperty(PIPELINE)] },
    ]);
  });

  it("keeps another writer's commits below the windows it takes off", () => {
    const metadata = table([
      snapshot('1', undefined, PIPELINE, 0),
      snapshot('2', '1', null),
      snapshot('3', '2', 'other|topic', 5),
      snapshot('4', '3', PIPELINE, 1),
      snapshot('5', '4', PIPELINE, 2),
    ]);
    const plan = planRollback(metadata, PIPELINE, T0 + MINUTE);
    if (plan.kind !== 'roll-back') throw new Error(plan.kind);
    expect(plan.headAfter).toBe('3');
    expect(plan.windows).toHaveLength(2);
  });

  it('refuses, naming the snapshot, when another writer committed after a window it would take off', () => {
    const metadata = table([
      snapshot('1', undefined, PIPELINE, 0),
      snapshot('2', '1', PIPELINE, 1),
      snapshot('3', '2', 'other|topic', 1),
    ]);
    expect(planRollback(metadata, PIPELINE, T0 + MINUTE)).toEqual({
      kind: 'refused',
      reason: expect.stringMatching(
        /^its Iceberg table has snapshot 3, committed by another writer after a window/,
      ),
    });
  });

  it('lowers only the watermark when the snapshots of those windows were expired', () => {
    const metadata = table([snapshot('1', undefined, PIPELINE, 0)], T0 + 4 * MINUTE);
    const plan = planRollback(metadata, PIPELINE, T0 + 2 * MINUTE);
    if (plan.kind !== 'roll-back') throw new Error(plan.kind);
    expect(plan.windows).toEqual([]);
    expect(plan.commit.updates).toEqual([
      { action: 'set-properties', updates: { [lastWindowEndProperty(PIPELINE)]: iso(T0 + 2 * MINUTE) } },
    ]);
  });
});
