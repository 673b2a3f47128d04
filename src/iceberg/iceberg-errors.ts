// The errors of an Iceberg commit, each saying whether a retry can help (see FailureKind).
import { FailureKind, PullerError } from '../errors.js';
import type { TableIdentifier } from './ports.js';

const nameOf = (table: TableIdentifier) => [...table.namespace, table.name].join('.');

/** A commit to a table that did not go through, or whose fate is unknown: the next try can help. */
abstract class TableCommitError extends PullerError {
  readonly table: TableIdentifier;

  constructor(table: TableIdentifier, what: string, detail: string, options: { cause?: unknown }) {
    super(`the commit to Iceberg table ${nameOf(table)} ${what}: ${detail}`, {
      ...options,
      kind: FailureKind.TRANSIENT,
    });
    this.table = table;
  }
}

/** A commit's requirement no longer held: another writer committed to the table first (HTTP 409). */
export class CommitConflictError extends TableCommitError {
  constructor(table: TableIdentifier, detail: string, options: { cause?: unknown } = {}) {
    super(table, 'lost to another writer', detail, options);
    this.name = 'CommitConflictError';
  }
}

/**
 * No answer came back for a commit (a 5xx, a timeout, a lost connection): it may have been applied or
 * not. Only the table's metadata, read again, can tell.
 */
export class CommitStateUnknownError extends TableCommitError {
  constructor(table: TableIdentifier, detail: string, options: { cause?: unknown } = {}) {
    super(table, 'got no answer, so it may or may not be applied', detail, options);
    this.name = 'CommitStateUnknownError';
  }
}

/** The catalog answered a request with an error other than a commit conflict. */
export class CatalogRequestError extends PullerError {
  /** The HTTP status, or 0 when no answer came back. */
  readonly status: number;

  constructor(request: string, status: number, detail: string, options: { cause?: unknown } = {}) {
    const retriable = status === 0 || status === 429 || status >= 500;
    super(`Iceberg catalog request ${request} failed${status ? ` with HTTP ${status}` : ''}: ${detail}`, {
      ...options,
      kind: retriable ? FailureKind.TRANSIENT : FailureKind.PERMANENT,
    });
    this.name = 'CatalogRequestError';
    this.status = status;
  }
}

/** The table's schema does not fit the columns the puller writes, and evolving it cannot fix that. */
export class TableSchemaMismatchError extends PullerError {
  readonly table: TableIdentifier;
  readonly problems: readonly string[];

  constructor(table: TableIdentifier, problems: readonly string[]) {
    super(
      `Iceberg table ${nameOf(table)} does not fit the columns this pipeline writes: ${problems.join('; ')}`,
    );
    this.name = 'TableSchemaMismatchError';
    this.table = table;
    this.problems = problems;
  }
}

/** A commit kept losing to other writers until its attempts ran out. */
export class CommitAttemptsExhaustedError extends TableCommitError {
  constructor(table: TableIdentifier, attempts: number, options: { cause?: unknown } = {}) {
    super(table, 'did not go through', `${attempts} attempts lost to other writers`, options);
    this.name = 'CommitAttemptsExhaustedError';
  }
}
