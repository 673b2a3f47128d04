// The manifest is a pure function of the pending batch, byte for byte.
import { describe, expect, it } from 'vitest';
import { buildManifest, serializeManifest } from '../../src/core/manifest.js';
import type { FinishedPart, PendingBatch } from '../../src/core/pipeline-state.js';

const part = (partition: number, sequence: number, extra: Partial<FinishedPart> = {}): FinishedPart => ({
  partition,
  sequence,
  key: `k-${partition}-${sequence}`,
  firstOffset: String(sequence * 10),
  nextOffset: String(sequence * 10 + 10),
  records: 10,
  lateRecords: 1,
  errorRecords: 0,
  bytes: 100,
  sha256: `sha-${partition}-${sequence}`,
  minTimestampMs: 1000 + sequence,
  maxTimestampMs: 2000 + sequence,
  errorsKey: null,
  errorsBytes: 0,
  errorsSha256: null,
  ...extra,
});

const pending: PendingBatch = {
  id: 'pending-1',
  windowStartMs: 0,
  windowEndMs: 60_000,
  startOffsets: { '0': '0', '1': '0', '2': '7' },
  endOffsets: { '0': '20', '1': '10', '2': '7' },
  closedAtMs: 61_000,
  parts: [
    part(1, 0, { errorRecords: 2, errorsKey: 'e-1-0', errorsBytes: 30, errorsSha256: 'esha' }),
    part(0, 1),
    part(0, 0),
  ],
};

describe('manifest', () => {
  it('sums per partition and lists every object with its checksum, in partition and sequence order', () => {
    const manifest = buildManifest('orders', 'gzip', pending);
    expect(manifest.totals).toEqual({ records: 30, lateRecords: 3, errorRecords: 2, bytes: 330, objects: 4 });
    expect(manifest.partitions.map((p) => [p.partition, p.startOffset, p.endOffset, p.records])).toEqual([
      [0, '0', '20', 20],
      [1, '0', '10', 10],
      [2, '7', '7', 0],
    ]);
    expect(manifest.partitions[0]).toMatchObject({ minTimestamp: 1000, maxTimestamp: 2001 });
    expect(manifest.partitions[2]).toMatchObject({ minTimestamp: null, maxTimestamp: null });
    expect(manifest.objects.map((o) => `${o.kind}:${o.key}`)).toEqual([
      'data:k-0-0',
      'data:k-0-1',
      'data:k-1-0',
      'errors:e-1-0',
    ]);
    expect(manifest.window).toEqual({
      start: '1970-01-01T00:00:00.000Z',
      end: '1970-01-01T00:01:00.000Z',
      startMs: 0,
      endMs: 60_000,
    });
  });

  it('serializes the same window to the same bytes whatever the order parts were recorded in', () => {
    const reordered = { ...pending, parts: [...pending.parts].reverse() };
    expect(serializeManifest(buildManifest('orders', 'gzip', reordered))).toEqual(
      serializeManifest(buildManifest('orders', 'gzip', pending)),
    );
  });

  it('refuses a window that has not closed', () => {
    expect(() => buildManifest('orders', 'gzip', { ...pending, endOffsets: null })).toThrow(/closed window/);
  });
});
