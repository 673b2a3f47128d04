// The cells of typed value columns: what each shape kind accepts from the decoders' JSON (registry-json.ts),
// the exact value it keeps, and the FormatMismatch (naming the field's path) for what does not fit.
import { describe, expect, it } from 'vitest';
import type { DecodedJson } from '../../src/core/registry-json.js';
import { cellWriter, type TypedCell } from '../../src/core/value-cells.js';
import { FormatMismatch } from '../../src/core/value-format.js';
import type { ValueShape } from '../../src/core/value-shape.js';

/** The cell `shape` gives `value`; fails the test with the reason when the value does not fit. */
function cellOf(shape: ValueShape, value: DecodedJson | undefined): TypedCell {
  const cell = cellWriter(shape)(value);
  if (cell instanceof FormatMismatch) throw new Error(cell.reason);
  return cell;
}

/** The reason `shape` refuses `value`; fails the test when it takes it. */
function misfitOf(shape: ValueShape, value: DecodedJson | undefined): string {
  const cell = cellWriter(shape)(value);
  if (!(cell instanceof FormatMismatch)) throw new Error(`${String(value)} was taken as ${String(cell)}`);
  return cell.reason;
}

const INT: ValueShape = { kind: 'int' };
const LONG: ValueShape = { kind: 'long' };
const MILLIS: ValueShape = { kind: 'timestamp', unit: 'millis' };
const MICROS: ValueShape = { kind: 'timestamp', unit: 'micros' };

describe('primitive cells', () => {
  it.each<[ValueShape, DecodedJson, TypedCell]>([
    [{ kind: 'string' }, 'héllo', 'héllo'],
    [{ kind: 'string' }, '', ''],
    [{ kind: 'boolean' }, true, true],
    [{ kind: 'boolean' }, false, false],
    [INT, 42, 42],
    [INT, -(2 ** 31), -(2 ** 31)],
    [INT, 2 ** 31 - 1, 2 ** 31 - 1],
    [INT, 7n, 7],
    [INT, '-123', -123],
    [LONG, 42, 42n],
    [LONG, Number.MAX_SAFE_INTEGER, 9007199254740991n],
    [LONG, 4611686018427387905n, 4611686018427387905n],
    [LONG, '9223372036854775807', 9223372036854775807n],
    [LONG, '-9223372036854775808', -9223372036854775808n],
    [{ kind: 'float' }, 1.5, 1.5],
    [{ kind: 'double' }, -0.25, -0.25],
    [{ kind: 'double' }, 3, 3],
  ])('%o takes %o as %o', (shape, value, cell) => {
    expect(cellOf(shape, value)).toEqual(cell);
  });

  it.each(['float', 'double'] as const)(
    'a %s takes the strings JSON writes NaN and the infinities as',
    (kind) => {
      const write = cellWriter({ kind });
      expect(write('NaN')).toBeNaN();
      expect(write('Infinity')).toBe(Number.POSITIVE_INFINITY);
      expect(write('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    },
  );

  it('keeps a json value as its JSON text, a long past 2^53 with every digit', () => {
    const json: ValueShape = { kind: 'json' };
    expect(cellOf(json, { a: [1, 'x', null], b: true })).toBe('{"a":[1,"x",null],"b":true}');
    expect(cellOf(json, { n: 2n ** 62n + 1n })).toBe('{"n":4611686018427387905}');
    expect(cellOf(json, 'text')).toBe('"text"');
    expect(cellOf(json, 12)).toBe('12');
  });

  it('decodes base64 into the bytes of a binary cell', () => {
    const binary: ValueShape = { kind: 'binary' };
    expect(cellOf(binary, 'AQL/')).toEqual(Buffer.from([1, 2, 255]));
    expect(cellOf(binary, 'q80=')).toEqual(Buffer.from([0xab, 0xcd]));
    expect(cellOf(binary, '')).toEqual(Buffer.alloc(0));
  });

  it.each<[DecodedJson, string]>([
    [2 ** 31, 'int'],
    [-(2 ** 31) - 1, 'int'],
    ['2147483648', 'int'],
    [2n ** 31n, 'int'],
    [1.5, 'int'],
    ['12a', 'int'],
    [true, 'int'],
  ])('an int refuses %o', (value, type) => {
    expect(misfitOf(INT, value)).toMatch(new RegExp(`\\(${type}\\)$`));
  });

  it.each<DecodedJson>([
    2n ** 63n,
    -(2n ** 63n) - 1n,
    '9223372036854775808',
    '-9223372036854775809',
    // JSON.parse has already rounded it: the decoders give such longs as bigints.
    2 ** 53,
    1.5,
    '1.5',
    '',
    false,
  ])('a long refuses %o', (value) => {
    expect(misfitOf(LONG, value)).toMatch(/\(long\)$/);
  });

  it.each<[ValueShape, DecodedJson]>([
    [{ kind: 'string' }, 12],
    [{ kind: 'string' }, { a: 1 }],
    [{ kind: 'boolean' }, 'true'],
    [{ kind: 'boolean' }, 0],
    [{ kind: 'float' }, '1.5'],
    [{ kind: 'double' }, 'nan'],
    [{ kind: 'double' }, true],
    [{ kind: 'binary' }, 'not base64!'],
    [{ kind: 'binary' }, 12],
  ])('%o refuses %o', (shape, value) => {
    expect(misfitOf(shape, value)).toMatch(/^value field 'value' is .+, which does not fit its column/);
  });
});

describe('date cells', () => {
  const DATE: ValueShape = { kind: 'date' };

  it.each<[string, number]>([
    ['1970-01-01', 0],
    ['1970-01-02', 1],
    ['1969-12-31', -1],
    ['2024-05-06', 19849],
    ['2024-02-29', 19782],
    ['0001-01-01', -719162],
    ['9999-12-31', 2932896],
  ])('takes %s as day %i', (text, days) => {
    expect(cellOf(DATE, text)).toBe(days);
  });

  it('takes a number of days as it is (a date past what a Date holds)', () => {
    expect(cellOf(DATE, 19849)).toBe(19849);
    expect(cellOf(DATE, -200_000_000)).toBe(-200_000_000);
  });

  it.each<DecodedJson>(['2024-5-6', '2024-05-06T00:00:00Z', '2024-13-01', '20240506', 1.5, true])(
    'refuses %o',
    (value) => {
      expect(misfitOf(DATE, value)).toMatch(/\(date\)$/);
    },
  );

  // Date.parse rolls an impossible day over into the next month: taken, the column would hold another
  // date than the value's (a JSON Schema value is not validated against its format).
  it('refuses a day the month does not have', () => {
    expect(misfitOf(DATE, '2026-02-30')).toMatch(/\(date\)$/);
    expect(misfitOf(DATE, '2025-02-29')).toMatch(/\(date\)$/);
    expect(misfitOf(DATE, '2026-04-31')).toMatch(/\(date\)$/);
  });

  // A date column is INT32: taken, such a number (a JSON Schema value's) fails the whole part's row group.
  it('refuses a number of days past a 32-bit integer', () => {
    expect(misfitOf(DATE, 2 ** 31)).toMatch(/\(date\)$/);
    expect(misfitOf(DATE, -(2 ** 31) - 1)).toMatch(/\(date\)$/);
  });
});

describe('timestamp cells', () => {
  const base = Date.UTC(2026, 0, 2, 3, 4, 5);

  it.each<[string, bigint]>([
    ['2026-01-02T03:04:05Z', BigInt(base)],
    ['2026-01-02T03:04:05.6Z', BigInt(base + 600)],
    ['2026-01-02T03:04:05.678Z', BigInt(base + 678)],
    // Finer digits are cut, not rounded.
    ['2026-01-02T03:04:05.678999999Z', BigInt(base + 678)],
    ['2026-01-02T05:04:05.678+02:00', BigInt(base + 678)],
    ['2026-01-01T22:34:05.678-04:30', BigInt(base + 678)],
    ['2026-01-02t03:04:05.678z', BigInt(base + 678)],
    ['1969-12-31T23:59:59.500Z', -500n],
  ])('a millis column takes %s as %i', (text, ms) => {
    expect(cellOf(MILLIS, text)).toBe(ms);
  });

  it.each<[string, bigint]>([
    ['2026-01-02T03:04:05Z', BigInt(base) * 1000n],
    ['2026-01-02T03:04:05.678901Z', BigInt(base) * 1000n + 678901n],
    ['2026-01-02T03:04:05.6789Z', BigInt(base) * 1000n + 678900n],
    ['2026-01-02T03:04:05.678901999Z', BigInt(base) * 1000n + 678901n],
    ['2026-01-02T03:04:05.000001Z', BigInt(base) * 1000n + 1n],
    ['2026-01-02T05:04:05.678901+02:00', BigInt(base) * 1000n + 678901n],
    ['2026-01-02T00:04:05.678901-03:00', BigInt(base) * 1000n + 678901n],
    ['1969-12-31T23:59:59.999999Z', -1n],
  ])('a micros column takes %s as %i', (text, micros) => {
    expect(cellOf(MICROS, text)).toBe(micros);
  });

  it('takes a number or bigint past what a Date holds as already in the column unit (as a decoder writes it)', () => {
    expect(cellOf(MILLIS, 8_640_000_000_000_001)).toBe(8_640_000_000_000_001n);
    expect(cellOf(MICROS, 2n ** 60n)).toBe(2n ** 60n);
  });

  it('refuses a number a Date holds: epoch ms in a date-time field is no RFC 3339 instant', () => {
    expect(cellWriter(MILLIS)(1714979289123)).toBeInstanceOf(FormatMismatch);
    expect(cellWriter(MICROS)(1714979289123456)).toBeInstanceOf(FormatMismatch);
  });

  it.each<DecodedJson>([
    '2026-01-02T03:04:05',
    '2026-01-02 03:04:05Z',
    '2026-01-02T03:04Z',
    '2026-01-02T03:04:05.Z',
    '2026-01-02T03:04:05.1234567890Z',
    '2026-01-02T03:04:05+0200',
    '2026-13-02T03:04:05Z',
    '2026-01-02',
    1.5,
    true,
  ])('refuses %o', (value) => {
    expect(misfitOf(MICROS, value)).toMatch(/\(timestamp\(micros\)\)$/);
    expect(misfitOf(MILLIS, value)).toMatch(/\(timestamp\(millis\)\)$/);
  });

  // Date.parse rolls February 30 over into March 2: taken, the column would hold another instant.
  it('refuses a day the month does not have', () => {
    expect(misfitOf(MICROS, '2026-02-30T00:00:00Z')).toMatch(/\(timestamp\(micros\)\)$/);
  });
});

describe('decimal cells', () => {
  const d = (precision: number, scale: number): ValueShape => ({ kind: 'decimal', precision, scale });

  it.each<[ValueShape, DecodedJson, bigint]>([
    [d(9, 2), '-12.30', -1230n],
    [d(9, 2), '12.3', 1230n],
    [d(9, 2), '12', 1200n],
    [d(9, 2), '0.05', 5n],
    [d(9, 2), '-0.00', 0n],
    [d(9, 2), '0000012.30', 1230n],
    [d(9, 2), 12.5, 1250n],
    [d(9, 0), 7n, 7n],
    [d(10, 2), '99999999.99', 9999999999n],
    [d(30, 4), '-12345678901234567890123456.7891', -123456789012345678901234567891n],
    [d(38, 0), '9'.repeat(38), 10n ** 38n - 1n],
  ])('%o takes %o as unscaled %i', (shape, value, unscaled) => {
    expect(cellOf(shape, value)).toBe(unscaled);
  });

  it.each<[ValueShape, DecodedJson]>([
    // More fraction digits than the scale: a cut would change the value.
    [d(9, 2), '1.234'],
    [d(9, 0), '1.5'],
    // More digits than the precision.
    [d(4, 2), '100.00'],
    [d(10, 2), '100000000.00'],
    [d(38, 0), `1${'0'.repeat(38)}`],
    [d(9, 2), '1e3'],
    [d(9, 2), '.5'],
    [d(9, 2), '5.'],
    [d(9, 2), '+5'],
    [d(9, 2), 0.1 + 0.2],
    [d(9, 2), true],
  ])('%o refuses %o', (shape, value) => {
    const { precision, scale } = shape as { precision: number; scale: number };
    expect(misfitOf(shape, value)).toMatch(new RegExp(`\\(decimal\\(${precision},${scale}\\)\\)$`));
  });
});

describe('nested cells', () => {
  const ORDER: ValueShape = {
    kind: 'struct',
    fields: [
      { name: 'id', shape: LONG },
      {
        name: 'customer',
        shape: {
          kind: 'struct',
          fields: [
            { name: 'id', shape: INT },
            { name: 'name', shape: { kind: 'string' } },
          ],
        },
      },
      { name: 'tags', shape: { kind: 'list', element: { kind: 'string' } } },
      {
        name: 'lines',
        shape: {
          kind: 'list',
          element: {
            kind: 'struct',
            fields: [
              { name: 'sku', shape: { kind: 'string' } },
              { name: 'qty', shape: INT },
            ],
          },
        },
      },
      { name: 'attrs', shape: { kind: 'map', value: { kind: 'double' } } },
    ],
  };

  it('gives a struct as an object, a list as an array and a map as an array of {key, value}', () => {
    const cell = cellOf(ORDER, {
      id: '9007199254740993',
      customer: { id: 7, name: 'Ada' },
      tags: ['a', 'b'],
      lines: [
        { sku: 'x', qty: 2 },
        { sku: 'y', qty: 1 },
      ],
      attrs: { weight: 1.5, ratio: 'NaN' },
    });
    expect(cell).toEqual({
      id: 9007199254740993n,
      customer: { id: 7, name: 'Ada' },
      tags: ['a', 'b'],
      lines: [
        { sku: 'x', qty: 2 },
        { sku: 'y', qty: 1 },
      ],
      attrs: [
        { key: 'weight', value: 1.5 },
        { key: 'ratio', value: Number.NaN },
      ],
    });
  });

  it('keeps the fields in the shape order', () => {
    const cell = cellOf(ORDER, { attrs: {}, id: 1 });
    expect(Object.keys(cell as object)).toEqual(['id', 'customer', 'tags', 'lines', 'attrs']);
    expect(cell).toEqual({ id: 1n, customer: null, tags: null, lines: null, attrs: [] });
  });

  it('refuses a field the shape has no column for, at any depth, rather than lose it', () => {
    expect(cellWriter(ORDER)({ extra: 1, attrs: {}, id: 1 })).toEqual(
      new FormatMismatch(
        "value field 'value' has a field 'extra' that its schema does not declare, so its columns cannot hold it",
      ),
    );
    expect(cellWriter(ORDER)({ customer: { id: 1, nickname: 'x' } })).toMatchObject({
      reason: expect.stringContaining("value field 'value.customer' has a field 'nickname'"),
    });
  });

  it('makes null and missing values null at every level', () => {
    expect(cellOf(ORDER, null)).toBeNull();
    expect(cellOf(ORDER, undefined)).toBeNull();
    expect(cellOf(ORDER, {})).toEqual({ id: null, customer: null, tags: null, lines: null, attrs: null });
    expect(
      cellOf(ORDER, {
        id: null,
        customer: { id: null },
        tags: [null, 'a'],
        lines: [null, { sku: null }],
        attrs: { gone: null },
      }),
    ).toEqual({
      id: null,
      customer: { id: null, name: null },
      tags: [null, 'a'],
      lines: [null, { sku: null, qty: null }],
      attrs: [{ key: 'gone', value: null }],
    });
  });

  it('keeps a field named __proto__ as a field, not the prototype', () => {
    const shape: ValueShape = {
      kind: 'struct',
      fields: [
        { name: '__proto__', shape: { kind: 'string' } },
        { name: 'constructor', shape: INT },
      ],
    };
    const cell = cellOf(shape, JSON.parse('{"__proto__":"p","constructor":3}') as DecodedJson);
    expect(Object.keys(cell as object)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(cell, '__proto__')?.value).toBe('p');
    expect(Object.getPrototypeOf(cell)).toBe(Object.prototype);
    // A value without the field has a null cell for it, not Object.prototype.
    const empty = cellOf(shape, {});
    expect(Object.getOwnPropertyDescriptor(empty, '__proto__')?.value).toBeNull();
    expect(Object.getOwnPropertyDescriptor(empty, 'constructor')?.value).toBeNull();
  });

  it('keeps a map key named __proto__ as an entry', () => {
    const shape: ValueShape = { kind: 'map', value: INT };
    expect(cellOf(shape, JSON.parse('{"__proto__":1,"b":2}') as DecodedJson)).toEqual([
      { key: '__proto__', value: 1 },
      { key: 'b', value: 2 },
    ]);
  });

  it.each<[DecodedJson, string]>([
    [
      { customer: { id: 'x' } },
      'value field \'value.customer.id\' is "x", which does not fit its column (int)',
    ],
    [{ customer: { id: 2 ** 31 } }, "value field 'value.customer.id' is 2147483648"],
    [{ customer: [1] }, "value field 'value.customer' is [1], which does not fit its column (struct)"],
    [{ tags: ['a', 3] }, "value field 'value.tags[]' is 3, which does not fit its column (string)"],
    [{ tags: 'a' }, 'value field \'value.tags\' is "a", which does not fit its column (list)'],
    [{ lines: [{ qty: 'two' }] }, 'value field \'value.lines[].qty\' is "two"'],
    [
      { attrs: { w: 'heavy' } },
      'value field \'value.attrs{}\' is "heavy", which does not fit its column (double)',
    ],
    [{ attrs: [1] }, "value field 'value.attrs' is [1], which does not fit its column (map)"],
    [
      { id: 2n ** 63n },
      "value field 'value.id' is 9223372036854775808, which does not fit its column (long)",
    ],
  ])('refuses %o, naming the path', (value, reason) => {
    expect(misfitOf(ORDER, value)).toContain(reason);
  });

  it('refuses a value that is not an object for a struct', () => {
    expect(misfitOf(ORDER, [1, 2])).toBe(
      "value field 'value' is [1,2], which does not fit its column (struct)",
    );
    expect(misfitOf(ORDER, 'x')).toMatch(/^value field 'value' is "x"/);
  });

  it('shortens a long value in the reason', () => {
    const reason = misfitOf({ kind: 'int' }, 'x'.repeat(100));
    expect(reason).toContain(`"${'x'.repeat(56)}...`);
    expect(reason.length).toBeLessThan(140);
  });

  it('names the path it is given', () => {
    const cell = cellWriter({ kind: 'int' }, 'value.n')('x');
    expect(cell).toBeInstanceOf(FormatMismatch);
    expect((cell as FormatMismatch).reason).toMatch(/^value field 'value\.n'/);
  });
});
