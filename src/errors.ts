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

/** The stored state item cannot be read as pipeline state. It is left untouched for a person to inspect. */
export class StateCorruptError extends PullerError {
  readonly pipelineId: string;
  readonly problems: readonly string[];

  constructor(pipelineId: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `the state item of pipeline '${pipelineId}' is malformed and was left as it is: ${problems.join('; ')}`,
      options,
    );
    this.name = 'StateCorruptError';
    this.pipelineId = pipelineId;
    this.problems = problems;
  }
}

/** Another writer changed the state item since this run read it (optimistic concurrency lost). */
export class StateConflictError extends PullerError {
  readonly pipelineId: string;
  readonly expectedVersion: number | undefined;
  /** What is stored now, when the store could tell. */
  readonly current: unknown;

  constructor(
    pipelineId: string,
    expectedVersion: number | undefined,
    current: unknown,
    options: { cause?: unknown } = {},
  ) {
    super(
      `the state of pipeline '${pipelineId}' changed under this run (expected version ${expectedVersion ?? 'none'})`,
      { ...options, retriable: true },
    );
    this.name = 'StateConflictError';
    this.pipelineId = pipelineId;
    this.expectedVersion = expectedVersion;
    this.current = current;
  }
}

/** A source, sink or store could not be reached or answered with an error. */
export class ConnectionError extends PullerError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { retriable: true, ...options });
    this.name = 'ConnectionError';
  }
}

/** The topic does not exist on the cluster. */
export class TopicNotFoundError extends PullerError {
  readonly topic: string;

  constructor(topic: string, options: { cause?: unknown } = {}) {
    super(`topic '${topic}' does not exist (the puller does not create topics)`, options);
    this.name = 'TopicNotFoundError';
    this.topic = topic;
  }
}
