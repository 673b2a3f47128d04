// Today's NDJSON bytes, pinned: the default line of tricky records must never change, whatever the hot
// path becomes (a batch landed before a change and one landed after must read the same).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NdjsonBuffer } from '../../src/core/ndjson-encoder.js';
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
  [
    'every C0 control character, DEL, and text beside invalid UTF-8 headers',
    {
      partition: 0,
      offset: '12',
      timestampMs: 1764374399999,
      key: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
      value: Buffer.from('a\u007fb\\"\u00ff\u0800\uffff', 'utf8'),
      headers: [
        ['lone', Buffer.from([0xed, 0xbf, 0xbf])],
        ['overlong', Buffer.from([0xc0, 0xaf])],
        ['cut', Buffer.from([0xe2, 0x82])],
      ],
    },
    '{"topic":"orders.v1","partition":0,"offset":12,"timestamp":1764374399999,"timestampIso":"2025-11-28T23:59:59.999Z","key":"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f","keyEncoding":"utf8","value":"a\u007fb\\\\\\"\u00ff\u0800\uffff","valueEncoding":"utf8","headers":[{"key":"lone","value":"7b+/","valueEncoding":"base64"},{"key":"overlong","value":"wK8=","valueEncoding":"base64"},{"key":"cut","value":"4oI=","valueEncoding":"base64"}]}\n',
  ],
  [
    'header keys with lone surrogates and line separators, timestamps at the edges of Date',
    {
      partition: 5,
      offset: '0',
      timestampMs: 8.64e15,
      key: Buffer.from('\u2028', 'utf8'),
      value: Buffer.from([]),
      headers: [
        ['\ud800', Buffer.from('x')],
        ['\u2029\n', Buffer.from('y')],
        ['\ud800', null],
      ],
    },
    '{"topic":"orders.v1","partition":5,"offset":0,"timestamp":8640000000000000,"timestampIso":"+275760-09-13T00:00:00.000Z","key":"\u2028","keyEncoding":"utf8","value":"","valueEncoding":"utf8","headers":[{"key":"\\ud800","value":"x","valueEncoding":"utf8"},{"key":"\u2029\\n","value":"y","valueEncoding":"utf8"},{"key":"\\ud800","value":null,"valueEncoding":null}]}\n',
  ],
  [
    'a timestamp before year 0 and one no Date holds',
    {
      partition: 6,
      offset: '3',
      timestampMs: -62167219200001,
      key: null,
      value: Buffer.from('{}'),
      headers: [],
    },
    '{"topic":"orders.v1","partition":6,"offset":3,"timestamp":-62167219200001,"timestampIso":"-000001-12-31T23:59:59.999Z","key":null,"keyEncoding":null,"value":"{}","valueEncoding":"utf8","headers":[]}\n',
  ],
  [
    'a timestamp no Date holds',
    {
      partition: 6,
      offset: '4',
      timestampMs: 8.64e15 + 1,
      key: null,
      value: Buffer.from('v'),
      headers: [],
    },
    '{"topic":"orders.v1","partition":6,"offset":4,"timestamp":8640000000000001,"timestampIso":"","key":null,"keyEncoding":null,"value":"v","valueEncoding":"utf8","headers":[]}\n',
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
    const encoder = new NdjsonBuffer(JSON.stringify(TOPIC));
    expect(encoder.appendDefaultLine(record)).toBe(Buffer.byteLength(line));
    expect(encoder.take().toString('utf8')).toBe(line);
  });

  it('the encoder writes every pinned line in turn into one buffer, then starts afresh', () => {
    const encoder = new NdjsonBuffer(JSON.stringify(TOPIC));
    for (const [, record] of pinned) encoder.appendDefaultLine(record);
    encoder.appendText('{"custom":"\u00e9\ud800"}\n');
    const expected = Buffer.from(
      `${pinned.map(([, , line]) => line).join('')}{"custom":"\u00e9\ud800"}\n`,
      'utf8',
    );
    expect(encoder.take().equals(expected)).toBe(true);
    expect(encoder.length).toBe(0);
    encoder.appendDefaultLine(pinned[0]?.[1] as SourceRecord);
    expect(encoder.take().toString('utf8')).toBe(pinned[0]?.[2]);
  });

  it('random records: the encoder and the string line agree byte for byte', () => {
    let seed = 42;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    // Bytes drawn mostly from the ones that need care: controls, quote, backslash, UTF-8 lead and continuation bytes.
    const palette = [
      0, 9, 10, 31, 34, 47, 92, 97, 127, 0xc3, 0xa9, 0xe2, 0x80, 0xa8, 0xf0, 0x9f, 0x98, 0x80, 0xff,
    ];
    const bytes = () =>
      Buffer.from(
        Array.from({ length: next(120) }, () => (next(3) === 0 ? 97 : (palette[next(palette.length)] ?? 0))),
      );
    const encoder = new NdjsonBuffer(JSON.stringify(TOPIC));
    let expected = '';
    for (let i = 0; i < 2000; i += 1) {
      const utf8Text = Buffer.from(bytes().toString('utf8'), 'utf8');
      const record: SourceRecord = {
        partition: next(4),
        offset: String(next(1_000_000_000)),
        timestampMs: next(2) === 0 ? 1764288000000 + next(100_000_000) : -next(100_000_000_000),
        key: next(5) === 0 ? null : next(2) === 0 ? utf8Text : bytes(),
        value: next(2) === 0 ? utf8Text : bytes(),
        headers: Array.from({ length: next(3) }, (): [string, Buffer | null] => [
          ['h', 'trace-id', '\u00e9"\\'][next(3)] ?? 'h',
          next(4) === 0 ? null : bytes(),
        ]),
      };
      encoder.appendDefaultLine(record);
      expected += defaultNdjsonLine(JSON.stringify(TOPIC), record);
    }
    expect(encoder.take().equals(Buffer.from(expected, 'utf8'))).toBe(true);
  });

  it('a value of 100,000 control characters: six bytes each, the buffer growing escape by escape', () => {
    const record: SourceRecord = {
      partition: 0,
      offset: '1',
      timestampMs: 0,
      key: null,
      value: Buffer.alloc(100_000, 1),
      headers: [],
    };
    const encoder = new NdjsonBuffer(JSON.stringify(TOPIC));
    encoder.appendDefaultLine(record);
    const line = encoder.take();
    expect(line.equals(Buffer.from(defaultNdjsonLine(JSON.stringify(TOPIC), record)))).toBe(true);
    expect(line.length).toBeGreaterThan(600_000);
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
    const encoder = new NdjsonBuffer(JSON.stringify(TOPIC));
    encoder.appendDefaultLine(record);
    expect(encoder.take().equals(line)).toBe(true);
    expect(line.length).toBe(308912);
    expect(createHash('sha256').update(line).digest('hex')).toBe(
      'afdc0016c69a15d60f7a9c36cbda8eb2302cbdb41c0d32036bc036026464d34a',
    );
  });
});
