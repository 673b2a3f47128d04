import { describe, expect, it } from 'vitest';
import type { ParquetLayout } from '../../src/core/parquet-schema.js';
import { ValueFormat } from '../../src/core/value-format.js';
import { parseCatalogJson, stringifyCatalogJson } from '../../src/iceberg/catalog-json.js';
import type { TableMetadata } from '../../src/iceberg/ports.js';
import { nameMappingOf, planTableSchema, type SchemaPlan } from '../../src/iceberg/table-schema.js';
import { findCommittedWindow, lastWindowEndProperty, SummaryKey } from '../../src/iceberg/window-snapshot.js';

const LAYOUT: ParquetLayout = {
  keyFormat: ValueFormat.STRING,
  valueFormat: ValueFormat.JSON,
  columns: [{ name: 'amount', type: 'bigint', path: 'amount' }],
};

describe('catalog JSON', () => {
  it('keeps 63-bit snapshot ids exact both ways', () => {
    const text =
      '{"current-snapshot-id":9007199254740993,"refs":{"main":{"snapshot-id":9223372036854775807}}}';
    const parsed = parseCatalogJson(text) as {
      'current-snapshot-id': string;
      refs: { main: { 'snapshot-id': string } };
    };
    expect(parsed['current-snapshot-id']).toBe('9007199254740993');
    expect(parsed.refs.main['snapshot-id']).toBe('9223372036854775807');
    expect(stringifyCatalogJson(parsed)).toBe(text);
  });
});

describe('planTableSchema', () => {
  it('gives registry-decoded values the JSON text column json values have', () => {
    const plan = planTableSchema({ ...LAYOUT, valueFormat: ValueFormat.CONFLUENT }) as SchemaPlan;
    const json = planTableSchema(LAYOUT) as SchemaPlan;
    expect(plan.schema.fields).toEqual(json.schema.fields);
    expect(plan.schema.fields.find((f) => f.name === 'value')?.type).toBe('string');
  });

  it('gives a new table ids as Iceberg does: top-level fields first, then nested ones', () => {
    const plan = planTableSchema(LAYOUT) as SchemaPlan;
    expect(plan.schema.fields.map((f) => `${f.id}:${f.name}`)).toEqual([
      '1:topic',
      '2:partition',
      '3:offset',
      '4:timestamp',
      '5:key',
      '6:key_encoding',
      '7:value',
      '8:headers',
      '9:amount',
    ]);
    expect(plan.lastColumnId).toBe(13);
    expect(JSON.parse(nameMappingOf(plan.schema))[7]).toEqual({
      'field-id': 8,
      names: ['headers'],
      fields: [
        {
          'field-id': 10,
          names: ['element'],
          fields: [
            { 'field-id': 11, names: ['key'] },
            { 'field-id': 12, names: ['value'] },
            { 'field-id': 13, names: ['value_encoding'] },
          ],
        },
      ],
    });
  });

  it('adds a declared column as a new schema with the next id, keeping every other id', () => {
    const first = planTableSchema(LAYOUT) as SchemaPlan;
    const wider = {
      ...LAYOUT,
      columns: [...LAYOUT.columns, { name: 'city', type: 'string', path: 'c' } as const],
    };
    const plan = planTableSchema(wider, { schema: first.schema, lastColumnId: 13 }) as SchemaPlan;
    expect(plan.evolved).toBe(true);
    expect(plan.schema['schema-id']).toBe(1);
    expect(plan.schema.fields.slice(0, 9)).toEqual(first.schema.fields);
    expect(plan.schema.fields[9]).toEqual({ id: 14, name: 'city', required: false, type: 'string' });
  });

  it('refuses a column whose type changed', () => {
    const first = planTableSchema(LAYOUT) as SchemaPlan;
    const changed = { ...LAYOUT, columns: [{ name: 'amount', type: 'double', path: 'amount' } as const] };
    expect(planTableSchema(changed, { schema: first.schema, lastColumnId: 13 })).toEqual([
      "column 'amount' is long in the table, but double is written",
    ]);
  });
});

describe('findCommittedWindow', () => {
  const window = { pipelineId: 'g|t', startMs: 0, endMs: 60_000, endOffsets: {} };
  const snapshot = (id: string, parent: string | undefined, start: string) => ({
    'snapshot-id': id,
    ...(parent ? { 'parent-snapshot-id': parent } : {}),
    'sequence-number': 1,
    'timestamp-ms': 0,
    'manifest-list': '',
    summary: {
      operation: 'append',
      [SummaryKey.PIPELINE_ID]: 'g|t',
      [SummaryKey.WINDOW_START]: start,
      [SummaryKey.WINDOW_END]: new Date(Date.parse(start) + 60_000).toISOString(),
    },
  });
  const metadata = (overrides: Partial<TableMetadata>) =>
    ({ 'current-snapshot-id': '-1', snapshots: [], ...overrides }) as unknown as TableMetadata;

  it("finds the window in main's history, not in a snapshot main does not reach", () => {
    const mine = snapshot('11', undefined, '1970-01-01T00:00:00.000Z');
    const next = snapshot('12', '11', '1970-01-01T00:01:00.000Z');
    expect(
      findCommittedWindow(metadata({ snapshots: [mine, next], 'current-snapshot-id': '12' }), window),
    ).toEqual({
      snapshot: mine,
    });
    expect(
      findCommittedWindow(metadata({ snapshots: [mine, next], 'current-snapshot-id': '-1' }), window),
    ).toBe(undefined);
  });

  it("takes a window at or before the pipeline's watermark as committed when its snapshot expired", () => {
    const properties = { [lastWindowEndProperty('g|t')]: '1970-01-01T00:05:00.000Z' };
    expect(findCommittedWindow(metadata({ properties }), window)).toEqual({
      byWatermark: '1970-01-01T00:05:00.000Z',
    });
  });
});
