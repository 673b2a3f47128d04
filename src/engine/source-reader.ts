// Which partitions a source is fetching, and from where, across the steps that share it: a partition
// already fetching from the offset a step wants (prefetched while the last window was being written)
// is left alone, and every other one is paused.
import type { RecordSource, SourceBatch } from '../ports.js';

/** Fetch bookkeeping over one RecordSource. */
export class SourceReader {
  private started = false;
  /** Partitions being fetched, with the offset fetching started from. */
  private readonly fetching = new Map<number, string>();

  constructor(readonly source: RecordSource) {}

  /** Fetches exactly these partitions from these offsets; every other partition is paused. */
  async fetchFrom(positions: ReadonlyMap<number, string>): Promise<void> {
    this.pause([...this.fetching.keys()].filter((p) => !positions.has(p)));
    if (!this.started) {
      this.started = true;
      await this.source.start(positions);
      for (const [partition, offset] of positions) this.fetching.set(partition, offset);
      return;
    }
    const toResume = new Map([...positions].filter(([p, offset]) => this.fetching.get(p) !== offset));
    if (toResume.size === 0) return;
    this.source.resume(toResume);
    for (const [partition, offset] of toResume) this.fetching.set(partition, offset);
  }

  /** Stops fetching these partitions. */
  pause(partitions: readonly number[]): void {
    const fetched = partitions.filter((p) => this.fetching.has(p));
    if (fetched.length === 0) return;
    this.source.pause(fetched);
    for (const p of fetched) this.fetching.delete(p);
  }

  poll(maxWaitMs: number): Promise<SourceBatch[]> {
    return this.source.poll(maxWaitMs);
  }
}

const readers = new WeakMap<RecordSource, SourceReader>();

/** The one reader of `source`, shared by the steps that use it. */
export function readerOf(source: RecordSource): SourceReader {
  let reader = readers.get(source);
  if (!reader) {
    reader = new SourceReader(source);
    readers.set(source, reader);
  }
  return reader;
}
