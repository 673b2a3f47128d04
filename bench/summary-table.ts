// Summaries of repeated runs (the median, with the min and max beside it so the spread shows) and the
// Markdown tables the bench prints them in.

/** Median, min and max of some runs, plus how many. */
export interface Summary {
  /** The middle value (the mean of the two middle ones for an even count). */
  readonly median: number;
  /** The smallest value. */
  readonly min: number;
  /** The largest value. */
  readonly max: number;
  /** How many values. */
  readonly runs: number;
}

/** Summarises the values, or undefined when there are none. */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: sorted.length };
}

/** "median (min–max)" of the values, the median alone for one run, "–" for none. */
export function spread(values: readonly number[], format: (n: number) => string): string {
  const summary = summarize(values);
  if (!summary) return '–';
  if (summary.runs === 1 || summary.min === summary.max) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

/** A whole number with thousands separators. */
export function integer(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A formatter to `digits` decimals. */
export function fixed(digits: number): (n: number) => string {
  return (n) => n.toFixed(digits);
}

/**
 * A Markdown table with every column padded to its widest cell and a dashed rule under the header, as
 * the project's formatter lays tables out.
 */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) =>
    Math.max(3, cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((width, column) => (cells[column] ?? '').padEnd(width)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
