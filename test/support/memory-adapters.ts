// The engine's three ports held in memory, for runs at a scale no test broker serves (thousands of
// partitions): a source whose partitions hold given records, a sink that keeps objects, and a store
// whose writes are conditional on the version as DynamoDB's are. The engine runs unchanged over them.

import { shareKey } from '../../src/core/partition-share.js';
import type { PipelineState } from '../../src/core/pipeline-state.js';
import type { TopicIdentity } from '../../src/core/topic-identity.js';
import { StateConflictError } from '../../src/errors.js';
import type {
  BatchSink,
  ObjectUpload,
  PartitionBounds,
  RecordSource,
  ShareWrite,
  ShareWriteResult,
  SourceBatch,
  SourceRecord,
  StateStore,
  VersionedShare,
  VersionedState,
} from '../../src/ports.js';

/** A topic in memory: each partition's records, from its low offset on, in offset order. */
export interface MemoryTopic {
  readonly partitions: ReadonlyMap<number, { readonly low: bigint; readonly timestamps: readonly number[] }>;
  /** The consumer group's committed offsets, shared by every source of the topic. */
  readonly committed: Map<number, string>;
}

/** A source over `topic`: every poll returns what the fetched partitions hold past their positions. */
export class MemorySource implements RecordSource {
  /** The brokers of an emulated topic say no ids. */
  async topicIdentity(): Promise<TopicIdentity> {
    return {};
  }

  private readonly positions = new Map<number, bigint>();

  constructor(private readonly topic: MemoryTopic) {}

  async partitionBounds(): Promise<PartitionBounds[]> {
    return [...this.topic.partitions].map(([partition, { low, timestamps }]) => ({
      partition,
      low: String(low),
      high: String(low + BigInt(timestamps.length)),
    }));
  }

  async offsetsForTime(timestampMs: number): Promise<Map<number, string>> {
    const offsets = new Map<number, string>();
    for (const [partition, { low, timestamps }] of this.topic.partitions) {
      const index = timestamps.findIndex((ts) => ts >= timestampMs);
      offsets.set(partition, String(low + BigInt(index === -1 ? timestamps.length : index)));
    }
    return offsets;
  }

  async start(positions: ReadonlyMap<number, string>): Promise<void> {
    this.resume(positions);
  }

  async poll(maxWaitMs: number): Promise<SourceBatch[]> {
    const batches: SourceBatch[] = [];
    for (const [partition, position] of this.positions) {
      const { low, timestamps } = this.topic.partitions.get(partition) ?? { low: 0n, timestamps: [] };
      const records: SourceRecord[] = [];
      for (let offset = position; offset < low + BigInt(timestamps.length); offset++) {
        records.push({
          partition,
          offset: String(offset),
          timestampMs: timestamps[Number(offset - low)] as number,
          key: null,
          value: Buffer.from(`v-${partition}-${offset}`),
          headers: [],
        });
      }
      if (records.length === 0) continue;
      const nextOffset = low + BigInt(timestamps.length);
      this.positions.set(partition, nextOffset);
      batches.push({ partition, records, nextOffset: String(nextOffset) });
    }
    // Nothing new: wait as a broker would, briefly, so a polling loop does not spin.
    if (batches.length === 0) await new Promise((resolve) => setTimeout(resolve, Math.min(maxWaitMs, 20)));
    return batches;
  }

  pause(partitions: readonly number[]): SourceBatch[] {
    for (const partition of partitions) this.positions.delete(partition);
    return [];
  }

  resume(positions: ReadonlyMap<number, string>): void {
    for (const [partition, offset] of positions) this.positions.set(partition, BigInt(offset));
  }

  async commit(positions: ReadonlyMap<number, string>): Promise<void> {
    for (const [partition, offset] of positions) this.topic.committed.set(partition, offset);
  }

  async committedOffsets(): Promise<Map<number, string>> {
    return new Map(this.topic.committed);
  }

  async close(): Promise<void> {}
}

/** A sink that keeps every finished object's bytes by key. */
export class MemorySink implements BatchSink {
  readonly objects = new Map<string, Buffer>();

  openObject(key: string): ObjectUpload {
    const chunks: Buffer[] = [];
    return {
      write: async (chunk) => {
        chunks.push(chunk);
      },
      complete: async () => {
        this.objects.set(key, Buffer.concat(chunks));
      },
      abort: async () => {},
    };
  }

  async putObject(key: string, body: Buffer): Promise<void> {
    this.objects.set(key, body);
  }

  locate(key: string): string {
    return `memory:///${key}`;
  }

  async findKey(prefix: string, suffix: string): Promise<string | undefined> {
    return [...this.objects.keys()].find((key) => key.startsWith(`${prefix}/`) && key.endsWith(suffix));
  }
}

/**
 * A store of one item per pipeline and one per share; a write is refused unless the stored version is
 * the one given.
 */
export class MemoryStore implements StateStore {
  private readonly items = new Map<string, VersionedState>();
  private readonly shares = new Map<string, VersionedShare>();

  async loadShares(
    pipelineId: string,
    pendingId: string,
    partitions: readonly number[],
  ): Promise<Map<number, VersionedShare>> {
    const found = new Map<number, VersionedShare>();
    for (const partition of partitions) {
      const share = this.shares.get(shareKey(pipelineId, pendingId, partition));
      if (share) found.set(partition, structuredClone(share));
    }
    return found;
  }

  async saveShares(
    pipelineId: string,
    pendingId: string,
    writes: readonly ShareWrite[],
  ): Promise<ShareWriteResult[]> {
    return writes.map(({ share, expectedVersion }) => {
      const key = shareKey(pipelineId, pendingId, share.partition);
      const current = this.shares.get(key);
      if (current?.version !== expectedVersion) return { conflict: current && structuredClone(current) };
      const written = { share: structuredClone(share), version: (expectedVersion ?? 0) + 1 };
      this.shares.set(key, written);
      return { written: structuredClone(written) };
    });
  }

  async load(pipelineId: string): Promise<VersionedState | undefined> {
    const item = this.items.get(pipelineId);
    return item && structuredClone(item);
  }

  async save(pipelineId: string, state: PipelineState, expectedVersion: number | undefined): Promise<number> {
    const current = this.items.get(pipelineId);
    if (current?.version !== expectedVersion) {
      throw new StateConflictError(pipelineId, expectedVersion, current && structuredClone(current.state));
    }
    const version = (expectedVersion ?? 0) + 1;
    this.items.set(pipelineId, { state: structuredClone(state), version });
    return version;
  }
}
