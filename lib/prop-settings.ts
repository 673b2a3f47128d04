// Props as the shared setting rules see them (src/core/setting-rules.ts): durations in seconds, sizes in
// MiB, each under its prop's name and shown as the prop was written.
import type { Duration, Size } from 'aws-cdk-lib';
import type { Setting } from '../src/core/setting-rules.js';

/** A duration in seconds (fractions kept: a poll interval may be under a second). */
export function secondsOf(duration: Duration): number {
  return duration.toMilliseconds() / 1000;
}

/** A size in MiB to four decimals (fetch and part sizes may be under 1 MiB). */
export function mebibytesOf(size: Size): number {
  return Number((size.toBytes() / 2 ** 20).toFixed(4));
}

/** A duration prop, in seconds, shown as CDK writes it ('1 minute'). */
export function durationProp(name: string, duration: Duration): Setting {
  return { name, value: secondsOf(duration), shown: duration.toHumanString() };
}

/** A size prop, in MiB. */
export function sizeProp(name: string, size: Size): Setting {
  const mib = mebibytesOf(size);
  return { name, value: mib, shown: `${mib} MiB` };
}

/** A number prop. */
export function numberProp(name: string, value: number): Setting {
  return { name, value, shown: String(value) };
}

/** A text prop, quoted in messages. */
export function textProp(name: string, value: string): Setting<string> {
  return { name, value, shown: `'${value}'` };
}
