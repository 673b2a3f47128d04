// A pipeline's output layout is fixed once it has state: the guard compares what the state recorded with
// what the settings give, before a run writes anything. Pure: no broker, no emulator.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { manifestKey } from '../../src/core/key-layout.js';
import { newPipelineState, type PipelineState } from '../../src/core/pipeline-state.js';
import { outputLayoutOf, refuseChangedOutput } from '../../src/engine/output-guard.js';
import { OutputChangedError } from '../../src/operator-errors.js';
import { BASE_VARIABLES } from './config-problems.js';

const settings = { ...BASE_VARIABLES, OUTPUT_PREFIX: 'raw' };
const config = loadConfig(settings);
const window = { startMs: Date.UTC(2026, 10, 28, 9, 0), endMs: Date.UTC(2026, 10, 28, 9, 1) };

function stateWith(change: Partial<PipelineState>): PipelineState {
  return { ...newPipelineState('landing', 'orders', 0), ...change };
}

describe('output guard', () => {
  it('accepts the layout the state recorded', () => {
    expect(() =>
      refuseChangedOutput(stateWith({ output: outputLayoutOf(config) }), config, 'p'),
    ).not.toThrow();
  });

  it.each([
    ['prefix', { OUTPUT_PREFIX: 'moved' }, "prefix 'moved', format ndjson, compression gzip"],
    ['format', { OUTPUT_FORMAT: 'parquet' }, "prefix 'raw', format parquet, compression snappy"],
    ['compression', { COMPRESSION: 'none' }, "prefix 'raw', format ndjson, compression none"],
  ])('refuses a changed %s, naming both layouts', (_what, change, configured) => {
    const state = stateWith({ output: outputLayoutOf(config) });

    const refuse = () => refuseChangedOutput(state, loadConfig({ ...settings, ...change }), 'p');

    expect(refuse).toThrow(OutputChangedError);
    expect(refuse).toThrow(
      `its state recorded prefix 'raw', format ndjson, compression gzip where the current OUTPUT_PREFIX, ` +
        `OUTPUT_FORMAT and COMPRESSION give ${configured}.`,
    );
  });

  it('checks the keys of a state written before the layout was recorded', () => {
    const recordedKey = manifestKey('raw', 'orders', window);
    const legacy = stateWith({
      lastClosedWindow: { ...window, closedAtMs: window.endMs, manifestKey: recordedKey, records: 1 },
    });

    expect(() => refuseChangedOutput(legacy, config, 'p')).not.toThrow();
    expect(() =>
      refuseChangedOutput(legacy, loadConfig({ ...settings, OUTPUT_PREFIX: 'moved' }), 'p'),
    ).toThrow(
      `its state recorded '${recordedKey}' where the current OUTPUT_PREFIX, OUTPUT_FORMAT and COMPRESSION give ` +
        `'${manifestKey('moved', 'orders', window)}'`,
    );
  });
});
