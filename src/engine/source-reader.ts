// Which partitions a source is fetching, and from where, across the steps that share it: a partition
// already fetching from the offset a step wants (prefetched while the last window was being written)
// is left alone, and every other one is paused. Carried batches are what a window fetched past a
// partition's end, kept for the share that starts there (the next window's, or the window a plan is
// about to define): a backlog's records are fetched and decoded once, not once per window they were
// fetched in. One reader per source owns them: whoever opens a source makes its reader and gives it,
// with the source, to every step that reads it (StepContext.reader).
import type { RecordSource, SourceBatch } from '../ports.js';

/** A paused partition's carried batches: fetched from `fromOffset` on, kept for the share that starts there. */
interface CarriedBatches {
  readonly fromOffset: string;
  readonly batches: readonly SourceBatch[];
}

/** Fetch bookkeeping over one RecordSource, and the batches carried from one share to the next. */
export class SourceReader {
  private started = false;
  /** Partitions being fetched, with the offset their reading was asked to start from. */
  private readonly fetching = new Map<number, string>();
  /** Per partition not being fetched: its carried batches. */
  private readonly carried = new Map<number, CarriedBatches>();
  /** Batches in hand for the next polls: carried ones of partitions fetched again, then polled ones. */
  private inHand: SourceBatch[] = [];
  /**
   * Partitions being read from their carried batches, with the offset the source goes on from once the
   * last of them is handed out: carried and newly fetched batches are not in memory together.
   */
  private readonly resumeAfterCarried = new Map<number, string>();

  /** @param source the source this reader alone starts, pauses, resumes and polls */
  constructor(readonly source: RecordSource) {}

  /** Fetches exactly these partitions from these offsets; every other partition is paused. */
  async fetchFrom(positions: ReadonlyMap<number, string>): Promise<void> {
    this.pause([...this.fetching.keys()].filter((p) => !positions.has(p)));
    for (const partition of this.carried.keys())
      if (!positions.has(partition)) this.carried.delete(partition);
    const toFetch = new Map([...positions].filter(([p, offset]) => this.fetching.get(p) !== offset));
    if (toFetch.size === 0) return;
    // A partition whose carried batches start where it is asked to: they are polled first, and the source
    // fetches from where they end.
    const sourcePositions = new Map<number, string>();
    this.inHand = this.inHand.filter((batch) => !toFetch.has(batch.partition));
    for (const [partition, offset] of toFetch) {
      const carried = this.carried.get(partition);
      this.carried.delete(partition);
      this.resumeAfterCarried.delete(partition);
      const last = carried?.batches.at(-1);
      if (carried && last && carried.fromOffset === offset) {
        this.inHand.push(...carried.batches);
        this.resumeAfterCarried.set(partition, last.nextOffset);
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

  /**
   * Stops fetching partitions whose shares ended at `ends`, carrying over what was fetched past each end
   * for a share that starts there: `polled`, the batches already polled that reach past the end (in
   * order), then what the source had fetched and not yet returned.
   */
  carryOver(ends: ReadonlyMap<number, string>, polled: ReadonlyMap<number, readonly SourceBatch[]>): void {
    const fetched = [...ends.keys()].filter((p) => this.fetching.has(p));
    const unpolled = this.stop(fetched);
    for (const partition of fetched) {
      const batches = [
        ...(polled.get(partition) ?? []),
        ...unpolled.filter((batch) => batch.partition === partition),
      ];
      const fromOffset = ends.get(partition) as string;
      if (batches.length > 0) this.carried.set(partition, { fromOffset, batches });
    }
  }

  /**
   * At most one batch per partition: carried batches first, then what the source fetched. A poll that
   * has batches in hand lets the event loop run first, so that a long run of them does not keep the
   * compressors on the thread pool waiting for their next chunk.
   */
  async poll(maxWaitMs: number): Promise<SourceBatch[]> {
    if (this.inHand.length > 0) await new Promise((resolve) => setImmediate(resolve));
    if (this.inHand.length === 0) this.inHand = await this.source.poll(maxWaitMs);
    const taken: SourceBatch[] = [];
    const rest: SourceBatch[] = [];
    const partitions = new Set<number>();
    for (const batch of this.inHand) {
      if (partitions.has(batch.partition)) rest.push(batch);
      else {
        partitions.add(batch.partition);
        taken.push(batch);
      }
    }
    this.inHand = rest;
    this.resumeAfterCarriedBatches();
    return taken;
  }

  /** Stops fetching these partitions; what was fetched or carried for them is dropped. */
  private pause(partitions: readonly number[]): void {
    this.stop(partitions);
    for (const partition of partitions) this.carried.delete(partition);
  }

  /** The source fetches a partition again once the last of its carried batches is handed out. */
  private resumeAfterCarriedBatches(): void {
    if (this.resumeAfterCarried.size === 0) return;
    const positions = new Map(this.resumeAfterCarried);
    for (const batch of this.inHand) positions.delete(batch.partition);
    if (positions.size === 0) return;
    for (const partition of positions.keys()) this.resumeAfterCarried.delete(partition);
    this.source.resume(positions);
  }

  /** Stops fetching these partitions; returns the batches in hand or in the source still unread for them. */
  private stop(partitions: readonly number[]): SourceBatch[] {
    const fetched = partitions.filter((p) => this.fetching.has(p));
    if (fetched.length === 0) return [];
    const unread = this.inHand.filter((batch) => fetched.includes(batch.partition));
    this.inHand = this.inHand.filter((batch) => !fetched.includes(batch.partition));
    for (const p of fetched) {
      this.fetching.delete(p);
      this.resumeAfterCarried.delete(p);
    }
    return [...unread, ...this.source.pause(fetched)];
  }
}

/** The reader a step reads through: `ctx.reader`, which must read `ctx.source` (a step given one without the other is a bug). */
export function stepReader(ctx: {
  readonly source: RecordSource;
  readonly reader: SourceReader;
}): SourceReader {
  if (ctx.reader.source !== ctx.source)
    throw new Error("the step's reader reads another source than its own");
  return ctx.reader;
}
