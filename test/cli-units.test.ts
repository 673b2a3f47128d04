// The CLI's pure pieces: the local schedule, flag-to-config mapping, sample records and the terminal
// display, checked in-process (the binary itself is tested in cli.test.ts and cli-run.test.ts).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { nextTickAfter, runDeadline } from '../src/cli/local-schedule.js';
import { parseFlags } from '../src/cli/parse-args.js';
import { configFromFlags } from '../src/cli/pipeline-flags.js';
import { runCommandSpec, runConfig } from '../src/cli/run-command.js';
import { sampleRecord, sampleTimestamp } from '../src/cli/sample-records.js';
import { formatBytes, formatWindow, RunOutput } from '../src/cli/terminal-output.js';
import { UsageError } from '../src/cli/usage-error.js';
import type { ClosedWindow } from '../src/engine/run-types.js';

describe('local schedule', () => {
  it.each([
    [0, 60_000, 60_000],
    [1, 60_000, 60_000],
    [59_999, 60_000, 60_000],
    [60_000, 60_000, 120_000],
    [125_000, 10_000, 130_000],
  ])('the tick after %i with interval %i is %i', (now, interval, tick) => {
    expect(nextTickAfter(now, interval)).toBe(tick);
  });

  it('gives a run the next tick as its deadline', () => {
    expect(runDeadline(120_500, 60_000, 8_000)).toBe(180_000);
  });

  it('moves the deadline a tick on when too little time is left before the next tick', () => {
    expect(runDeadline(175_000, 60_000, 8_000)).toBe(240_000);
  });

  it('gives a run started exactly on a tick the whole interval', () => {
    expect(runDeadline(180_000, 60_000, 8_000)).toBe(240_000);
  });
});

describe('run flags to configuration', () => {
  const env = { KAFKA_BROKERS: 'env-broker:9092' };
  const parse = (...argv: string[]) =>
    parseFlags(runCommandSpec, ['--topic', 'orders', '--group-id', 'g', ...argv]);

  it('maps every flag onto the shared configuration, with the CLI defaults', () => {
    const config = configFromFlags(parse(), 'run', env);

    expect(config).toMatchObject({
      brokers: ['env-broker:9092'],
      topic: 'orders',
      groupId: 'g',
      batchIntervalMs: 300_000,
      pollIntervalMs: 5_000,
      allowedLatenessMs: 5_000,
      startPosition: { kind: 'earliest' },
      compression: 'gzip',
      partSizeBytes: 64 * 1024 * 1024,
      security: { mechanism: 'plaintext' },
      safetyMarginMs: 2_000,
    });
    expect(config.output).toEqual({ kind: 'directory', path: `${process.cwd()}/kafka-batches`, prefix: '' });
    expect(config.state).toEqual({ kind: 'file', path: `${process.cwd()}/kafka-batch-puller-state.json` });
  });

  it('takes brokers from repeated and comma-separated flags before KAFKA_BROKERS', () => {
    const config = configFromFlags(parse('--broker', 'a:1,b:2', '--broker', 'c:3'), 'run', env);

    expect(config.brokers).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('reads s3:// output and dynamodb:// state', () => {
    const config = configFromFlags(
      parse('--output', 's3://my-bucket/landing/zone/', '--state', 'dynamodb://puller-state'),
      'run',
      env,
    );

    expect(config.output).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'landing/zone' });
    expect(config.state).toEqual({ kind: 'dynamodb', table: 'puller-state' });
  });

  it('reads the tuning flags', () => {
    const config = configFromFlags(
      parse(
        '--batch-interval-seconds',
        '60',
        '--poll-interval-seconds',
        '2.5',
        '--allowed-lateness-seconds',
        '30',
        '--start',
        '2026-01-31T00:00:00Z',
        '--compression',
        'none',
        '--part-size-mb',
        '8',
      ),
      'run',
      env,
    );

    expect(config).toMatchObject({
      batchIntervalMs: 60_000,
      pollIntervalMs: 2_500,
      allowedLatenessMs: 30_000,
      startPosition: { kind: 'timestamp', timestampMs: Date.parse('2026-01-31T00:00:00Z') },
      compression: 'none',
      partSizeBytes: 8 * 1024 * 1024,
    });
  });

  it('reads the format, value and key formats and declared columns', () => {
    const config = configFromFlags(
      parse(
        '--format',
        'parquet',
        '--value-format',
        'json',
        '--key-format',
        'binary',
        '--column',
        'order_id:string:id',
        '--column',
        'amount:double:total.amount,paid:boolean:paid',
      ),
      'run',
      env,
    );
    expect(config).toMatchObject({
      format: 'parquet',
      compression: 'snappy',
      valueFormat: 'json',
      keyFormat: 'binary',
      columns: [
        { name: 'order_id', type: 'string', path: 'id' },
        { name: 'amount', type: 'double', path: 'total.amount' },
        { name: 'paid', type: 'boolean', path: 'paid' },
      ],
    });
    expect(() => configFromFlags(parse('--column', 'id:string:id'), 'run', env)).toThrow(
      '--column needs --format parquet and --value-format json',
    );
  });

  it('reads the table format flags, and names them when Iceberg lacks Parquet in S3', () => {
    const iceberg = ['--table-format', 'iceberg', '--iceberg-catalog-url', 'http://127.0.0.1:18181'];
    const config = configFromFlags(
      parse(
        ...iceberg,
        '--format',
        'parquet',
        '--output',
        's3://lake/landing',
        '--iceberg-table',
        'orders_v2',
      ),
      'run',
      env,
    );
    expect(config.table).toEqual({
      format: 'iceberg',
      catalogUrl: 'http://127.0.0.1:18181',
      namespace: 'kafka_batch_puller',
      table: 'orders_v2',
      signing: 'none',
    });
    expect(configFromFlags(parse(), 'run', env).table).toEqual({ format: 'none' });
    expect(() => configFromFlags(parse(...iceberg), 'run', env)).toThrow(
      '--table-format iceberg needs --format parquet (got ndjson) and an S3 output (--output; got none)',
    );
  });

  it('names flags, not variables, in every configuration problem, on one line', () => {
    const attempt = () =>
      configFromFlags(parse('--part-size-mb', 'big', '--allowed-lateness-seconds=-1'), 'run', env);

    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(
      '--allowed-lateness-seconds must be 0 or more; --part-size-mb must be a number of MiB',
    );
    expect(attempt).not.toThrow(/[A-Z]{3,}_[A-Z]+/);
  });

  it('refuses a lateness that a run, whose budget is the interval, could never wait out', () => {
    const run = (...argv: string[]) => runConfig(parse('--batch-interval-seconds', '60', ...argv), env);

    expect(run('--allowed-lateness-seconds', '50').allowedLatenessMs).toBe(50_000);
    expect(() => run('--allowed-lateness-seconds', '58')).toThrow(UsageError);
    expect(() => run('--allowed-lateness-seconds', '58')).toThrow(
      '--allowed-lateness-seconds must be shorter than --batch-interval-seconds less --safety-margin-seconds',
    );
    expect(() => run('--poll-interval-seconds', '59')).toThrow('got 59 s (the poll interval), 60 s and 2 s');
  });
});

describe('sample records', () => {
  const plan = {
    count: 5,
    keys: 3,
    kind: 'clicks' as const,
    timeSpreadMs: 4_000,
    nowMs: 10_000,
    valueBytes: 400,
  };

  it('spreads timestamps evenly from the span ago to now, oldest first', () => {
    expect([0, 1, 2, 3, 4].map((i) => sampleTimestamp(plan, i))).toEqual([
      6_000, 7_000, 8_000, 9_000, 10_000,
    ]);
  });

  it('writes a JSON value of about the asked size, keyed by its user id', () => {
    const draws = [0.1, 0.7, 0.4, 0.9, 0.2, 0.5, 0.3, 0.8];
    let draw = 0;
    const random = () => draws[draw++ % draws.length] ?? 0;

    const record = sampleRecord(plan, 2, 8_000, random);

    const value = JSON.parse(record.value);
    expect(value).toMatchObject({
      type: 'click',
      userId: record.key,
      sequence: 2,
      at: new Date(8_000).toISOString(),
    });
    expect(record.key).toBe('user-000000'); // floor(0.1 * 3 keys)
    expect(record.value.length).toBe(400);
    expect(record.timestampMs).toBe(8_000);
  });
});

describe('terminal output', () => {
  function capture(isTTY: boolean, json = false) {
    let out = '';
    let err = '';
    const stdout = Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          out += chunk.toString();
          done();
        },
      }),
      { isTTY, columns: 200 },
    );
    const stderr = new Writable({
      write(chunk, _encoding, done) {
        err += chunk.toString();
        done();
      },
    });
    let clock = 0;
    const mode = json ? 'json' : isTTY ? 'tty' : 'plain';
    const output = new RunOutput(mode, { stdout, stderr }, () => (clock += 1000));
    return { output, out: () => out, err: () => err };
  }

  const closed = {
    manifestLocation: '/out/topic=t/window=x/_manifest.json',
    manifest: {
      topic: 't',
      window: {
        start: '2026-11-27T09:40:00.000Z',
        end: '2026-11-27T09:41:00.000Z',
        startMs: 0,
        endMs: 60_000,
      },
      totals: { records: 1234, lateRecords: 0, errorRecords: 2, bytes: 2048, objects: 3 },
    },
  } as unknown as ClosedWindow;

  it('redraws one live line on a terminal and clears it before a summary', () => {
    const { output, out } = capture(true);

    output.progress({
      windowStartMs: 0,
      windowEndMs: 60_000,
      records: 10,
      partitionsDone: 1,
      partitions: 3,
      lag: 5,
    });
    output.progress({
      windowStartMs: 0,
      windowEndMs: 60_000,
      records: 20,
      partitionsDone: 2,
      partitions: 3,
      lag: 0,
    });
    output.windowClosed(closed);

    expect(out()).toBe(
      '\ropen window 00:00:00..00:01:00Z  10 records  1/3 partitions done  lag 5\x1b[K' +
        '\ropen window 00:00:00..00:01:00Z  20 records  2/3 partitions done  lag 0\x1b[K' +
        '\r\x1b[K' +
        'window 1970-01-01T00:00:00Z..00:01:00Z closed: 1,234 records, 2 errors, 2.0 KiB in 3 objects -> /out/topic=t/window=x/_manifest.json\n',
    );
  });

  it('prints no live line but timestamped lines when not a terminal', () => {
    const { output, out, err } = capture(false);

    output.progress({
      windowStartMs: 0,
      windowEndMs: 60_000,
      records: 10,
      partitionsDone: 1,
      partitions: 3,
      lag: 5,
    });
    output.windowClosed(closed);
    output.note('stopping');

    expect(out()).toMatch(
      /^1970-01-01T00:00:\d\dZ window 1970-01-01T00:00:00Z\.\.00:01:00Z closed: 1,234 records/,
    );
    expect(out().split('\n')).toHaveLength(2);
    expect(err()).toBe('stopping\n');
  });

  it("prints the engine's warnings with every attribute: a note on stderr, or a JSON event", () => {
    const attributes = { topic: 'orders', partition: 2, recordsLost: 40 };
    const plain = capture(false);
    const json = capture(false, true);

    plain.output.warn('retention deleted records before any run read them', attributes);
    json.output.warn('retention deleted records before any run read them', attributes);

    expect(plain.err()).toBe(
      'warning: retention deleted records before any run read them (topic=orders, partition=2, recordsLost=40)\n',
    );
    expect(plain.out()).toBe('');
    expect(JSON.parse(json.out())).toEqual({
      event: 'warning',
      message: 'retention deleted records before any run read them',
      ...attributes,
    });
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 * 1024, '5.0 MiB'],
  ])('formats %i bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('shows the end date of a window only when it differs from the start', () => {
    expect(formatWindow(Date.parse('2026-11-27T23:59:00Z'), Date.parse('2026-11-28T00:00:00Z'))).toBe(
      '2026-11-27T23:59:00Z..2026-11-28T00:00:00Z',
    );
  });
});
