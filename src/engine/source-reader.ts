// Which partitions a source is fetching, and from where, across the steps that share it: a partition
// already fetching from the offset a step wants (prefetched while the last window was being written)
// is left alone, and every other one is paused. What a window fetched past a partition's end is kept
// for the next window, which starts there: a backlog's records are fetched and decoded once, not once
// per window they were fetched in.
import type { RecordSource, SourceBatch } from '../ports.js';

/** A partition's batches fetched from `fromOffset` on, kept while the partition is not fetched. */
interface HeldBatches {
  readonly fromOffset: string;
  readonly batches: readonly SourceBatch[];
}

/** Fetch bookkeeping over one RecordSource. */
export class SourceReader {
  private started = false;
  /** Partitions being fetched, with the offset their reading was asked to start from. */
  private readonly fetching = new Map<number, string>();
  /** Per partition not being fetched: what was fetched past where its share ended. */
  private readonly held = new Map<number, HeldBatches>();
  /** Batches in hand for the next polls: held ones of partitions fetched again, then polled ones. */
  private replay: SourceBatch[] = [];
  /**
   * Partitions being read from their held batches, with the offset the source goes on from once the
   * last of them is handed out: held and newly fetched batches are not in memory together.
   */
  private readonly deferred = new Map<number, string>();

  constructor(readonly source: RecordSource) {}

  /** Fetches exactly these partitions from these offsets; every other partition is paused. */
  async fetchFrom(positions: ReadonlyMap<number, string>): Promise<void> {
    this.pause([...this.fetching.keys()].filter((p) => !positions.has(p)));
    for (const partition of this.held.keys()) if (!positions.has(partition)) this.held.delete(partition);
    const toFetch = new Map([...positions].filter(([p, offset]) => this.fetching.get(p) !== offset));
    if (toFetch.size === 0) return;
    // A partition whose held batches start where it is asked to: they are polled first, and the source
    // fetches from where they end.
    const sourcePositions = new Map<number, string>();
    this.replay = this.replay.filter((batch) => !toFetch.has(batch.partition));
    for (const [partition, offset] of toFetch) {
      const held = this.held.get(partition);
      this.held.delete(partition);
      this.deferred.delete(partition);
      const last = held?.batches.at(-1);
      if (held && last && held.fromOffset === offset) {
        this.replay.push(...held.batches);
        this.deferred.set(partition, last.nextOffset);
      } else {
        sourcePositions.set(partition, offset);
      }
      this.fetching.set(partition, offset);
    }
    if (!this.started) {
      this.started = true;
      await this.source.start(sourcePositions);
      return;
    }
    if (sourcePositions.size > 0) this.source.resume(sourcePositions);
  }

  /** Stops fetching these partitions; what was fetched for them is dropped. */
  pause(partitions: readonly number[]): void {
    this.stop(partitions);
    for (const partition of partitions) this.held.delete(partition);
  }

  /**
   * Stops fetching partitions whose shares ended at `ends`, keeping what was fetched past each end for a
   * share that starts there: `polled`, the batches already polled that reach past the end (in order),
   * then what the source had fetched and not yet returned.
   */
  hold(ends: ReadonlyMap<number, string>, polled: ReadonlyMap<number, readonly SourceBatch[]>): void {
    const fetched = [...ends.keys()].filter((p) => this.fetching.has(p));
    const unpolled = this.stop(fetched);
    for (const partition of fetched) {
      const batches = [
        ...(polled.get(partition) ?? []),
        ...unpolled.filter((batch) => batch.partition === partition),
      ];
      const fromOffset = ends.get(partition) as string;
      if (batches.length > 0) this.held.set(partition, { fromOffset, batches });
    }
  }

  /**
   * At most one batch per partition: held batches being read again first, then what the source fetched.
   * A poll that has batches in hand lets the event loop run first, so that a long run of them does not
   * keep the compressors on the thread pool waiting for their next chunk.
   */
  async poll(maxWaitMs: number): Promise<SourceBatch[]> {
    if (this.replay.length > 0) await new Promise((resolve) => setImmediate(resolve));
    if (this.replay.length === 0) this.replay = await this.source.poll(maxWaitMs);
    const taken: SourceBatch[] = [];
    const rest: SourceBatch[] = [];
    const partitions = new Set<number>();
    for (const batch of this.replay) {
      if (partitions.has(batch.partition)) rest.push(batch);
      else {
        partitions.add(batch.partition);
        taken.push(batch);
      }
    }
    this.replay = rest;
    this.resumeReplayed();
    return taken;
  }

  /** The source fetches a replayed partition again once its last held batch is handed out. */
  private resumeReplayed(): void {
    if (this.deferred.size === 0) return;
    const positions = new Map(this.deferred);
    for (const batch of this.replay) positions.delete(batch.partition);
    if (positions.size === 0) return;
    for (const partition of positions.keys()) this.deferred.delete(partition);
    this.source.resume(positions);
  }

  /** Stops fetching these partitions; returns the batches the source (or a replay) still had for them. */
  private stop(partitions: readonly number[]): SourceBatch[] {
    const fetched = partitions.filter((p) => this.fetching.has(p));
    if (fetched.length === 0) return [];
    const unread = this.replay.filter((batch) => fetched.includes(batch.partition));
    this.replay = this.replay.filter((batch) => !fetched.includes(batch.partition));
    for (const p of fetched) {
      this.fetching.delete(p);
      this.deferred.delete(p);
    }
    return [...unread, ...this.source.pause(fetched)];
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
