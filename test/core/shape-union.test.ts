import { describe, expect, it } from 'vitest';
import { unionOfShapes } from '../../src/core/shape-union.js';
import { shapeText, type ValueShape } from '../../src/core/value-shape.js';

const INT: ValueShape = { kind: 'int' };
const LONG: ValueShape = { kind: 'long' };
const STRING: ValueShape = { kind: 'string' };
const JSON_TEXT: ValueShape = { kind: 'json' };

const struct = (fields: Record<string, ValueShape>): ValueShape => ({
  kind: 'struct',
  fields: Object.entries(fields).map(([name, shape]) => ({ name, shape })),
});

/** The union as text, or its problems. */
const union = (...shapes: ValueShape[]) => {
  const result = unionOfShapes(shapes);
  return Array.isArray(result) ? result : shapeText(result);
};

describe('unionOfShapes', () => {
  it('gives one shape back as it is, and equal shapes as one', () => {
    const order = struct({ id: LONG, tags: { kind: 'list', element: STRING } });
    expect(unionOfShapes([order])).toBe(order);
    expect(unionOfShapes([order, struct({ id: LONG, tags: { kind: 'list', element: STRING } })])).toBe(order);
  });

  it('keeps every field any version has, in the order first seen', () => {
    expect(
      union(
        struct({ id: LONG, name: STRING }),
        struct({ id: LONG, email: STRING }),
        struct({ zip: STRING, id: LONG }),
      ),
    ).toBe('struct<id:long,name:string,email:string,zip:string>');
  });

  it('merges fields at any depth: in structs, list elements and map values', () => {
    const v1 = struct({
      customer: struct({ id: INT }),
      items: { kind: 'list', element: struct({ sku: STRING }) },
      attrs: { kind: 'map', value: struct({ n: INT }) },
    });
    const v2 = struct({
      customer: struct({ id: INT, email: STRING }),
      items: { kind: 'list', element: struct({ qty: INT }) },
      attrs: { kind: 'map', value: struct({ n: LONG }) },
    });
    expect(union(v1, v2)).toBe(
      'struct<customer:struct<id:int,email:string>,items:list<struct<sku:string,qty:int>>,attrs:map<string,struct<n:long>>>',
    );
  });

  it.each([
    [INT, LONG, 'long'],
    [LONG, INT, 'long'],
    [{ kind: 'float' }, { kind: 'double' }, 'double'],
    [
      { kind: 'decimal', precision: 10, scale: 2 },
      { kind: 'decimal', precision: 18, scale: 2 },
      'decimal(18,2)',
    ],
    [{ kind: 'timestamp', unit: 'millis' }, { kind: 'timestamp', unit: 'micros' }, 'timestamp(micros)'],
    [JSON_TEXT, STRING, 'string'],
  ] as [ValueShape, ValueShape, string][])('widens %j and %j to %s', (a, b, wider) => {
    expect(union(a, b)).toBe(wider);
  });

  it("keeps a field's documentation from the first version that has one", () => {
    const documented: ValueShape = { kind: 'struct', fields: [{ name: 'id', shape: INT }] };
    const later: ValueShape = { kind: 'struct', fields: [{ name: 'id', shape: LONG, doc: 'The id.' }] };
    expect(unionOfShapes([documented, later])).toEqual({
      kind: 'struct',
      fields: [{ name: 'id', shape: LONG, doc: 'The id.' }],
    });
  });

  it('names each conflict by its path and both shapes', () => {
    const v1 = struct({
      customer: struct({ id: INT }),
      amount: { kind: 'decimal', precision: 10, scale: 2 },
      tags: { kind: 'list', element: STRING },
      attrs: { kind: 'map', value: JSON_TEXT },
    });
    const v2 = struct({
      customer: struct({ id: STRING }),
      amount: { kind: 'decimal', precision: 10, scale: 4 },
      tags: STRING,
      attrs: { kind: 'map', value: struct({ n: INT }) },
    });
    expect(union(v1, v2)).toEqual([
      'value.customer.id is int in one schema version and string in another',
      'value.amount is decimal(10,2) in one schema version and decimal(10,4) in another',
      'value.tags is list<string> in one schema version and string in another',
      'value.attrs.value is json in one schema version and struct<n:int> in another',
    ]);
  });

  it.each([
    [INT, { kind: 'double' }],
    [LONG, STRING],
    [JSON_TEXT, LONG],
    [{ kind: 'date' }, { kind: 'timestamp', unit: 'millis' }],
    [{ kind: 'binary' }, STRING],
  ] as [ValueShape, ValueShape][])('refuses %j with %j, which no column holds both of', (a, b) => {
    expect(union(a, b)).toEqual([
      `value is ${shapeText(a)} in one schema version and ${shapeText(b)} in another`,
    ]);
  });

  it('names paths from the given root, and reports a conflict once', () => {
    expect(
      unionOfShapes([struct({ id: INT }), struct({ id: STRING }), struct({ id: STRING })], 'key'),
    ).toEqual(['key.id is int in one schema version and string in another']);
  });

  it('refuses no shapes at all', () => {
    expect(unionOfShapes([])).toEqual(['value has no shape to unite']);
  });
});
