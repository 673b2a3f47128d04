// Writes NDJSON lines as UTF-8 bytes straight into one growing buffer: the default line of a record is
// escaped from the record's own bytes, with no intermediate strings. Pure: no I/O. Every byte equals
// `defaultNdjsonLine` (test/core/ndjson-bytes.test.ts holds both to the same pinned lines).
import { isUtf8 } from 'node:buffer';
import type { SourceRecord } from '../ports.js';
import { isoOf } from './record-format.js';

const MS_PER_DAY = 86_400_000;
/** The widest instant a Date holds, ms either side of 1970 (ECMAScript's time value range). */
const MAX_DATE_MS = 8.64e15;
const INITIAL_CAPACITY = 64 * 1024;
/** A buffer grown past this (by a huge record) is let go after its batch. */
const MAX_KEPT_CAPACITY = 8 * 1024 * 1024;
/** Header keys whose JSON bytes are kept: keys repeat from record to record. */
const HEADER_KEY_CACHE_SIZE = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * How JSON.stringify escapes each byte of UTF-8 text: 0 copies it, otherwise the letter after the
 * backslash (`u` for `\u00XX`). Bytes from 0x80 up are parts of valid multi-byte characters (the text
 * passed isUtf8), which JSON.stringify leaves as they are, U+2028 and U+2029 included.
 */
const ESCAPE = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 0x20; b += 1) table[b] = 0x75; // u
  table[0x08] = 0x62; // b
  table[0x09] = 0x74; // t
  table[0x0a] = 0x6e; // n
  table[0x0c] = 0x66; // f
  table[0x0d] = 0x72; // r
  table[QUOTE] = QUOTE;
  table[BACKSLASH] = BACKSLASH;
  return table;
})();

/** Runs of plain bytes at least this long are copied natively rather than byte by byte. */
const NATIVE_COPY_MIN = 48;

const ascii = (text: string) => Buffer.from(text, 'latin1');
const NULL_FIELD = ascii('null,');
const UTF8_ENCODING = ascii('"utf8"');
const BASE64_ENCODING = ascii('"base64"');
const NULL = ascii('null');
const OFFSET_FIELD = ascii(',"offset":');
const TIMESTAMP_FIELD = ascii(',"timestamp":');
const ISO_FIELD = ascii(',"timestampIso":"');
const KEY_FIELD = ascii('","key":');
const KEY_ENCODING_FIELD = ascii('"keyEncoding":');
const VALUE_FIELD = ascii(',"value":');
const VALUE_ENCODING_FIELD = ascii('"valueEncoding":');
const HEADERS_FIELD = ascii(',"headers":[');
const HEADER_KEY_FIELD = ascii('{"key":');
const END = ascii(']}\n');

/**
 * A growing buffer of whole NDJSON lines, reused batch after batch. `take()` copies the bytes written
 * so far out, exactly sized (a compressor may hold them a while, and a view would pin the whole buffer).
 */
export class NdjsonBuffer {
  private buffer = Buffer.allocUnsafeSlow(INITIAL_CAPACITY);
  /** Bytes written since the last `take()`. */
  length = 0;
  private readonly headerKeys = new Map<string, Buffer>();
  private prefixPartition = -1;
  private prefix: Buffer = Buffer.alloc(0);
  private isoDay = Number.NaN;
  private isoDayPrefix: Buffer = Buffer.alloc(0);

  /** `topicJson` is the topic as JSON (`JSON.stringify(topic)`), written at the start of each default line. */
  constructor(private readonly topicJson: string) {}

  /** A copy of the bytes written since the last call; the buffer then starts afresh. */
  take(): Buffer {
    const taken = Buffer.allocUnsafeSlow(this.length);
    this.buffer.copy(taken, 0, 0, this.length);
    this.length = 0;
    // A batch with a huge record does not keep its buffer for the rest of the part.
    if (this.buffer.length > MAX_KEPT_CAPACITY) this.buffer = Buffer.allocUnsafeSlow(INITIAL_CAPACITY);
    return taken;
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private put(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Appends text (whole lines) as UTF-8, exactly as `Buffer.from(text)` would encode it. */
  appendText(text: string): number {
    // Each UTF-16 unit takes at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units).
    this.reserve(text.length * 3);
    const written = this.buffer.write(text, this.length, 'utf8');
    this.length += written;
    return written;
  }

  private putAscii(text: string): void {
    this.reserve(text.length);
    this.length += this.buffer.write(text, this.length, 'latin1');
  }

  /** A number as `${n}` writes it; integers without a string in between. */
  private putNumber(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.putAscii(String(n));
      return;
    }
    this.reserve(17);
    const out = this.buffer;
    let value = n;
    if (value < 0) {
      out[this.length++] = 0x2d; // -
      value = -value;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    let at = this.length + digits;
    this.length = at;
    do {
      at -= 1;
      out[at] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    } while (value > 0);
  }

  private putTwoDigits(n: number): void {
    this.buffer[this.length++] = 0x30 + Math.floor(n / 10);
    this.buffer[this.length++] = 0x30 + (n % 10);
  }

  /** `isoOf(timestampMs)`: the date part from Date once a day, the time of day from arithmetic. */
  private putIso(timestampMs: number): void {
    if (!Number.isSafeInteger(timestampMs) || Math.abs(timestampMs) > MAX_DATE_MS) {
      this.putAscii(isoOf(timestampMs));
      return;
    }
    const day = Math.floor(timestampMs / MS_PER_DAY);
    if (day !== this.isoDay) {
      const iso = new Date(day * MS_PER_DAY).toISOString();
      this.isoDayPrefix = ascii(iso.slice(0, iso.indexOf('T') + 1));
      this.isoDay = day;
    }
    this.put(this.isoDayPrefix);
    let ms = timestampMs - day * MS_PER_DAY;
    this.reserve(13);
    this.putTwoDigits(Math.floor(ms / 3_600_000));
    ms %= 3_600_000;
    this.buffer[this.length++] = 0x3a; // :
    this.putTwoDigits(Math.floor(ms / 60_000));
    ms %= 60_000;
    this.buffer[this.length++] = 0x3a;
    this.putTwoDigits(Math.floor(ms / 1000));
    ms %= 1000;
    this.buffer[this.length++] = 0x2e; // .
    this.buffer[this.length++] = 0x30 + Math.floor(ms / 100);
    this.putTwoDigits(ms % 100);
    this.buffer[this.length++] = 0x5a; // Z
  }

  /** UTF-8 text as a JSON string, quotes included, escaped as JSON.stringify escapes it. */
  private putJsonText(bytes: Uint8Array): void {
    const n = bytes.length;
    // Room for the text as it is; escapes reserve their own, so a huge value never reserves 6× its size.
    this.reserve(n + 2);
    this.buffer[this.length++] = QUOTE;
    let i = 0;
    while (i < n) {
      const start = i;
      // Four bytes a step while none needs escaping: about a third faster than one at a time.
      while (
        i < n - 3 &&
        ((ESCAPE[bytes[i] as number] as number) |
          (ESCAPE[bytes[i + 1] as number] as number) |
          (ESCAPE[bytes[i + 2] as number] as number) |
          (ESCAPE[bytes[i + 3] as number] as number)) ===
          0
      )
        i += 4;
      while (i < n && ESCAPE[bytes[i] as number] === 0) i += 1;
      const run = i - start;
      // The run, the escape after it (at most 6 bytes), and the closing quote.
      this.reserve(run + 7);
      const out = this.buffer;
      let at = this.length;
      if (run >= NATIVE_COPY_MIN) {
        out.set(bytes.subarray(start, i), at);
        at += run;
      } else {
        for (let j = start; j < i; j += 1) out[at++] = bytes[j] as number;
      }
      if (i < n) {
        const b = bytes[i] as number;
        const letter = ESCAPE[b] as number;
        out[at++] = BACKSLASH;
        out[at++] = letter;
        if (letter === 0x75) {
          out[at++] = 0x30;
          out[at++] = 0x30;
          out[at++] = HEX[b >> 4] as number;
          out[at++] = HEX[b & 15] as number;
        }
        i += 1;
      }
      this.length = at;
    }
    this.reserve(1);
    this.buffer[this.length++] = QUOTE;
  }

  /** A key or value field and its encoding field: text as a JSON string, anything else as base64. */
  private putBytesField(bytes: Buffer | null, encodingField: Buffer): void {
    if (bytes === null) {
      this.put(NULL_FIELD);
      this.put(encodingField);
      this.put(NULL);
      return;
    }
    const text = isUtf8(bytes);
    if (text) {
      this.putJsonText(bytes);
    } else {
      this.reserve(Math.ceil(bytes.length / 3) * 4 + 2);
      this.buffer[this.length++] = QUOTE;
      this.length += this.buffer.write(bytes.toString('base64'), this.length, 'latin1');
      this.buffer[this.length++] = QUOTE;
    }
    this.reserve(1);
    this.buffer[this.length++] = 0x2c; // ,
    this.put(encodingField);
    this.put(text ? UTF8_ENCODING : BASE64_ENCODING);
  }

  private headerKey(key: string): Buffer {
    let json = this.headerKeys.get(key);
    if (json === undefined) {
      if (this.headerKeys.size >= HEADER_KEY_CACHE_SIZE) this.headerKeys.clear();
      json = Buffer.from(JSON.stringify(key), 'utf8');
      this.headerKeys.set(key, json);
    }
    return json;
  }

  /** `{"topic":...,"partition":N`, kept for the partition last written. */
  private linePrefix(partition: number): Buffer {
    if (partition !== this.prefixPartition) {
      this.prefix = Buffer.from(`{"topic":${this.topicJson},"partition":${partition}`, 'utf8');
      this.prefixPartition = partition;
    }
    return this.prefix;
  }

  /** Appends `defaultNdjsonLine(topicJson, record)`, byte for byte; returns its length in bytes. */
  appendDefaultLine(record: SourceRecord): number {
    const begin = this.length;
    this.put(this.linePrefix(record.partition));
    this.put(OFFSET_FIELD);
    this.putNumber(Number(record.offset));
    this.put(TIMESTAMP_FIELD);
    // JSON.stringify of a number: `${n}` for finite numbers, null otherwise.
    if (Number.isFinite(record.timestampMs)) this.putNumber(record.timestampMs);
    else this.put(NULL);
    this.put(ISO_FIELD);
    this.putIso(record.timestampMs);
    this.put(KEY_FIELD);
    this.putBytesField(record.key, KEY_ENCODING_FIELD);
    this.put(VALUE_FIELD);
    this.putBytesField(record.value, VALUE_ENCODING_FIELD);
    this.put(HEADERS_FIELD);
    let first = true;
    for (const [key, value] of record.headers) {
      if (!first) this.put(COMMA);
      first = false;
      this.put(HEADER_KEY_FIELD);
      this.put(this.headerKey(key));
      this.put(VALUE_FIELD);
      this.putBytesField(value, VALUE_ENCODING_FIELD);
      this.put(CLOSE_BRACE);
    }
    this.put(END);
    return this.length - begin;
  }
}

const COMMA = ascii(',');
const CLOSE_BRACE = ascii('}');
