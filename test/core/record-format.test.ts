// How a record becomes a row.
import { describe, expect, it } from 'vitest';
import { toNdjsonLine, toOutputRow } from '../../lambda/core/record-format.js';

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
