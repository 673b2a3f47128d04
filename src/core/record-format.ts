// How a Kafka record becomes one line of a batch object. Pure: no I/O.
import { isUtf8 } from 'node:buffer';
import type { SourceRecord } from '../ports.js';
import { type DocumentReader, FormatMismatch, readDocument, ValueFormat } from './value-format.js';

/** How a key, value or header value is written: UTF-8 text as is, anything else as base64. */
export type Encoding = 'utf8' | 'base64';

/** A header as written: repeated keys stay as separate entries, in record order. */
export interface OutputHeader {
  readonly key: string;
  readonly value: string | null;
  readonly valueEncoding: Encoding | null;
}

/** The default output row of one record (one NDJSON line). Null stays null. */
export interface OutputRow {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch ms. */
  readonly timestamp: number;
  /** The same instant as ISO-8601, UTC. */
  readonly timestampIso: string;
  readonly key: string | null;
  readonly keyEncoding: Encoding | null;
  readonly value: string | null;
  readonly valueEncoding: Encoding | null;
  readonly headers: readonly OutputHeader[];
}

/** A record that could not be turned into an output row, written to the window's errors object. */
export interface ErrorRow {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly reason: string;
  /** The record itself, so nothing is lost. */
  readonly record: OutputRow;
}

function encode(bytes: Buffer | null): { text: string | null; encoding: Encoding | null } {
  if (bytes === null) return { text: null, encoding: null };
  if (isUtf8(bytes)) return { text: bytes.toString('utf8'), encoding: 'utf8' };
  return { text: bytes.toString('base64'), encoding: 'base64' };
}

/** A record timestamp as ISO-8601 UTC, or '' when no Date holds it. */
export function isoOf(timestampMs: number): string {
  const date = new Date(timestampMs);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** The default row of a record: text kept as text, binary as base64 with its encoding named. */
export function toOutputRow(topic: string, record: SourceRecord): OutputRow {
  const key = encode(record.key);
  const value = encode(record.value);
  return {
    topic,
    partition: record.partition,
    offset: Number(record.offset),
    timestamp: record.timestampMs,
    timestampIso: isoOf(record.timestampMs),
    key: key.text,
    keyEncoding: key.encoding,
    value: value.text,
    valueEncoding: value.encoding,
    headers: record.headers.map(([headerKey, headerValue]) => {
      const encoded = encode(headerValue);
      return { key: headerKey, value: encoded.text, valueEncoding: encoded.encoding };
    }),
  };
}

/** One NDJSON line, newline included. */
export function toNdjsonLine(row: unknown): string {
  const json = JSON.stringify(row);
  if (json === undefined) throw new TypeError('the row is not JSON-serializable (got undefined)');
  return `${json}\n`;
}

function jsonField(bytes: Buffer | null): string {
  if (bytes === null) return 'null,';
  return isUtf8(bytes) ? `${JSON.stringify(bytes.toString('utf8'))},` : `"${bytes.toString('base64')}",`;
}

function encodingField(bytes: Buffer | null): string {
  if (bytes === null) return 'null';
  return isUtf8(bytes) ? '"utf8"' : '"base64"';
}

/**
 * `toNdjsonLine(toOutputRow(topic, record))`, byte for byte, without building the row object: the
 * default output's hot path. `topicJson` is `JSON.stringify(topic)`, computed once.
 */
export function defaultNdjsonLine(topicJson: string, record: SourceRecord): string {
  let headers = '';
  for (const [key, value] of record.headers) {
    headers += `${headers === '' ? '' : ','}{"key":${JSON.stringify(key)},"value":${jsonField(value)}"valueEncoding":${encodingField(value)}}`;
  }
  const iso = isoOf(record.timestampMs);
  return (
    `{"topic":${topicJson},"partition":${record.partition},"offset":${Number(record.offset)},` +
    `"timestamp":${JSON.stringify(record.timestampMs)},"timestampIso":"${iso}",` +
    `"key":${jsonField(record.key)}"keyEncoding":${encodingField(record.key)},` +
    `"value":${jsonField(record.value)}"valueEncoding":${encodingField(record.value)},"headers":[${headers}]}\n`
  );
}

/** How a record's key and value are read (see ValueFormat). */
export interface RecordFormats {
  readonly keyFormat: ValueFormat;
  readonly valueFormat: ValueFormat;
}

/** Keys and values as strings: the default, whose lines `defaultNdjsonLine` writes. */
export const STRING_FORMATS: RecordFormats = {
  keyFormat: ValueFormat.STRING,
  valueFormat: ValueFormat.STRING,
};

/** The `"<field>":...,"<field>Encoding":...` pair of a key or value read in `format`. */
function formattedField(
  name: 'key' | 'value',
  bytes: Buffer | null,
  format: ValueFormat,
  registry: DocumentReader | undefined,
): string | FormatMismatch {
  if (bytes === null || format === ValueFormat.STRING) {
    return `"${name}":${jsonField(bytes)}"${name}Encoding":${encodingField(bytes)}`;
  }
  if (format === ValueFormat.BINARY)
    return `"${name}":"${bytes.toString('base64')}","${name}Encoding":"base64"`;
  const json = readDocument(format, bytes, name, registry);
  if (json instanceof FormatMismatch) return json;
  return `"${name}":${json.text},"${name}Encoding":"json"`;
}

/**
 * The NDJSON line of a record whose key and value are read in `formats`: like `defaultNdjsonLine`, with
 * a JSON key or value nested as JSON (its encoding `json`), a registry-encoded one decoded by `registry`
 * and nested the same way, and a binary one as base64. A key or value that does not fit its format
 * gives the reason instead of a line.
 */
export function formattedNdjsonLine(
  topicJson: string,
  record: SourceRecord,
  formats: RecordFormats,
  registry?: DocumentReader,
): string | FormatMismatch {
  if (formats.keyFormat === ValueFormat.STRING && formats.valueFormat === ValueFormat.STRING) {
    return defaultNdjsonLine(topicJson, record);
  }
  const key = formattedField('key', record.key, formats.keyFormat, registry);
  if (key instanceof FormatMismatch) return key;
  const value = formattedField('value', record.value, formats.valueFormat, registry);
  if (value instanceof FormatMismatch) return value;
  let headers = '';
  for (const [headerKey, headerValue] of record.headers) {
    headers += `${headers === '' ? '' : ','}{"key":${JSON.stringify(headerKey)},"value":${jsonField(headerValue)}"valueEncoding":${encodingField(headerValue)}}`;
  }
  return (
    `{"topic":${topicJson},"partition":${record.partition},"offset":${Number(record.offset)},` +
    `"timestamp":${JSON.stringify(record.timestampMs)},"timestampIso":"${isoOf(record.timestampMs)}",` +
    `${key},${value},"headers":[${headers}]}\n`
  );
}
