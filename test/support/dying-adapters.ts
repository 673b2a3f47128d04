// Test adapters that make a run die at a chosen step boundary, the way a killed process would: the
// step's write goes through, then every later call to the store, the sink and the source fails, so no
// clean-up write lands either. The engine carries no test code for this.
import type { PartitionShare } from '../../src/core/partition-share.js';
import type { PipelineState } from '../../src/core/pipeline-state.js';
import type { BatchSink, RecordSource, ShareWrite, StateStore, WindowTable } from '../../src/ports.js';

/** What every call of a dead run's adapters throws. */
export class ProcessDied extends Error {
  constructor(readonly step: string) {
    super(`process died after ${step}`);
    this.name = 'ProcessDied';
  }
}

/** A step boundary: the write after which (or, for the `-ing` kinds, instead of which) the process dies. */
export type DeathStep =
  | { readonly kind: 'pending-recorded' }
  | { readonly kind: 'part-written'; readonly occurrence: number }
  | { readonly kind: 'manifest-written'; readonly occurrence: number }
  | { readonly kind: 'state-saved' }
  /** As the Nth part object would complete: it never becomes visible. */
  | { readonly kind: 'part-completing'; readonly occurrence: number }
  /** As the first save that records a partition's end offset would go through: it does not. */
  | { readonly kind: 'end-recording' }
  /** Right after the first save that records a partition's end offset, before that partition's last part. */
  | { readonly kind: 'end-recorded' }
  /** Right after an object completes once an end offset is recorded (a last part), before it is recorded. */
  | { readonly kind: 'last-part-completed' }
  /** As the manifest would be written: it is not. */
  | { readonly kind: 'manifest-writing' }
  /** As the offsets would be committed: they are not. */
  | { readonly kind: 'committing' }
  /** Right after the Nth window's commit to the pipeline's table went through, before its state is saved. */
  | { readonly kind: 'table-committed'; readonly occurrence: number };

/** A step's label for messages. */
export function stepLabel(step: DeathStep): string {
  return 'occurrence' in step ? `${step.kind} #${step.occurrence}` : step.kind;
}

/** What a write of the pipeline's item, or of shares, did, compared with what was there before. */
export interface SaveChange {
  /** The window's first end offsets were recorded. */
  readonly recordedEndOffsets: boolean;
  /** More partitions have a recorded end than before. */
  readonly addedEnd: boolean;
  readonly addedPart: boolean;
  readonly closedWindow: boolean;
}

const NO_CHANGE: SaveChange = {
  recordedEndOffsets: false,
  addedEnd: false,
  addedPart: false,
  closedWindow: false,
};

/** Compares two consecutive saved states of the pipeline's item. */
export function saveChange(before: PipelineState | undefined, after: PipelineState): SaveChange {
  return { ...NO_CHANGE, closedWindow: after.windowsClosed > (before?.windowsClosed ?? 0) };
}

/**
 * The real store, calling `beforeSave` before each write (of the item, or of a call's shares) and
 * `onSave` after each that went through.
 */
export function watchedStore(
  store: StateStore,
  onSave: (change: SaveChange) => void,
  beforeSave: (change: SaveChange) => void = () => {},
): StateStore {
  let last: PipelineState | undefined;
  /** The shares last seen, by pending id and partition. */
  const shares = new Map<string, PartitionShare>();
  /** Pending windows with an end recorded. */
  const ending = new Set<string>();
  const shareChange = (pendingId: string, writes: readonly ShareWrite[]): SaveChange => {
    const before = (w: ShareWrite) => shares.get(`${pendingId}#${w.share.partition}`);
    const addedEnd = writes.some((w) => w.share.endOffset !== null && before(w)?.endOffset == null);
    return {
      ...NO_CHANGE,
      addedEnd,
      recordedEndOffsets: addedEnd && !ending.has(pendingId),
      addedPart: writes.some((w) => w.share.parts.length > (before(w)?.parts.length ?? 0)),
    };
  };
  return {
    load: async (id) => {
      const loaded = await store.load(id);
      last = loaded?.state;
      return loaded;
    },
    save: async (id, state, version) => {
      beforeSave(saveChange(last, state));
      const saved = await store.save(id, state, version);
      onSave(saveChange(last, state));
      last = state;
      return saved;
    },
    loadShares: async (id, pendingId, partitions) => {
      const loaded = await store.loadShares(id, pendingId, partitions);
      for (const [partition, { share }] of loaded) {
        shares.set(`${pendingId}#${partition}`, share);
        if (share.endOffset !== null) ending.add(pendingId);
      }
      return loaded;
    },
    saveShares: async (id, pendingId, writes) => {
      beforeSave(shareChange(pendingId, writes));
      const results = await store.saveShares(id, pendingId, writes);
      const written = writes.filter((_, index) => results[index] && 'written' in (results[index] ?? {}));
      onSave(shareChange(pendingId, written));
      for (const w of written) {
        shares.set(`${pendingId}#${w.share.partition}`, w.share);
        if (w.share.endOffset !== null) ending.add(pendingId);
      }
      return results;
    },
  };
}

/** One run's adapters (and its table, when it has one), wrapped so the run dies right after `step`. */
export function dyingAdapters(
  step: DeathStep,
  adapters: { store: StateStore; sink: BatchSink; source: RecordSource; table?: WindowTable },
): { store: StateStore; sink: BatchSink; source: RecordSource; table?: WindowTable; died: () => boolean } {
  let dead = false;
  let seen = 0;
  const label = stepLabel(step);
  const alive = () => {
    if (dead) throw new ProcessDied(label);
  };
  /** `call`, failing once the process is dead (a promise rejects rather than throws). */
  const guard =
    <A extends unknown[], R>(call: (...args: A) => R) =>
    (...args: A): R => {
      alive();
      return call(...args);
    };
  const count = (matches: boolean) => {
    if (matches && ++seen === ('occurrence' in step ? step.occurrence : 1)) dead = true;
  };
  /** Whether this process has recorded an end offset: an object completed after it is a last part. */
  let endRecorded = false;
  const store = watchedStore(
    adapters.store,
    (change) => {
      endRecorded ||= change.addedEnd;
      if (step.kind === 'pending-recorded') count(change.recordedEndOffsets);
      if (step.kind === 'part-written') count(change.addedPart);
      if (step.kind === 'state-saved') count(change.closedWindow);
      if (step.kind === 'end-recorded') count(change.addedEnd);
    },
    (change) => {
      if (step.kind === 'end-recording') count(change.addedEnd);
      alive();
    },
  );
  const { sink, source, table } = adapters;
  return {
    died: () => dead,
    ...(table
      ? {
          table: {
            commitWindow: async (window) => {
              alive();
              const outcome = await table.commitWindow(window);
              if (step.kind === 'table-committed') count(outcome !== 'empty');
              alive();
              return outcome;
            },
          },
        }
      : {}),
    store: {
      load: async (id) => guard(() => store.load(id))(),
      save: async (id, state, version) => guard(() => store.save(id, state, version))(),
      loadShares: async (id, pendingId, partitions) =>
        guard(() => store.loadShares(id, pendingId, partitions))(),
      saveShares: async (id, pendingId, writes) => guard(() => store.saveShares(id, pendingId, writes))(),
    },
    sink: {
      openObject: (key, contentType) => {
        alive();
        const upload = sink.openObject(key, contentType);
        return {
          write: async (chunk) => guard(() => upload.write(chunk))(),
          complete: async (written, options) => {
            if (step.kind === 'part-completing') count(true);
            await guard(() => upload.complete(written, options))();
            if (step.kind === 'last-part-completed') count(endRecorded);
          },
          // A dead process aborts nothing; what it left is aborted by the bucket's lifecycle rule.
          abort: async () => {
            alive();
            await upload.abort();
          },
        };
      },
      putObject: async (key, body, contentType) => {
        if (step.kind === 'manifest-writing') count(key.endsWith('_manifest.json'));
        alive();
        await sink.putObject(key, body, contentType);
        if (step.kind === 'manifest-written') count(key.endsWith('_manifest.json'));
      },
      locate: (key) => sink.locate(key),
      findKey: async (prefix, suffix) => guard(() => sink.findKey(prefix, suffix))(),
    },
    source: {
      partitionBounds: async () => guard(() => source.partitionBounds())(),
      topicIdentity: async () => guard(() => source.topicIdentity())(),
      offsetsForTime: async (ms) => guard((t: number) => source.offsetsForTime(t))(ms),
      start: async (positions) => guard(() => source.start(positions))(),
      poll: async (ms) => guard(() => source.poll(ms))(),
      pause: (partitions) => guard(() => source.pause(partitions))(),
      resume: (positions) => guard(() => source.resume(positions))(),
      commit: async (positions) => {
        if (step.kind === 'committing') count(true);
        await guard(() => source.commit(positions))();
      },
      committedOffsets: async () => guard(() => source.committedOffsets())(),
      // The connection goes with the process; closing it here only frees the test's resources.
      close: () => source.close(),
    },
  };
}
