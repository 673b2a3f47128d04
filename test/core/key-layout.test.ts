// The S3 key layout: deterministic, sortable, Hive-style.
import { describe, expect, it } from 'vitest';
import { errorsKey, manifestKey, partKey } from '../../src/core/key-layout.js';

const window = { startMs: Date.parse('2026-11-27T09:05:00Z'), endMs: Date.parse('2026-11-27T09:06:00Z') };

describe('key layout', () => {
  it('names parts by topic, date, hour, window, partition and sequence', () => {
    expect(partKey('landing/raw', 'orders', window, 2, 13, 'gzip', 'ndjson')).toBe(
      'landing/raw/topic=orders/date=2026-11-27/hour=09/window=20261127T090500Z_20261127T090600Z/part-0002-00013.ndjson.gz',
    );
    expect(partKey('', 'orders', window, 0, 0, 'none', 'ndjson')).toBe(
      'topic=orders/date=2026-11-27/hour=09/window=20261127T090500Z_20261127T090600Z/part-0000-00000.ndjson',
    );
  });

  it('puts the manifest beside the parts and errors in their own tree', () => {
    expect(manifestKey('p', 'orders', window)).toBe(
      'p/topic=orders/date=2026-11-27/hour=09/window=20261127T090500Z_20261127T090600Z/_manifest.json',
    );
    expect(errorsKey('p', 'orders', window, 1, 0, 'gzip')).toBe(
      'p/errors/topic=orders/date=2026-11-27/hour=09/window=20261127T090500Z_20261127T090600Z/part-0001-00000.ndjson.gz',
    );
  });

  it('names Parquet parts .parquet (the codec is inside the file); their errors objects stay NDJSON', () => {
    expect(partKey('p', 'orders', window, 1, 2, 'snappy', 'parquet')).toBe(
      'p/topic=orders/date=2026-11-27/hour=09/window=20261127T090500Z_20261127T090600Z/part-0001-00002.parquet',
    );
    expect(errorsKey('p', 'orders', window, 1, 2, 'zstd')).toMatch(/\/part-0001-00002\.ndjson\.gz$/);
    expect(partKey('p', 'orders', window, 1, 2, 'zstd', 'ndjson')).toMatch(/\/part-0001-00002\.ndjson\.zst$/);
    expect(errorsKey('p', 'orders', window, 1, 2, 'none')).toMatch(/\/part-0001-00002\.ndjson$/);
  });

  it('keeps manifests and errors out of a table over the topic folder', () => {
    // Athena, Hive and Spark skip objects whose names start with '_' or '.'; errors live outside the folder.
    const table = 'p/topic=orders/';
    const manifest = manifestKey('p', 'orders', window);
    expect(manifest.startsWith(table)).toBe(true);
    expect(manifest.split('/').at(-1)).toMatch(/^_/);
    expect(errorsKey('p', 'orders', window, 0, 0, 'gzip').startsWith(table)).toBe(false);
    expect(partKey('p', 'orders', window, 0, 0, 'gzip', 'ndjson').split('/').at(-1)).not.toMatch(/^[_.]/);
  });

  it('sorts keys in time order', () => {
    const starts = ['2026-11-27T23:59:00Z', '2026-11-28T00:00:00Z', '2026-12-01T10:00:00Z'].map(Date.parse);
    const keys = starts.map((startMs) => manifestKey('p', 't', { startMs, endMs: startMs + 60_000 }));
    expect([...keys].sort()).toEqual(keys);
  });
});
