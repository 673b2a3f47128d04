// Saved offsets belong to one topic's log on one cluster: the check compares what the state recorded with
// the topic as it is now, before a run writes anything. Pure: no broker, no emulator.
import { describe, expect, it } from 'vitest';
import { newPipelineState, type PipelineState } from '../../src/core/pipeline-state.js';
import { recordedIdentity, type TopicIdentity, topicChangeOf } from '../../src/core/topic-identity.js';

const RECORDED: TopicIdentity = { clusterId: 'cluster-a', topicId: 'topic-1' };
const ENDS = [
  { partition: 0, high: '100' },
  { partition: 1, high: '50' },
];

function saved(offsets: Record<string, string>, topicIdentity?: TopicIdentity): PipelineState {
  return { ...newPipelineState('g', 'orders', 0), offsets, ...(topicIdentity ? { topicIdentity } : {}) };
}

describe('topic identity', () => {
  it.each([
    ['the same ids, offsets within the log', RECORDED, RECORDED, { 0: '100', 1: '7' }],
    ['no ids recorded (an older item)', undefined, RECORDED, { 0: '100', 1: '50' }],
    ['ids the brokers do not tell', RECORDED, {}, { 0: '0' }],
    ['a topic id only one side knows', { clusterId: 'cluster-a' }, RECORDED, { 1: '50' }],
    ['no saved offsets (a new pipeline)', undefined, RECORDED, {}],
  ] as const)('accepts %s', (_case, recorded, current, offsets) => {
    expect(topicChangeOf(saved(offsets, recorded), current, ENDS)).toBeUndefined();
  });

  it('names another cluster first, whatever else differs', () => {
    const state = saved({ 0: '500' }, RECORDED);
    expect(topicChangeOf(state, { clusterId: 'cluster-b', topicId: 'topic-2' }, ENDS)).toEqual({
      kind: 'cluster',
      saved: 'cluster-a',
      current: 'cluster-b',
    });
  });

  it('names a topic created again by its ids, even when the new log is longer', () => {
    const state = saved({ 0: '3' }, RECORDED);
    expect(topicChangeOf(state, { clusterId: 'cluster-a', topicId: 'topic-2' }, ENDS)).toEqual({
      kind: 'topic-id',
      saved: 'topic-1',
      current: 'topic-2',
    });
  });

  it('names every saved offset past its partition’s end, and every partition gone', () => {
    const state = saved({ 0: '101', 1: '50', 2: '9', 10: '4' }, RECORDED);
    expect(topicChangeOf(state, RECORDED, ENDS)).toEqual({
      kind: 'offsets-past-end',
      partitions: [
        { partition: 0, saved: '101', end: '100' },
        { partition: 2, saved: '9', end: undefined },
        { partition: 10, saved: '4', end: undefined },
      ],
    });
  });

  it('compares offsets as 64-bit numbers, not as text', () => {
    const state = saved({ 0: '9007199254740993' }, RECORDED);
    expect(topicChangeOf(state, RECORDED, [{ partition: 0, high: '9007199254740992' }])).toMatchObject({
      kind: 'offsets-past-end',
    });
    expect(topicChangeOf(state, RECORDED, [{ partition: 0, high: '10000000000000000' }])).toBeUndefined();
  });

  it('records what the brokers tell now, keeping what was recorded for what they do not', () => {
    expect(recordedIdentity(undefined, RECORDED)).toEqual(RECORDED);
    expect(recordedIdentity(RECORDED, { clusterId: 'cluster-a' })).toEqual(RECORDED);
    expect(recordedIdentity({ clusterId: 'cluster-a' }, { topicId: 'topic-1' })).toEqual(RECORDED);
    expect(recordedIdentity(undefined, {})).toEqual({});
  });
});
