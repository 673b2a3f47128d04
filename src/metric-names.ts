// The names of the metrics the handler publishes: one list for the handler and the stack's alarms.

/** The metrics the handler emits (Powertools EMF), each with the dimensions `service` and `Topic`. */
export const PullerMetric = {
  RECORDS_WRITTEN: 'RecordsWritten',
  BYTES_WRITTEN: 'BytesWritten',
  WINDOWS_CLOSED: 'WindowsClosed',
  LATE_RECORDS: 'LateRecords',
  ERROR_RECORDS: 'ErrorRecords',
  /** Records between the saved offsets and the high watermarks at the end of a run. */
  CONSUMER_LAG: 'ConsumerLag',
  /** Records retention deleted before any run read them (lost to the pipeline); see the run's warning. */
  RETENTION_GAP_RECORDS: 'RetentionGapRecords',
  /** Seconds the newest closed window's end trails the clock. */
  NEWEST_WINDOW_AGE_SECONDS: 'NewestWindowAgeSeconds',
  /** AWS calls retried within a run (throttled, 5xx, reset, timed out): faults the run rode out. */
  AWS_RETRIES: 'AwsRetries',
  /** Runs that failed with an error a later run can overcome (see FailureKind). */
  TRANSIENT_FAILURES: 'TransientFailures',
  /** Runs that failed with an error only a person can fix: a setting, the state item, an operator mistake. */
  PERMANENT_FAILURES: 'PermanentFailures',
} as const;
/** A metric the handler emits. */
export type PullerMetric = (typeof PullerMetric)[keyof typeof PullerMetric];
