// How a record becomes a row.
import { describe, expect, it } from 'vitest';
import { defaultNdjsonLine, toNdjsonLine, toOutputRow } from '../../src/core/record-format.js';

describe('record format', () => {
  it('keeps UTF-8 as text and anything else as base64, naming the encoding', () => {
    const row = toOutputRow('t', {
      partition: 1,
      offset: '42',
      timestampMs: 0,
      key: Buffer.from('clé'),
      value: Buffer.from([0xc3, 0x28]),
      headers: [
        ['h', Buffer.from('x')],
        ['h', null],
      ],
    });
    expect(row).toEqual({
      topic: 't',
      partition: 1,
      offset: 42,
      timestamp: 0,
      timestampIso: '1970-01-01T00:00:00.000Z',
      key: 'clé',
      keyEncoding: 'utf8',
      value: 'wyg=',
      valueEncoding: 'base64',
      headers: [
        { key: 'h', value: 'x', valueEncoding: 'utf8' },
        { key: 'h', value: null, valueEncoding: null },
      ],
    });
  });

  it('writes one line per row and refuses a row JSON cannot hold', () => {
    expect(toNdjsonLine({ a: 1 })).toBe('{"a":1}\n');
    expect(() => toNdjsonLine(undefined)).toThrow(/not JSON-serializable/);
  });
});

describe('default line fast path', () => {
  const buffers = [
    null,
    Buffer.from(''),
    Buffer.from('plain'),
    Buffer.from('quote " \\ \n\t é 😀'),
    Buffer.from([0xff, 0x00, 0x80]),
  ];
  const cases = buffers.flatMap((key) =>
    buffers.map((value, i) => ({
      partition: i,
      offset: String(2 ** 40 + i),
      timestampMs: [0, 1_795_773_841_200, -1, Number.NaN, 8.64e15 + 1][i] ?? 0,
      key,
      value,
      headers:
        i % 2
          ? []
          : ([
              ['a', value],
              ['a', key],
              ['"odd" key', Buffer.from('x')],
            ] as Array<readonly [string, Buffer | null]>),
    })),
  );

  it.each(cases.map((record, i) => [i, record] as const))(
    'writes case %i exactly as JSON.stringify of the row',
    (_, record) => {
      expect(defaultNdjsonLine(JSON.stringify('my "topic"'), record)).toBe(
        toNdjsonLine(toOutputRow('my "topic"', record)),
      );
    },
  );
});
