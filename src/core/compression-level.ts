// Which compression levels an NDJSON object may be written at, and the level each codec uses unless told.
// Pure: no I/O.
import type { SettingRange } from './setting-rules.js';

/** The levels a codec takes and the one it uses by default. */
export type LevelRange = SettingRange;

/**
 * The codecs with a level. gzip's 6 is zlib's own default; zstd's 3 is zstd's own default (and the
 * level Athena writes). zstd stops at 19: 20–22 ("ultra") need far more memory for little gain.
 */
export const COMPRESSION_LEVELS = {
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 19, default: 3 },
} as const satisfies Record<string, LevelRange>;

/** A codec that takes a level. */
export type LeveledCodec = keyof typeof COMPRESSION_LEVELS;

/** Whether `codec` takes a level (NDJSON's gzip and zstd do; none and Parquet's codecs do not). */
export function isLeveledCodec(codec: string): codec is LeveledCodec {
  return Object.hasOwn(COMPRESSION_LEVELS, codec);
}

/**
 * What is wrong with writing `format` objects compressed with `codec` at `level`, or undefined when
 * nothing is; `setting` names the level's setting in the message.
 */
export function compressionLevelProblem(
  setting: string,
  level: number,
  codec: string,
  format: string,
): string | undefined {
  if (format !== 'ndjson') {
    return `${setting} applies to NDJSON objects (gzip 1–9, zstd 1–19); Parquet's ${codec} codec has no level setting here`;
  }
  if (!isLeveledCodec(codec)) {
    return `${setting} applies to gzip (1–9) and zstd (1–19); compression ${codec} has no level`;
  }
  const range = COMPRESSION_LEVELS[codec];
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    return `${setting} must be a whole number from ${range.min} to ${range.max} for ${codec} (got ${level})`;
  }
  return undefined;
}
