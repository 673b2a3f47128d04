// The consumer group's committed offsets, read and written from outside the group: the source is no
// member of it (see kafka-source.ts), so it commits as Java's assign()-mode consumer and AdminClient do.
import type { Admin } from 'kafkajs';
import { FailureKind, failureKindOf, GroupHasMembersError, PullerError } from '../errors.js';
import { isGroupHasMembers, kafkaConnectionError } from './kafka-errors.js';
import { findGroupCoordinator, type InternalCluster } from './kafkajs-internals.js';

/** Where the group's offsets are kept, and the connections to reach them. */
export interface GroupOffsetsOptions {
  readonly topic: string;
  readonly groupId: string;
  /** The cluster to commit through, connected. */
  readonly cluster: () => Promise<InternalCluster>;
  /** The admin client to read offsets through, connected. */
  readonly admin: () => Promise<Admin>;
}

/** One topic's committed offsets in one consumer group. */
export class GroupOffsets {
  constructor(private readonly options: GroupOffsetsOptions) {}

  /** Commits these next offsets as a non-member; fails while the group has members. */
  async commit(positions: ReadonlyMap<number, string>): Promise<void> {
    if (positions.size === 0) return;
    const { topic, groupId } = this.options;
    const cluster = await this.options.cluster();
    const topics = [
      {
        topic,
        partitions: [...positions].map(([partition, offset]) => ({ partition, offset })),
      },
    ];
    try {
      await cluster.retrier(async (bail) => {
        try {
          const coordinator = await findGroupCoordinator(cluster, groupId);
          // Generation -1 and no member id: a commit from outside the group, as Java's assign()-mode
          // consumer and AdminClient send. The coordinator takes it while the group has no members.
          await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: '', topics });
        } catch (error) {
          if (isGroupHasMembers(error)) {
            bail(new GroupHasMembersError(groupId, { cause: error }));
            return;
          }
          // A coordinator that moved, is not there yet or is loading the group, a lost connection, a
          // timeout: retried, each attempt asking for the coordinator again.
          if (failureKindOf(error) === FailureKind.TRANSIENT) throw error;
          bail(error as Error);
        }
      });
    } catch (error) {
      if (error instanceof PullerError) throw error;
      throw kafkaConnectionError(`cannot commit offsets to consumer group '${groupId}'`, error);
    }
  }

  /**
   * The group's committed next offsets, for the partitions that have one. A coordinator that is loading
   * the group (a broker just started), moving or not there yet is asked again, as a commit is.
   */
  async committed(): Promise<Map<number, string>> {
    const { topic, groupId } = this.options;
    const admin = await this.options.admin();
    const cluster = await this.options.cluster();
    try {
      const [offsets] = await cluster.retrier(async (bail) => {
        try {
          return await admin.fetchOffsets({ groupId, topics: [topic] });
        } catch (error) {
          if (failureKindOf(error) === FailureKind.TRANSIENT) throw error;
          bail(error as Error);
          return [];
        }
      });
      // -1: the group has no offset for that partition.
      return new Map(
        (offsets?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, p.offset]),
      );
    } catch (error) {
      if (error instanceof PullerError) throw error;
      throw kafkaConnectionError(`cannot read the committed offsets of consumer group '${groupId}'`, error);
    }
  }
}
