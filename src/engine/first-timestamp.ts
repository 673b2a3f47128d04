// The earliest timestamp among the first records at given offsets: what dates a reset point given as
// offsets. Reads each partition from its offset to its first record with a usable timestamp (a fetch of
// aborted records and their marker holds none: read on), or to its end.
import { ConnectionError } from '../errors.js';
import type { PartitionBounds, RecordSource } from '../ports.js';

/** How the first records are read. */
export interface FirstTimestampOptions {
  /** Records stamped further ahead of the clock than this are not usable, as in the window rule. */
  readonly futureToleranceMs: number;
  /** How long reading may take before it fails. */
  readonly timeoutMs: number;
  readonly now: () => number;
}

/** How long one poll waits for a fetch. */
const POLL_MS = 500;

/**
 * The earliest usable timestamp among the records at `offsets` (by partition), or undefined when no
 * partition has a record left to read. Leaves every partition paused; the caller closes the source.
 * @throws ConnectionError when the records cannot be read within `options.timeoutMs`.
 */
export async function firstTimestampAt(
  source: RecordSource,
  offsets: Readonly<Record<string, string>>,
  bounds: readonly PartitionBounds[],
  options: FirstTimestampOptions,
): Promise<number | undefined> {
  const highs = new Map(bounds.map((b) => [b.partition, BigInt(b.high)]));
  const waiting = new Map(
    Object.entries(offsets)
      .map(([p, offset]) => [Number(p), offset] as const)
      .filter(([p, offset]) => BigInt(offset) < (highs.get(p) ?? 0n)),
  );
  if (waiting.size === 0) return undefined;
  const partitions = [...waiting.keys()];
  await source.start(new Map(waiting));
  const giveUpAt = options.now() + options.timeoutMs;
  let earliest: number | undefined;
  try {
    while (waiting.size > 0) {
      if (options.now() > giveUpAt) {
        throw new ConnectionError(
          `could not read the first records of partitions ${[...waiting.keys()].join(', ')} within ${options.timeoutMs / 1000} s`,
        );
      }
      for (const batch of await source.poll(POLL_MS)) {
        if (!waiting.has(batch.partition)) continue;
        const latestUsable = options.now() + options.futureToleranceMs;
        const first = batch.records.find((r) => r.timestampMs >= 0 && r.timestampMs <= latestUsable);
        if (first) earliest = Math.min(earliest ?? first.timestampMs, first.timestampMs);
        if (first || BigInt(batch.nextOffset) >= (highs.get(batch.partition) ?? 0n))
          waiting.delete(batch.partition);
      }
    }
  } finally {
    source.pause(partitions);
  }
  return earliest;
}
