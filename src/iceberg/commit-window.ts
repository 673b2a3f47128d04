// Commits one closed window to an Iceberg table as one append snapshot, exactly once.
//
//   1. Load the table; if its history already holds the window, stop (a retried finalize, or a run that
//      died after its commit and before its state save).
//   2. Write the window's manifest (its data files), once.
//   3. Write a manifest list (the new manifest and every manifest of main's head) and commit the
//      snapshot, on condition that main is still at the head read.
//   4. On a conflict (409: another writer moved main), load again: if the window is there now, another
//      attempt committed it; otherwise go back to 3 on the new head.
//      On a lost answer (5xx, timeout), load again: if the window is there, the commit went through;
//      otherwise go back to 3. The condition on main makes a second snapshot of the window impossible
//      either way: a commit that did apply moved main, so its repeat cannot.
//
// An empty window commits nothing: a snapshot that adds no rows changes no reader's result, and a
// pipeline on an idle topic would otherwise write a snapshot (a metadata file, a manifest list, a catalog
// commit) for every window. The pipeline's state records that the window closed.
import { randomBytes, randomUUID } from 'node:crypto';
import { PullerError } from '../errors.js';
import {
  type DataFileEntry,
  decodeManifestList,
  encodeManifest,
  encodeManifestList,
  type ManifestListEntry,
} from './avro-files.js';
import {
  CommitAttemptsExhaustedError,
  CommitConflictError,
  CommitStateUnknownError,
} from './iceberg-errors.js';
import type { LoadedTable, MetadataFiles, TableCatalog, TableIdentifier, TableMetadata } from './ports.js';
import {
  type AddedFiles,
  appendCommit,
  type CommittedWindow,
  findCommittedWindow,
  mainSnapshotId,
  type WindowCommit,
  windowSnapshot,
} from './window-snapshot.js';

/** What commitWindow did. */
export type CommitWindowResult =
  /** This call committed the window as snapshot `snapshotId`. */
  | { readonly outcome: 'committed'; readonly snapshotId: string; readonly attempts: number }
  /** The table already held the window (committed by an earlier or a concurrent attempt); nothing was written. */
  | { readonly outcome: 'already-committed'; readonly found: CommittedWindow; readonly attempts: number }
  /** The window has no rows: no snapshot. */
  | { readonly outcome: 'empty' };

/** Settings of commitWindow. */
export interface CommitWindowOptions {
  /** Commits tried before giving up on a table other writers keep moving. @default 10 */
  readonly maxAttempts?: number;
  /** The first retry's wait, doubled each time up to 5 s, with full jitter. @default 100 */
  readonly backoffMs?: number;
  /** Epoch ms, for the snapshot's timestamp. @default Date.now */
  readonly now?: () => number;
  /** The table as loaded a moment ago (by ensureTable), to spare the first load. @default - loaded here */
  readonly current?: LoadedTable;
}

/** Where a commit reads and writes: the catalog, and the store of the table's metadata files. */
export interface IcebergIo {
  readonly catalog: TableCatalog;
  readonly files: MetadataFiles;
}

/** The table's state at a commit needs the table to be there; a finalize creates it first (ensureTable). */
class TableMissingError extends PullerError {
  constructor(table: TableIdentifier) {
    super(`Iceberg table ${[...table.namespace, table.name].join('.')} does not exist`);
    this.name = 'TableMissingError';
  }
}

/** A random positive 63-bit snapshot id, as Iceberg's writers draw them. */
function newSnapshotId(): string {
  return (randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn).toString();
}

function metadataFolder(metadata: TableMetadata): string {
  const configured = metadata.properties?.['write.metadata.path'];
  return (configured ?? `${metadata.location.replace(/\/+$/, '')}/metadata`).replace(/\/+$/, '');
}

/** Refuses tables this writer cannot append to correctly, before it writes anything. */
function checkWritable(table: TableIdentifier, metadata: TableMetadata): void {
  const spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id']);
  const problems = [
    ...(metadata['format-version'] === 2
      ? []
      : [`format version ${metadata['format-version']} (2 is written)`]),
    ...(spec && spec.fields.length === 0
      ? []
      : ['a partitioned default spec (windows are appended unpartitioned)']),
  ];
  if (problems.length > 0)
    throw new PullerError(
      `Iceberg table ${[...table.namespace, table.name].join('.')} cannot take windows: ${problems.join('; ')}`,
    );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Commits `dataFiles` as one append snapshot of `window` to `table` on main, exactly once (see the
 * file's comment). The table must exist.
 */
export async function commitWindow(
  io: IcebergIo,
  table: TableIdentifier,
  window: WindowCommit,
  dataFiles: readonly DataFileEntry[],
  options: CommitWindowOptions = {},
): Promise<CommitWindowResult> {
  if (dataFiles.length === 0) return { outcome: 'empty' };
  const maxAttempts = options.maxAttempts ?? 10;
  const now = options.now ?? Date.now;
  const load = async (): Promise<LoadedTable> => {
    const loaded = await io.catalog.loadTable(table);
    if (loaded === undefined) throw new TableMissingError(table);
    return loaded;
  };
  let { metadata } = options.current ?? (await load());
  const before = findCommittedWindow(metadata, window);
  if (before) return { outcome: 'already-committed', found: before, attempts: 0 };
  checkWritable(table, metadata);

  const folder = metadataFolder(metadata);
  const added: AddedFiles = {
    files: dataFiles.length,
    records: dataFiles.reduce((sum, f) => sum + f.records, 0),
    bytes: dataFiles.reduce((sum, f) => sum + f.bytes, 0),
  };
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
  const manifestPath = `${folder}/${randomUUID()}-m0.avro`;
  const manifest = encodeManifest(
    {
      schemaJson: JSON.stringify(schema),
      schemaId: metadata['current-schema-id'],
      partitionSpecJson: '[]',
      partitionSpecId: metadata['default-spec-id'],
    },
    dataFiles,
  );
  await io.files.write(manifestPath, manifest);

  const parentManifests = new Map<string, ManifestListEntry[]>();
  const manifestsOf = async (head: TableMetadata): Promise<ManifestListEntry[]> => {
    const headId = mainSnapshotId(head);
    const snapshot = head.snapshots?.find((s) => s['snapshot-id'] === headId);
    if (headId === undefined || snapshot === undefined) return [];
    let entries = parentManifests.get(headId);
    if (entries === undefined) {
      entries = await decodeManifestList(await io.files.read(snapshot['manifest-list']));
      parentManifests.set(headId, entries);
    }
    return entries;
  };

  let lastFailure: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const snapshotId = newSnapshotId();
    const sequenceNumber = metadata['last-sequence-number'] + 1;
    const manifestList = `${folder}/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
    const ours: ManifestListEntry = {
      manifest_path: manifestPath,
      manifest_length: BigInt(manifest.length),
      partition_spec_id: metadata['default-spec-id'],
      content: 0,
      sequence_number: BigInt(sequenceNumber),
      min_sequence_number: BigInt(sequenceNumber),
      added_snapshot_id: BigInt(snapshotId),
      added_files_count: added.files,
      existing_files_count: 0,
      deleted_files_count: 0,
      added_rows_count: BigInt(added.records),
      existing_rows_count: 0n,
      deleted_rows_count: 0n,
      partitions: [],
      key_metadata: null,
    };
    const parentId = mainSnapshotId(metadata);
    await io.files.write(
      manifestList,
      encodeManifestList({ snapshotId, parentId, sequenceNumber }, [ours, ...(await manifestsOf(metadata))]),
    );
    const snapshot = windowSnapshot(metadata, window, added, {
      id: snapshotId,
      manifestList,
      timestampMs: now(),
    });
    try {
      await io.catalog.commitTable(table, appendCommit(metadata, window, snapshot));
      return { outcome: 'committed', snapshotId, attempts: attempt };
    } catch (error) {
      if (!(error instanceof CommitConflictError || error instanceof CommitStateUnknownError)) throw error;
      lastFailure = error;
    }
    // Whether the commit lost or its answer did, the table as it is now says what happened.
    ({ metadata } = await load());
    const found = findCommittedWindow(metadata, window);
    if (found) {
      return 'snapshot' in found && found.snapshot['snapshot-id'] === snapshotId
        ? { outcome: 'committed', snapshotId, attempts: attempt }
        : { outcome: 'already-committed', found, attempts: attempt };
    }
    checkWritable(table, metadata);
    if (lastFailure instanceof CommitConflictError && attempt < maxAttempts) {
      const capMs = Math.min(5000, (options.backoffMs ?? 100) * 2 ** (attempt - 1));
      await sleep(Math.random() * capMs);
    }
  }
  throw new CommitAttemptsExhaustedError(table, maxAttempts, { cause: lastFailure });
}
