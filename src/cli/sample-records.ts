// Realistic-looking sample records for trying the puller: orders or clicks as JSON, keyed by user.
// Pure apart from the random numbers it is given.

/** The kinds of sample values. */
export const SampleKind = { ORDERS: 'orders', CLICKS: 'clicks' } as const;
/** The kind of sample values. */
export type SampleKind = (typeof SampleKind)[keyof typeof SampleKind];

/** What shapes a run of sample records. */
export interface SamplePlan {
  readonly count: number;
  /** Distinct keys (user ids) the records are spread over. */
  readonly keys: number;
  readonly kind: SampleKind;
  /** Record timestamps run evenly from `nowMs - timeSpreadMs` (the first) to `nowMs` (the last); 0: send time. */
  readonly timeSpreadMs: number;
  readonly nowMs: number;
  /** Approximate size of each JSON value; values are padded up to it. */
  readonly valueBytes: number;
}

/** One record to send. */
export interface SampleRecord {
  readonly key: string;
  readonly value: string;
  readonly timestampMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

const pages = ['/', '/search', '/products/1042', '/products/2217', '/cart', '/checkout', '/account'];
const referrers = ['direct', 'google', 'newsletter', 'partner', 'social'];
const currencies = ['EUR', 'USD', 'GBP'];

/** The timestamp of record `index` of `plan`: evenly spread, oldest first, the last at `nowMs`. */
export function sampleTimestamp(plan: SamplePlan, index: number): number {
  if (plan.count <= 1 || plan.timeSpreadMs === 0) return plan.nowMs;
  return Math.round(plan.nowMs - plan.timeSpreadMs + (plan.timeSpreadMs * index) / (plan.count - 1));
}

/**
 * Record `index` of `plan`, stamped `timestampMs` (`sampleTimestamp`, or the send time when records
 * are not spread). `random` returns numbers in [0, 1), like Math.random.
 */
export function sampleRecord(
  plan: SamplePlan,
  index: number,
  timestampMs: number,
  random: () => number,
): SampleRecord {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const userId = `user-${String(Math.floor(random() * plan.keys)).padStart(6, '0')}`;
  const id = `${index.toString(36)}-${Math.floor(random() * 36 ** 6).toString(36)}`;
  const at = new Date(timestampMs).toISOString();
  const body: Record<string, unknown> =
    plan.kind === 'orders'
      ? {
          type: 'order',
          orderId: `ord-${id}`,
          userId,
          amount: Math.round(random() * 50_000) / 100,
          currency: pick(currencies),
          items: 1 + Math.floor(random() * 5),
          createdAt: at,
          sequence: index,
        }
      : {
          type: 'click',
          clickId: `clk-${id}`,
          userId,
          page: pick(pages),
          referrer: pick(referrers),
          durationMs: Math.floor(random() * 30_000),
          at,
          sequence: index,
        };
  let value = JSON.stringify(body);
  // Pad with a note field so values have about the asked size (never less than the record itself).
  const missing = plan.valueBytes - value.length - ',"note":""'.length;
  if (missing > 0) value = JSON.stringify({ ...body, note: 'x'.repeat(missing) });
  return {
    key: userId,
    value,
    timestampMs,
    headers: { source: 'kafka-batch-puller-sample', kind: plan.kind },
  };
}
