// The bounds and defaults of the two fetch settings, shared by the handler's settings and the construct's
// props so that both refuse the same values. Pure: no I/O.

/** A fetch setting's range and default, in MiB. */
export interface FetchSizeRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/**
 * The most one fetch returns per partition, and the fetched bytes held ahead of the writer. The defaults
 * are the measured best (README, Measured figures); the queue holds whole fetches, so it is never
 * smaller than one.
 */
export const FETCH_SIZES_MB = {
  partition: { min: 0.01, max: 64, default: 1 },
  queue: { min: 1, max: 1024, default: 16 },
} as const satisfies Record<string, FetchSizeRange>;
