// The names of the metrics the handler publishes: one list for the handler and the stack's alarms.

/** The metrics the handler emits (Powertools EMF), each with the dimensions `service` and `Topic`. */
export const PullerMetric = {
  recordsWritten: 'RecordsWritten',
  bytesWritten: 'BytesWritten',
  windowsClosed: 'WindowsClosed',
  lateRecords: 'LateRecords',
  errorRecords: 'ErrorRecords',
  /** Records between the saved offsets and the high watermarks at the end of a run. */
  consumerLag: 'ConsumerLag',
  /** Seconds the newest closed window's end trails the clock. */
  newestWindowAgeSeconds: 'NewestWindowAgeSeconds',
} as const;
/** A metric the handler emits. */
export type PullerMetric = (typeof PullerMetric)[keyof typeof PullerMetric];
