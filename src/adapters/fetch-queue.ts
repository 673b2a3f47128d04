// The byte-bounded queue between the fetch loops and poll(): the loops add what they fetch, poll()
// drains it, and while it holds its limit no fetch starts, so a slow reader bounds the memory fetching takes.
import type { SourceBatch } from '../ports.js';

/** Fetched batches not yet polled, with about the bytes they hold. */
export class FetchQueue {
  private entries: Array<{ batch: SourceBatch; bytes: number }> = [];
  private bytes = 0;
  /** poll() calls waiting for batches. */
  private readonly pollers = new Set<() => void>();
  /** Fetch loops waiting for room. */
  private readonly roomWaiters = new Set<() => void>();

  /** @param maxBytes the bytes at which fetching waits for a poll */
  constructor(private readonly maxBytes: number) {}

  /** Whether the queue holds its limit: no fetch starts. */
  get isFull(): boolean {
    return this.bytes >= this.maxBytes;
  }

  /** Whether no batch is queued. */
  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Adds a fetched batch of about `bytes`; a waiting poll goes on. */
  push(batch: SourceBatch, bytes: number): void {
    this.entries.push({ batch, bytes });
    this.bytes += bytes;
    wake(this.pollers);
  }

  /** Waits until a batch is added, or a wake, at most `maxWaitMs`. */
  waitForBatches(maxWaitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pollers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.pollers.add(done);
    });
  }

  /** Waits until a poll or a pause makes room, or a wake. */
  waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => this.roomWaiters.add(resolve));
  }

  /** Takes every queued batch, in order; fetching goes on. */
  takeAll(): SourceBatch[] {
    const taken = this.entries.map((entry) => entry.batch);
    this.entries = [];
    this.bytes = 0;
    wake(this.roomWaiters);
    return taken;
  }

  /** Takes the queued batches of the partitions `keep` refuses, in order; the others stay. */
  takeUnless(keep: (partition: number) => boolean): SourceBatch[] {
    const removed: SourceBatch[] = [];
    const kept: typeof this.entries = [];
    for (const entry of this.entries) {
      if (keep(entry.batch.partition)) kept.push(entry);
      else removed.push(entry.batch);
    }
    if (removed.length === 0) return removed;
    this.entries = kept;
    this.bytes = kept.reduce((sum, entry) => sum + entry.bytes, 0);
    wake(this.roomWaiters);
    return removed;
  }

  /** Drops every queued batch. */
  clear(): void {
    this.entries = [];
    this.bytes = 0;
  }

  /** Lets every waiting poll and loop go on (a failure, a close): each checks why. */
  wakeAll(): void {
    wake(this.pollers);
    wake(this.roomWaiters);
  }
}

/** Calls each waiter once; a waiter added meanwhile waits for the next wake. */
export function wake(waiters: Set<() => void>): void {
  const waiting = [...waiters];
  waiters.clear();
  for (const resolve of waiting) resolve();
}
