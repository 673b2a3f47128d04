// Whether the topic a pipeline reads is still the one its saved offsets were read from. Pure: no I/O.
// An offset means something only in the log it was read from. After the topic is deleted and created
// again, the brokers changed for another cluster (a migration), or the log was truncated (an unclean
// leader election), reading on from the saved offsets would skip every record below them, silently, and
// show no lag.
import type { PipelineState } from './pipeline-state.js';

/** Which topic, on which cluster: each part absent where the brokers do not say. */
export type TopicIdentity = NonNullable<PipelineState['topicIdentity']>;

/** A partition whose saved offset is past its end; `end` undefined when the partition is gone. */
export interface OffsetPastEnd {
  readonly partition: number;
  readonly saved: string;
  readonly end: string | undefined;
}

/** Why the saved offsets do not belong to the topic as it is now. */
export type TopicChange =
  | { readonly kind: 'cluster'; readonly saved: string; readonly current: string }
  | { readonly kind: 'topic-id'; readonly saved: string; readonly current: string }
  | { readonly kind: 'offsets-past-end'; readonly partitions: readonly OffsetPastEnd[] };

/**
 * Compares what the state recorded with the topic now: its cluster id, then its id (when both sides
 * know them), then every saved offset with its partition's end (the next offset to be written: a saved
 * offset is never past it, since reading stops there). The first difference found, or undefined.
 */
export function topicChangeOf(
  state: PipelineState,
  current: TopicIdentity,
  ends: ReadonlyArray<{ readonly partition: number; readonly high: string }>,
): TopicChange | undefined {
  const saved = state.topicIdentity ?? {};
  if (saved.clusterId && current.clusterId && saved.clusterId !== current.clusterId)
    return { kind: 'cluster', saved: saved.clusterId, current: current.clusterId };
  if (saved.topicId && current.topicId && saved.topicId !== current.topicId)
    return { kind: 'topic-id', saved: saved.topicId, current: current.topicId };
  const endOf = new Map(ends.map((b) => [String(b.partition), b.high]));
  const past: OffsetPastEnd[] = [];
  for (const [partition, offset] of Object.entries(state.offsets)) {
    const end = endOf.get(partition);
    // Kafka never removes a partition: one that is gone belongs to a topic created again with fewer.
    if (end === undefined || BigInt(offset) > BigInt(end))
      past.push({ partition: Number(partition), saved: offset, end });
  }
  if (past.length === 0) return undefined;
  return { kind: 'offsets-past-end', partitions: past.sort((a, b) => a.partition - b.partition) };
}

/** What to record: the identity seen now, with what was recorded before for any part it does not say. */
export function recordedIdentity(saved: TopicIdentity | undefined, current: TopicIdentity): TopicIdentity {
  return {
    ...saved,
    ...(current.clusterId ? { clusterId: current.clusterId } : {}),
    ...(current.topicId ? { topicId: current.topicId } : {}),
  };
}
