// The one definition of the ISO-8601 times a start position may be given as (config, CLI and CDK context).

// Date.parse alone also takes forms such as '1' or 'March 7' (read in the machine's time zone): requiring
// the date-time prefix keeps a start time unambiguous.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T/;

/** Epoch ms of an ISO-8601 date-time such as `2026-01-31T00:00:00Z`; undefined when `value` is not one. */
export function parseIsoDateTime(value: string): number | undefined {
  const ms = ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}
