// A pipeline's settings as the layout of its parts.
import type { PullerConfig } from '../config.js';
import { rowGroupBytesFor } from './parquet-part-writer.js';
import type { PartLayout } from './part-writer.js';

/** How this pipeline's records become rows. */
export function partLayoutOf(config: PullerConfig): PartLayout {
  return {
    format: config.format,
    keyFormat: config.keyFormat,
    valueFormat: config.valueFormat,
    columns: config.columns,
    rowGroupBytes: rowGroupBytesFor(config.partSizeBytes),
    compressionLevel: config.compressionLevel,
  };
}
