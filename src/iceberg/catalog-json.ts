// JSON of the Iceberg REST protocol with its 64-bit snapshot ids intact. Pure.
//
// Snapshot ids are random 63-bit numbers (Java's writers draw them from a UUID), past what a JavaScript
// number holds exactly: JSON.parse would round them, and a commit asserting a rounded id would conflict
// forever. Parsing quotes them first, so they arrive as decimal strings; serializing unquotes them.
// (JSON.parse's access to the source text would do this too, but not on Node 20.)

/** The keys whose values are snapshot ids. */
const ID_KEYS = 'snapshot-id|parent-snapshot-id|current-snapshot-id';
const BARE_ID = new RegExp(`("(?:${ID_KEYS})"\\s*:\\s*)(-?\\d+)`, 'g');
const QUOTED_ID = new RegExp(`("(?:${ID_KEYS})"\\s*:\\s*)"(-?\\d+)"`, 'g');

/** Parses a catalog's JSON answer, snapshot ids as decimal strings. */
export function parseCatalogJson(text: string): unknown {
  return JSON.parse(text.replace(BARE_ID, '$1"$2"'));
}

/** Serializes a request for a catalog, snapshot ids (decimal strings) as JSON numbers. */
export function stringifyCatalogJson(value: unknown): string {
  return JSON.stringify(value).replace(QUOTED_ID, '$1$2');
}
