// Closing a window when partitions go quiet: by accumulated empty-poll timeouts, and at once when the
// window ended long ago on the wall clock.
import { describe, expect, it } from 'vitest';
import {
  createTopic,
  newPipeline,
  produce,
  readLanded,
  runOnce,
  transactionalProducer,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

describe('idle close', () => {
  it('closes the last window by accumulated poll timeouts when no newer record comes', async () => {
    const topic = await createTopic(2);
    // A 2 s window around now; no newer record can close it, and the wall clock only 10 s after its end.
    const now = Date.now();
    const windowStart = Math.floor(now / 2000) * 2000;
    await produce(topic, [
      { partition: 0, timestamp: windowStart + 1 },
      { partition: 1, timestamp: windowStart + 2 },
    ]);
    const { bucket, config } = await newPipeline(topic, {
      BATCH_INTERVAL_SECONDS: '2',
      POLL_INTERVAL_SECONDS: '0.2',
      ALLOWED_LATENESS_SECONDS: '10',
    });
    // A run plans a window once it has ended: start right after this one does, with time for its end
    // plus the lateness.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowStart + 2000 - Date.now())));
    let emptyPolls = 0;
    const report = await runOnce(config, {
      seconds: 15,
      listener: {
        onProgress: (p) => void (p.records === 2 && p.partitionsDone < p.partitions && emptyPolls++),
      },
    });

    expect(report.windowsClosed.length).toBeGreaterThanOrEqual(1);
    const first = report.windowsClosed[0]?.manifest;
    expect(first?.window.startMs).toBe(windowStart);
    expect(first?.totals.records).toBe(2);
    // It waited through several empty polls of the caught-up partitions, which closed the window well
    // before the wall clock would have.
    expect(emptyPolls).toBeGreaterThan(1);
    expect(Date.parse(first?.closedAt ?? '')).toBeLessThan(windowStart + 2000 + 10_000);
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '1:0']);
  });

  it('closes a window that ended long ago without waiting out its idle time', async () => {
    const topic = await createTopic(2);
    const tenMinutesAgo = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    await produce(topic, [
      { partition: 0, timestamp: tenMinutesAgo + 5_000 },
      { partition: 1, timestamp: tenMinutesAgo + 6_000 },
    ]);
    // Poll timeouts of 20 s would need a minute to close a 60 s window; the run has 10 s in all.
    const { bucket, config } = await newPipeline(topic, {
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '20',
      ALLOWED_LATENESS_SECONDS: '0',
    });
    const report = await runOnce(config, { seconds: 10 });

    expect(report.windowsClosed[0]?.manifest.window.startMs).toBe(tenMinutesAgo);
    expect(report.windowsClosed[0]?.manifest.totals.records).toBe(2);
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '1:0']);
  });
});

describe('idle close after transactions', () => {
  it('closes a window whose partition ends in a transaction marker, by idle time', async () => {
    const topic = await createTopic(1);
    const tenMinutesAgo = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const producer = await transactionalProducer();
    const transaction = await producer.transaction();
    await transaction.send({
      topic,
      messages: [
        { value: 'a', timestamp: String(tenMinutesAgo + 1) },
        { value: 'b', timestamp: String(tenMinutesAgo + 2) },
      ],
    });
    await transaction.commit();
    await producer.disconnect();
    const { bucket, config } = await newPipeline(topic, { ALLOWED_LATENESS_SECONDS: '0' });

    const report = await runOnce(config, { seconds: 10 });

    // Offsets 0 and 1 hold the records, 2 the commit marker: the window must read past it to close.
    expect(report.windowsClosed[0]?.manifest.partitions[0]).toMatchObject({
      startOffset: '0',
      endOffset: '3',
      records: 2,
    });
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1']);
  });
});

describe('idle close while a transaction is open', () => {
  const MINUTE = 60_000;

  /**
   * A window that ended a second ago (on the returned clock), holding one record a second before its end
   * and, half a second before it, the record of a transaction left open.
   */
  async function openTransactionInEndedWindow(allowedLatenessSeconds: number) {
    const topic = await createTopic(1);
    const clock = windowClock(MINUTE);
    const windowEnd = Math.floor(clock() / MINUTE) * MINUTE;
    await produce(topic, [{ partition: 0, timestamp: windowEnd - 1_000, value: 'before' }]);
    const producer = await transactionalProducer();
    const transaction = await producer.transaction();
    await transaction.send({
      topic,
      messages: [{ partition: 0, value: 'in the transaction', timestamp: String(windowEnd - 500) }],
    });
    const { bucket, config } = await newPipeline(topic, {
      POLL_INTERVAL_SECONDS: '0.2',
      ALLOWED_LATENESS_SECONDS: String(allowedLatenessSeconds),
    });
    return { clock, windowEnd, producer, transaction, bucket, config };
  }

  it('waits, within the allowed lateness, for an open transaction with records in the window to finish', async () => {
    const { clock, windowEnd, producer, transaction, bucket, config } =
      await openTransactionInEndedWindow(30);
    // The transaction commits once the run has polled the partition, read to its last stable offset, 10
    // times: 2 s of idle time, twice what the second between its newest record and the window's end needs.
    let polls = 0;
    let committed: Promise<void> | undefined;
    let report: Awaited<ReturnType<typeof runOnce>>;
    try {
      report = await runOnce(config, {
        now: clock,
        seconds: 45,
        listener: {
          onProgress: (progress) => {
            if (progress.windowEndMs === windowEnd && progress.partitionsDone === 0 && ++polls === 10)
              committed = transaction.commit();
          },
        },
      });
    } finally {
      await (committed ?? transaction.commit());
      await producer.disconnect();
    }

    expect(polls).toBeGreaterThanOrEqual(10);
    expect(report.windowsClosed[0]?.manifest.window.endMs).toBe(windowEnd);
    // Offset 0 the record before, 1 the transaction's, 2 its commit marker.
    expect(report.windowsClosed[0]?.manifest.partitions[0]).toMatchObject({
      startOffset: '0',
      endOffset: '3',
      records: 2,
      lateRecords: 0,
    });
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1']);
  });

  it('closes the window once the allowed lateness has passed while a transaction stays open; its records land later, late', async () => {
    const { clock, windowEnd, producer, transaction, bucket, config } = await openTransactionInEndedWindow(3);
    let first: Awaited<ReturnType<typeof runOnce>>;
    try {
      first = await runOnce(config, { now: clock, seconds: 15 });
    } finally {
      await transaction.commit();
      await producer.disconnect();
    }
    // The next run, once the next window has ended.
    const second = await runOnce(config, { now: () => clock() + MINUTE, seconds: 15 });

    expect(first.outcome).toBe('caught-up');
    expect(first.windowsClosed.map((closed) => closed.manifest.totals.records)).toEqual([1]);
    expect(second.windowsClosed[0]?.manifest.window.startMs).toBe(windowEnd);
    expect(second.windowsClosed[0]?.manifest.partitions[0]).toMatchObject({
      startOffset: '1',
      endOffset: '3',
      records: 1,
      lateRecords: 1,
    });
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1']);
  });
});

describe('idle close after an aborted transaction', () => {
  it('steps over a fetch that holds only aborted records and their marker', async () => {
    const topic = await createTopic(1);
    const twoSecondWindows = {
      BATCH_INTERVAL_SECONDS: '2',
      POLL_INTERVAL_SECONDS: '0.2',
      ALLOWED_LATENESS_SECONDS: '0',
    };
    await produce(topic, [{ partition: 0, timestamp: Date.now() - 10_000 }]);
    const { config } = await newPipeline(topic, twoSecondWindows);
    const first = await runOnce(config, { seconds: 4 });
    // The log now ends with records that are never delivered, then the abort marker.
    const producer = await transactionalProducer();
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: [{ value: 'x' }, { value: 'y' }] });
    await transaction.abort();
    await producer.disconnect();
    // A run plans only windows that have ended: let the one holding the abort end.
    const windowEnd = Math.floor(Date.now() / 2000) * 2000 + 2000;
    await new Promise((resolve) => setTimeout(resolve, windowEnd - Date.now() + 50));

    const second = await runOnce(config, { seconds: 5 });

    expect(first.windowsClosed.length).toBeGreaterThan(0);
    // Without stepping over them the partition never reads to its high watermark (4) and no window closes.
    expect(second.windowsClosed.length).toBeGreaterThan(0);
    expect(second.windowsClosed[0]?.manifest.partitions[0]).toMatchObject({
      startOffset: '1',
      endOffset: '4',
      records: 0,
    });
  });
});
