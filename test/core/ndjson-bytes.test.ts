// Today's NDJSON bytes, pinned: the default line of tricky records must never change, whatever the hot
// path becomes (a batch landed before a change and one landed after must read the same).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultNdjsonLine, toNdjsonLine, toOutputRow } from '../../src/core/record-format.js';
import type { SourceRecord } from '../../src/ports.js';

const TOPIC = 'orders.v1';

const pinned: Array<[string, SourceRecord, string]> = [
  [
    'quotes, backslashes and whitespace escapes',
    {
      partition: 0,
      offset: '0',
      timestampMs: 1764288000000,
      key: Buffer.from([107, 34, 92, 47]),
      value: Buffer.from([
        123, 34, 97, 34, 58, 34, 98, 92, 34, 99, 34, 125, 9, 108, 105, 110, 101, 10, 110, 101, 120, 116, 13,
      ]),
      headers: [],
    },
    '{"topic":"orders.v1","partition":0,"offset":0,"timestamp":1764288000000,"timestampIso":"2025-11-28T00:00:00.000Z","key":"k\\"\\\\/","keyEncoding":"utf8","value":"{\\"a\\":\\"b\\\\\\"c\\"}\\tline\\nnext\\r","valueEncoding":"utf8","headers":[]}\n',
  ],
  [
    'control characters, DEL, line separators and astral characters',
    {
      partition: 1,
      offset: '9007199254740991',
      timestampMs: 1,
      key: Buffer.from([0, 1, 31, 127]),
      value: Buffer.from([226, 128, 168, 226, 128, 169, 32, 240, 159, 152, 128]),
      headers: [['trace', Buffer.from([8, 12])]],
    },
    '{"topic":"orders.v1","partition":1,"offset":9007199254740991,"timestamp":1,"timestampIso":"1970-01-01T00:00:00.001Z","key":"\\u0000\\u0001\\u001f\u007f","keyEncoding":"utf8","value":"\u2028\u2029 \ud83d\ude00","valueEncoding":"utf8","headers":[{"key":"trace","value":"\\b\\f","valueEncoding":"utf8"}]}\n',
  ],
  [
    'invalid UTF-8 (a lone byte, a surrogate) as base64',
    {
      partition: 2,
      offset: '7',
      timestampMs: 1764288000123,
      key: Buffer.from([255, 254]),
      value: Buffer.from([195, 40, 0, 128]),
      headers: [['bin', Buffer.from([237, 160, 128])]],
    },
    '{"topic":"orders.v1","partition":2,"offset":7,"timestamp":1764288000123,"timestampIso":"2025-11-28T00:00:00.123Z","key":"//4=","keyEncoding":"base64","value":"wygAgA==","valueEncoding":"base64","headers":[{"key":"bin","value":"7aCA","valueEncoding":"base64"}]}\n',
  ],
  [
    'null key, value and header, and an empty header value',
    {
      partition: 3,
      offset: '8',
      timestampMs: -1,
      key: null,
      value: null,
      headers: [
        ['empty', null],
        ['zero', Buffer.from([])],
      ],
    },
    '{"topic":"orders.v1","partition":3,"offset":8,"timestamp":-1,"timestampIso":"1969-12-31T23:59:59.999Z","key":null,"keyEncoding":null,"value":null,"valueEncoding":null,"headers":[{"key":"empty","value":null,"valueEncoding":null},{"key":"zero","value":"","valueEncoding":"utf8"}]}\n',
  ],
  [
    'repeated header keys in record order',
    {
      partition: 4,
      offset: '10',
      timestampMs: 1764288059999,
      key: Buffer.from([]),
      value: Buffer.from([118]),
      headers: [
        ['h', Buffer.from([49])],
        ['h', Buffer.from([50])],
        ['\u00e9 "q"', Buffer.from([51])],
        ['h', null],
      ],
    },
    '{"topic":"orders.v1","partition":4,"offset":10,"timestamp":1764288059999,"timestampIso":"2025-11-28T00:00:59.999Z","key":"","keyEncoding":"utf8","value":"v","valueEncoding":"utf8","headers":[{"key":"h","value":"1","valueEncoding":"utf8"},{"key":"h","value":"2","valueEncoding":"utf8"},{"key":"\u00e9 \\"q\\"","value":"3","valueEncoding":"utf8"},{"key":"h","value":null,"valueEncoding":null}]}\n',
  ],
];

/** About 300 KB of every printable ASCII character, with a UTF-8 letter, a newline, a quote and a backslash every 1,000. */
function largeValue(): Buffer {
  return Buffer.from(
    Array.from(
      { length: 300_000 },
      (_, i) => String.fromCharCode(32 + ((i * 7919) % 95)) + (i % 1000 === 0 ? '\u00e9\n"\\' : ''),
    ).join(''),
  );
}

describe('NDJSON bytes', () => {
  it.each(pinned)('%s', (_title, record, line) => {
    expect(defaultNdjsonLine(JSON.stringify(TOPIC), record)).toBe(line);
    expect(toNdjsonLine(toOutputRow(TOPIC, record))).toBe(line);
  });

  it('a large value', () => {
    const record: SourceRecord = {
      partition: 5,
      offset: '11',
      timestampMs: 1764288000000,
      key: Buffer.from('big'),
      value: largeValue(),
      headers: [],
    };
    const line = Buffer.from(defaultNdjsonLine(JSON.stringify(TOPIC), record));
    expect(line.length).toBe(308912);
    expect(createHash('sha256').update(line).digest('hex')).toBe(
      'afdc0016c69a15d60f7a9c36cbda8eb2302cbdb41c0d32036bc036026464d34a',
    );
  });
});
