// The AWS clients the tests use to arrange and check (creating buckets and tables, reading output back,
// deleting a state item on purpose) are marked here, so that the IAM audit records only the requests the
// engine, the handler and the steps send. A document client built on a marked client shares its config,
// so it is marked too.

const MARKED = Symbol.for('kafka-batch-puller.test.arrangement-clients');

function marked(): WeakSet<object> {
  const registry = globalThis as { [MARKED]?: WeakSet<object> };
  registry[MARKED] ??= new WeakSet();
  return registry[MARKED];
}

/** An AWS SDK client, as far as the marking needs it. */
export interface MarkableClient {
  readonly config: object;
}

/** Marks `client` as the tests' own: the IAM audit does not record its requests. Answers it. */
export function forArrangement<T extends MarkableClient>(client: T): T {
  marked().add(client.config);
  return client;
}

/** Whether `client` was marked with `forArrangement`. */
export function isArrangement(client: MarkableClient): boolean {
  return marked().has(client.config);
}

const ORIGINAL_FETCH = Symbol.for('kafka-batch-puller.test.original-fetch');

/** Keeps the process's fetch as it was before the IAM audit's recorder wrapped it. */
export function keepOriginalFetch(original: typeof fetch): void {
  (globalThis as { [ORIGINAL_FETCH]?: typeof fetch })[ORIGINAL_FETCH] ??= original;
}

/**
 * fetch for the tests' own Iceberg catalog clients (arranging a table, committing as another writer):
 * the IAM audit does not record its requests.
 */
export const arrangementFetch: typeof fetch = (input, init) =>
  ((globalThis as { [ORIGINAL_FETCH]?: typeof fetch })[ORIGINAL_FETCH] ?? fetch)(input, init);
