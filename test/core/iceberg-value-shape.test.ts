import { describe, expect, it } from 'vitest';
import type { ParquetLayout } from '../../src/core/parquet-schema.js';
import { unionOfShapes } from '../../src/core/shape-union.js';
import { ValueFormat } from '../../src/core/value-format.js';
import type { ShapeField, ValueShape } from '../../src/core/value-shape.js';
import type { IcebergField, IcebergSchema, IcebergStruct } from '../../src/iceberg/ports.js';
import { nameMappingOf, planTableSchema, type SchemaPlan } from '../../src/iceberg/table-schema.js';

const ORDER_FIELDS: readonly ShapeField[] = [
  { name: 'id', shape: { kind: 'long' }, doc: 'The order number.' },
  {
    name: 'customer',
    shape: {
      kind: 'struct',
      fields: [
        { name: 'id', shape: { kind: 'int' } },
        { name: 'name', shape: { kind: 'string' } },
      ],
    },
  },
  { name: 'tags', shape: { kind: 'list', element: { kind: 'string' } } },
  { name: 'amount', shape: { kind: 'decimal', precision: 10, scale: 2 } },
  { name: 'placed', shape: { kind: 'timestamp', unit: 'millis' } },
];
const ORDER: ValueShape = { kind: 'struct', fields: ORDER_FIELDS };

const layout = (valueShape: ValueShape, valueFormat: ValueFormat = ValueFormat.CONFLUENT): ParquetLayout => ({
  keyFormat: ValueFormat.STRING,
  valueFormat,
  columns: [],
  valueShape,
});

const valueColumn = (schema: IcebergSchema) => schema.fields.find((f) => f.name === 'value') as IcebergField;

/** The fields of a struct-typed value column. */
const valueFields = (schema: IcebergSchema) => (valueColumn(schema).type as IcebergStruct).fields;

/** The table as it stands after `plan`, as planTableSchema takes it. */
const tableOf = (plan: SchemaPlan) => ({ schema: plan.schema, lastColumnId: plan.lastColumnId });

/** ORDER with fields replaced by name, and new ones added after its own. */
function orderWith(...changes: ShapeField[]): ValueShape {
  const own = (name: string) => ORDER_FIELDS.some((f) => f.name === name);
  return {
    kind: 'struct',
    fields: [
      ...ORDER_FIELDS.map((f) => changes.find((c) => c.name === f.name) ?? f),
      ...changes.filter((c) => !own(c.name)),
    ],
  };
}

describe('a shaped value column', () => {
  it('types a new table by the shape, ids given as Iceberg gives them: each struct level, then what it nests', () => {
    const plan = planTableSchema(layout(ORDER)) as SchemaPlan;
    expect(plan.schema.fields.map((f) => `${f.id}:${f.name}`)).toEqual([
      '1:topic',
      '2:partition',
      '3:offset',
      '4:timestamp',
      '5:key',
      '6:key_encoding',
      '7:value',
      '8:headers',
    ]);
    // The value's own fields (9-13), then customer's (14, 15), then tags' element (16); headers' after.
    expect(valueColumn(plan.schema)).toEqual({
      id: 7,
      name: 'value',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 9, name: 'id', required: false, type: 'long', doc: 'The order number.' },
          {
            id: 10,
            name: 'customer',
            required: false,
            type: {
              type: 'struct',
              fields: [
                { id: 14, name: 'id', required: false, type: 'int' },
                { id: 15, name: 'name', required: false, type: 'string' },
              ],
            },
          },
          {
            id: 11,
            name: 'tags',
            required: false,
            type: { type: 'list', 'element-id': 16, element: 'string', 'element-required': false },
          },
          { id: 12, name: 'amount', required: false, type: 'decimal(10, 2)' },
          { id: 13, name: 'placed', required: false, type: 'timestamptz' },
        ],
      },
    });
    expect(plan.schema.fields[7]?.type).toMatchObject({ type: 'list', 'element-id': 17 });
    expect(plan.lastColumnId).toBe(20);
  });

  it('maps every primitive kind to its Iceberg type', () => {
    const kinds: [ValueShape, string][] = [
      [{ kind: 'string' }, 'string'],
      [{ kind: 'json' }, 'string'],
      [{ kind: 'boolean' }, 'boolean'],
      [{ kind: 'int' }, 'int'],
      [{ kind: 'long' }, 'long'],
      [{ kind: 'float' }, 'float'],
      [{ kind: 'double' }, 'double'],
      [{ kind: 'binary' }, 'binary'],
      [{ kind: 'date' }, 'date'],
      [{ kind: 'timestamp', unit: 'micros' }, 'timestamptz'],
      [{ kind: 'decimal', precision: 38, scale: 0 }, 'decimal(38, 0)'],
    ];
    for (const [shape, type] of kinds) {
      expect(valueColumn((planTableSchema(layout(shape)) as SchemaPlan).schema).type).toBe(type);
    }
  });

  it('types maps with a string key and an optional value, key id before value id', () => {
    const shape: ValueShape = {
      kind: 'map',
      value: { kind: 'struct', fields: [{ name: 'n', shape: { kind: 'int' } }] },
    };
    const plan = planTableSchema(layout(shape)) as SchemaPlan;
    expect(valueColumn(plan.schema).type).toEqual({
      type: 'map',
      'key-id': 9,
      key: 'string',
      'value-id': 10,
      value: { type: 'struct', fields: [{ id: 11, name: 'n', required: false, type: 'int' }] },
      'value-required': false,
    });
  });

  it('names a map key and value as Parquet does, so files without field ids map to them', () => {
    const shape: ValueShape = {
      kind: 'struct',
      fields: [{ name: 'attrs', shape: { kind: 'map', value: { kind: 'list', element: { kind: 'long' } } } }],
    };
    const plan = planTableSchema(layout(shape)) as SchemaPlan;
    expect(JSON.parse(nameMappingOf(plan.schema))[6]).toEqual({
      'field-id': 7,
      names: ['value'],
      fields: [
        {
          'field-id': 9,
          names: ['attrs'],
          fields: [
            { 'field-id': 10, names: ['key'] },
            { 'field-id': 11, names: ['value'], fields: [{ 'field-id': 12, names: ['element'] }] },
          ],
        },
      ],
    });
  });

  it('keeps a value without a shape, or of a format no registry decodes, as JSON text', () => {
    const json = planTableSchema(layout(ORDER, ValueFormat.JSON)) as SchemaPlan;
    expect(valueColumn(json.schema).type).toBe('string');
    const { valueShape: _, ...unshaped } = layout(ORDER);
    expect(valueColumn((planTableSchema(unshaped) as SchemaPlan).schema).type).toBe('string');
    expect(
      valueColumn((planTableSchema(layout(ORDER, ValueFormat.GLUE)) as SchemaPlan).schema).type,
    ).toMatchObject({ type: 'struct' });
  });
});

describe('evolving a shaped value column', () => {
  const first = planTableSchema(layout(ORDER)) as SchemaPlan;

  it('leaves the schema as it is when the shape has not changed', () => {
    const plan = planTableSchema(layout(ORDER), tableOf(first)) as SchemaPlan;
    expect(plan).toEqual({ ...first, evolved: false });
  });

  it('adds a nested struct field and a map with fresh ids, keeping every other id', () => {
    const customer: ValueShape = {
      kind: 'struct',
      fields: [
        { name: 'id', shape: { kind: 'int' } },
        { name: 'name', shape: { kind: 'string' } },
        { name: 'email', shape: { kind: 'string' } },
      ],
    };
    const attrs: ValueShape = { kind: 'map', value: { kind: 'string' } };
    const plan = planTableSchema(
      layout(orderWith({ name: 'customer', shape: customer }, { name: 'attrs', shape: attrs })),
      tableOf(first),
    ) as SchemaPlan;
    expect(plan.evolved).toBe(true);
    expect(plan.schema['schema-id']).toBe(1);
    // attrs is the value's own new field (21), its key and value (22, 23), then customer.email (24).
    expect(plan.lastColumnId).toBe(24);
    const value = valueFields(plan.schema);
    expect(value.map((f) => `${f.id}:${f.name}`)).toEqual([
      '9:id',
      '10:customer',
      '11:tags',
      '12:amount',
      '13:placed',
      '21:attrs',
    ]);
    expect(value[1]?.type).toEqual({
      type: 'struct',
      fields: [
        { id: 14, name: 'id', required: false, type: 'int' },
        { id: 15, name: 'name', required: false, type: 'string' },
        { id: 24, name: 'email', required: false, type: 'string' },
      ],
    });
    expect(value[5]?.type).toEqual({
      type: 'map',
      'key-id': 22,
      key: 'string',
      'value-id': 23,
      value: 'string',
      'value-required': false,
    });
    expect(plan.schema.fields.filter((f) => f.name !== 'value')).toEqual(
      first.schema.fields.filter((f) => f.name !== 'value'),
    );
  });

  it('adds fields inside list elements and map values', () => {
    const withItems = (item: ValueShape) =>
      orderWith({ name: 'items', shape: { kind: 'list', element: item } });
    const sku: ValueShape = { kind: 'struct', fields: [{ name: 'sku', shape: { kind: 'string' } }] };
    const skuQty: ValueShape = {
      kind: 'struct',
      fields: [
        { name: 'sku', shape: { kind: 'string' } },
        { name: 'qty', shape: { kind: 'map', value: { kind: 'struct', fields: [] } } },
      ],
    };
    const before = planTableSchema(layout(withItems(sku)), tableOf(first)) as SchemaPlan;
    const after = planTableSchema(layout(withItems(skuQty)), tableOf(before)) as SchemaPlan;
    expect(after.evolved).toBe(true);
    const items = valueFields(after.schema)[5];
    expect(items?.type).toEqual({
      type: 'list',
      'element-id': 22,
      element: {
        type: 'struct',
        fields: [
          { id: 23, name: 'sku', required: false, type: 'string' },
          {
            id: 24,
            name: 'qty',
            required: false,
            type: {
              type: 'map',
              'key-id': 25,
              key: 'string',
              'value-id': 26,
              value: { type: 'struct', fields: [] },
              'value-required': false,
            },
          },
        ],
      },
      'element-required': false,
    });
  });

  it("holds every version of a window's parts once they are united", () => {
    const v2 = orderWith({ name: 'note', shape: { kind: 'string' } }, { name: 'id', shape: { kind: 'int' } });
    const united = unionOfShapes([ORDER, v2]) as ValueShape;
    const plan = planTableSchema(layout(united), tableOf(first)) as SchemaPlan;
    const value = valueFields(plan.schema);
    expect(value.map((f) => `${f.id}:${f.name}`)).toEqual([
      '9:id',
      '10:customer',
      '11:tags',
      '12:amount',
      '13:placed',
      '21:note',
    ]);
    expect(value[0]?.type).toBe('long');
  });

  it('keeps a field the table has and the shape lacks', () => {
    const fewer: ValueShape = { kind: 'struct', fields: [{ name: 'id', shape: { kind: 'long' } }] };
    const plan = planTableSchema(layout(fewer), tableOf(first)) as SchemaPlan;
    expect(plan).toEqual({ ...first, evolved: false });
  });

  it('widens int to long, float to double and a decimal to more digits, as a new schema', () => {
    const widened = orderWith(
      {
        name: 'customer',
        shape: {
          kind: 'struct',
          fields: [
            { name: 'id', shape: { kind: 'long' } },
            { name: 'name', shape: { kind: 'string' } },
          ],
        },
      },
      { name: 'amount', shape: { kind: 'decimal', precision: 18, scale: 2 } },
    );
    const plan = planTableSchema(layout(widened), tableOf(first)) as SchemaPlan;
    expect(plan.evolved).toBe(true);
    expect(plan.lastColumnId).toBe(first.lastColumnId);
    const value = valueFields(plan.schema);
    expect(value[1]?.type).toMatchObject({ fields: [{ id: 14, name: 'id', type: 'long' }, { id: 15 }] });
    expect(value[3]).toMatchObject({ id: 12, type: 'decimal(18, 2)' });

    const floats = planTableSchema(layout({ kind: 'float' })) as SchemaPlan;
    const doubles = planTableSchema(layout({ kind: 'double' }), tableOf(floats)) as SchemaPlan;
    expect(valueColumn(doubles.schema).type).toBe('double');
  });

  it('writes a narrower number into a column already widened, as older files are read', () => {
    const longs = planTableSchema(layout({ kind: 'long' })) as SchemaPlan;
    expect(planTableSchema(layout({ kind: 'int' }), tableOf(longs))).toEqual({ ...longs, evolved: false });
  });

  it('reads a decimal spelled without the space after the comma as the same type', () => {
    const spelled = JSON.parse(JSON.stringify(first.schema).replace('decimal(10, 2)', 'decimal(10,2)'));
    const plan = planTableSchema(layout(ORDER), { schema: spelled, lastColumnId: 20 }) as SchemaPlan;
    expect(plan.evolved).toBe(false);
  });

  it('refuses a value that was JSON text and is now a struct, naming the column and both types', () => {
    const text = planTableSchema({ ...layout(ORDER), valueShape: undefined } as ParquetLayout) as SchemaPlan;
    const shape: ValueShape = { kind: 'struct', fields: [{ name: 'id', shape: { kind: 'long' } }] };
    expect(planTableSchema(layout(shape), tableOf(text))).toEqual([
      "column 'value' is string in the table, but struct<id:long?> is written",
    ]);
  });

  it('refuses a nested field whose type changed in a way Iceberg cannot widen, naming its path', () => {
    const changed = orderWith(
      {
        name: 'customer',
        shape: {
          kind: 'struct',
          fields: [
            { name: 'id', shape: { kind: 'string' } },
            { name: 'name', shape: { kind: 'string' } },
          ],
        },
      },
      { name: 'amount', shape: { kind: 'decimal', precision: 12, scale: 4 } },
      { name: 'tags', shape: { kind: 'list', element: { kind: 'int' } } },
    );
    expect(planTableSchema(layout(changed), tableOf(first))).toEqual([
      "field 'value.customer.id' is int in the table, but string is written",
      "field 'value.tags.element' is string in the table, but int is written",
      "field 'value.amount' is decimal(10, 2) in the table, but decimal(12, 4) is written",
    ]);
  });

  it('refuses long to double, a change Iceberg does not widen', () => {
    const longs = planTableSchema(layout({ kind: 'long' })) as SchemaPlan;
    expect(planTableSchema(layout({ kind: 'double' }), tableOf(longs))).toEqual([
      "column 'value' is long in the table, but double is written",
    ]);
  });

  it('refuses nulls in a nested field the table requires', () => {
    const required = JSON.parse(
      JSON.stringify(first.schema).replace(
        '"id":15,"name":"name","required":false',
        '"id":15,"name":"name","required":true',
      ),
    );
    expect(planTableSchema(layout(ORDER), { schema: required, lastColumnId: 20 })).toEqual([
      "field 'value.customer.name' is required in the table, but may be null as written",
    ]);
  });
});
