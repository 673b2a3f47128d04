// The errors that refuse what an operator did or asked for: a pipeline's state, output, consumer group or
// topic changed under it, or a reset that cannot be done as asked. Each is raised before anything is
// written and names the way out; what each asks for is declared with its class, as in ./errors.ts.
import type { TopicChange } from './core/topic-identity.js';
import { FailureKind, PullerError } from './errors.js';

/**
 * The bucket already holds manifests of this topic under the configured prefix, but the pipeline has no
 * state item: starting over would land every record again. Raised before anything is written.
 */
export class OrphanedOutputError extends PullerError {
  readonly pipelineId: string;
  /** A manifest found, as its sink location. */
  readonly existingManifest: string;

  constructor(pipelineId: string, existingManifest: string) {
    super(
      `pipeline '${pipelineId}' has no state item, but its output already holds windows (${existingManifest}): ` +
        "starting over would land them again. Restore the state item (the stack's table has point-in-time " +
        'recovery), or, to land the topic again on purpose, point OUTPUT_PREFIX at an empty prefix',
    );
    this.name = 'OrphanedOutputError';
    this.pipelineId = pipelineId;
    this.existingManifest = existingManifest;
  }
}

/**
 * The configured output (prefix or format) differs from the one the pipeline's state was written with:
 * windows would be split across two layouts. Raised before anything is written.
 */
export class OutputChangedError extends PullerError {
  readonly pipelineId: string;
  /** The layout (or a key) the state recorded, and what the current settings give in its place. */
  readonly recorded: string;
  readonly configured: string;

  constructor(pipelineId: string, recorded: string, configured: string) {
    super(
      `the output of pipeline '${pipelineId}' changed under it: its state recorded ${recorded} where the ` +
        `current OUTPUT_PREFIX, OUTPUT_FORMAT and COMPRESSION give ${configured}. Put the settings back, or start ` +
        'a new pipeline (a new KAFKA_GROUP_ID) for the new layout',
    );
    this.name = 'OutputChangedError';
    this.pipelineId = pipelineId;
    this.recorded = recorded;
    this.configured = configured;
  }
}

/**
 * The consumer group's committed offsets were moved outside the puller (for example reset by hand): the
 * saved state, not the group, says where the pipeline is, so the move would be silently undone.
 */
export class GroupOffsetsMovedError extends PullerError {
  readonly pipelineId: string;
  /** Per partition that differs: the saved next offset and the committed one. */
  readonly moved: ReadonlyArray<{ partition: number; saved: string; committed: string }>;

  constructor(
    pipelineId: string,
    moved: ReadonlyArray<{ partition: number; saved: string; committed: string }>,
  ) {
    const list = moved
      .map((m) => `partition ${m.partition}: saved ${m.saved}, committed ${m.committed}`)
      .join('; ');
    super(
      `the committed offsets of pipeline '${pipelineId}' were moved outside the puller (${list}). Commit the ` +
        'saved offsets back (kafka-consumer-groups --reset-offsets), or, to re-read on purpose, start a new ' +
        'pipeline (a new KAFKA_GROUP_ID with START_POSITION)',
    );
    this.name = 'GroupOffsetsMovedError';
    this.pipelineId = pipelineId;
    this.moved = moved;
  }
}

/**
 * The topic is not the one the pipeline's saved offsets were read from: the brokers belong to another
 * cluster, the topic was deleted and created again, or a saved offset is past its partition's end (a
 * truncated log). Reading on would skip every record below the saved offsets, silently. Raised before
 * anything is written; only a person can tell which records the pipeline should land.
 */
export class TopicChangedError extends PullerError {
  readonly pipelineId: string;
  readonly topic: string;
  /** What differs: the cluster's id, the topic's id, or saved offsets past the partitions' ends. */
  readonly change: TopicChange;

  constructor(pipelineId: string, topic: string, change: TopicChange) {
    const culprit =
      change.kind === 'cluster'
        ? `topic '${topic}' is not the topic pipeline '${pipelineId}' saved its offsets on: they were saved on ` +
          `cluster ${change.saved}, and the brokers belong to cluster ${change.current}. If KAFKA_BROKERS ` +
          'names the wrong cluster, put it back.'
        : change.kind === 'topic-id'
          ? `topic '${topic}' is not the topic pipeline '${pipelineId}' saved its offsets on: its id was ` +
            `${change.saved}, it is now ${change.current} (it was deleted and created again).`
          : `the saved offsets of pipeline '${pipelineId}' are past the end of topic '${topic}' (${change.partitions
              .map(
                (p) =>
                  `partition ${p.partition}: saved ${p.saved}, ${p.end === undefined ? 'gone' : `end ${p.end}`}`,
              )
              .join('; ')}): the topic was deleted and created again, or its log was truncated (an unclean ` +
            'leader election); reading on would skip the records below the saved offsets.';
    super(
      `${culprit} Nothing was written. To land the topic as it is now, start a new pipeline: a new ` +
        'KAFKA_GROUP_ID and a new OUTPUT_PREFIX (START_POSITION says where it begins); the windows landed ' +
        'so far stay as they are',
    );
    this.name = 'TopicChangedError';
    this.pipelineId = pipelineId;
    this.topic = topic;
    this.change = change;
  }
}

/** Why a reset was refused. */
export const ResetRefusal = {
  /** The pipeline has no state item: nothing to reset (a new pipeline starts where START_POSITION says). */
  NO_STATE: 'no-state',
  /** A run holds the pipeline's lease. */
  LEASE_HELD: 'lease-held',
  /** The batch interval is unknown, or not the one the state's windows were cut at. */
  INTERVAL: 'interval',
  /** The output named is not the one the state recorded. */
  OUTPUT: 'output',
  /** An offset asked for is not in the topic's log. */
  OFFSETS: 'offsets',
  /** The output already holds windows the next run would land again. */
  WINDOWS_LANDED: 'windows-landed',
  /** The pipeline's Iceberg table cannot be moved back with it: another writer committed after its windows. */
  TABLE: 'table',
} as const;
/** Why a reset was refused. */
export type ResetRefusal = (typeof ResetRefusal)[keyof typeof ResetRefusal];

/** A reset refused before anything was written; the message names the way out. */
export class ResetRefusedError extends PullerError {
  readonly pipelineId: string;
  /** Why it was refused; the message says what to do. */
  readonly reason: ResetRefusal;

  constructor(pipelineId: string, reason: ResetRefusal, message: string) {
    // Only a live run is a refusal that passes by itself: its lease ends with it.
    super(`cannot reset pipeline '${pipelineId}': ${message}`, {
      kind: reason === ResetRefusal.LEASE_HELD ? FailureKind.TRANSIENT : FailureKind.PERMANENT,
    });
    this.name = 'ResetRefusedError';
    this.pipelineId = pipelineId;
    this.reason = reason;
  }
}
