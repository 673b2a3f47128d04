// Who may take the run lease: pure rule, no services.
import { describe, expect, it } from 'vitest';
import { blockingLease, withLease } from '../../src/core/lease.js';
import { newPipelineState } from '../../src/core/pipeline-state.js';

const held = withLease(newPipelineState('g', 't', 0), 'run-a', 10_000);

describe('blockingLease', () => {
  it('blocks another run while the holder may still be working', () => {
    expect(blockingLease(held, 'run-b', 9_999)?.owner).toBe('run-a');
  });

  it('lets the holder itself through, and anyone once the lease has expired', () => {
    expect(blockingLease(held, 'run-a', 5_000)).toBeUndefined();
    expect(blockingLease(held, 'run-b', 10_000)).toBeUndefined();
  });

  it('lets a run take over at once a lease whose holder is known to have ended', () => {
    expect(blockingLease(held, 'run-b', 5_000, ['run-x', 'run-a'])).toBeUndefined();
    expect(blockingLease(held, 'run-b', 5_000, ['run-x'])?.owner).toBe('run-a');
  });
});
