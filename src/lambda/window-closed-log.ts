// The log line of a closed window: one definition for the whole run and the finalize step.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ClosedWindow } from '../engine/run-types.js';

/** Logs a closed window's bounds, counts and manifest, and its table commit when it has one. */
export function logWindowClosed(
  logger: Logger,
  { manifest, manifestLocation, tableCommit }: ClosedWindow,
): void {
  logger.info('window closed', {
    window: `${manifest.window.start}/${manifest.window.end}`,
    records: manifest.totals.records,
    bytes: manifest.totals.bytes,
    lateRecords: manifest.totals.lateRecords,
    errorRecords: manifest.totals.errorRecords,
    manifest: manifestLocation,
    ...(tableCommit ? { tableCommit } : {}),
  });
}
