// The puller's error classes: one base, each subclass carrying the context that explains it.

/** Base class of every error the puller raises on purpose. `retriable` says whether a later run can succeed. */
export class PullerError extends Error {
  /** Whether running again, unchanged, may succeed (a busy broker) or cannot (a bad setting). */
  readonly retriable: boolean;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PullerError';
    this.retriable = options.retriable ?? false;
  }
}

/** A setting is missing or invalid. Raised before any state is read or written. */
export class ConfigError extends PullerError {
  /** Every problem found, each naming its setting. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
