// Refusals of operator mistakes that would duplicate or split a pipeline's output, checked before a run
// writes anything: a state item gone while the output it described is still there, and the output's
// prefix, format or compression changed under an existing pipeline.
import type { PullerConfig } from '../config.js';
import { ManifestFileName, manifestKey, partKey, topicFolder } from '../core/key-layout.js';
import type { OutputLayout, PipelineState } from '../core/pipeline-state.js';
import { OrphanedOutputError, OutputChangedError } from '../operator-errors.js';
import type { BatchSink } from '../ports.js';

/** A new pipeline (no state item) must find no manifest of its topic under its prefix. */
export async function refuseOrphanedOutput(
  sink: BatchSink,
  config: PullerConfig,
  pipelineId: string,
): Promise<void> {
  const found = await sink.findKey(topicFolder(config.output.prefix, config.topic), `/${ManifestFileName}`);
  if (found !== undefined) throw new OrphanedOutputError(pipelineId, sink.locate(found));
}

/** The output layout a pipeline's settings give: what its state records and later runs must match. */
export function outputLayoutOf(config: PullerConfig): OutputLayout {
  return { prefix: config.output.prefix, format: config.format, compression: config.compression };
}

function describeLayout(layout: OutputLayout): string {
  return `prefix '${layout.prefix}', format ${layout.format}, compression ${layout.compression}`;
}

/**
 * The layout the state recorded (or, in items that predate it, the keys it recorded) must be what the
 * current settings give. Pure.
 */
export function refuseChangedOutput(state: PipelineState, config: PullerConfig, pipelineId: string): void {
  const { prefix } = config.output;
  const recordedLayout = state.output;
  const layout = outputLayoutOf(config);
  if (recordedLayout && describeLayout(recordedLayout) !== describeLayout(layout)) {
    throw new OutputChangedError(pipelineId, describeLayout(recordedLayout), describeLayout(layout));
  }
  const last = state.lastClosedWindow;
  if (last) {
    const configured = manifestKey(prefix, config.topic, last);
    if (configured !== last.manifestKey)
      throw new OutputChangedError(pipelineId, `'${last.manifestKey}'`, `'${configured}'`);
  }
  const pending = state.pending;
  for (const part of pending?.parts ?? []) {
    const window = { startMs: pending?.windowStartMs ?? 0, endMs: pending?.windowEndMs ?? 0 };
    const configured = partKey(
      prefix,
      config.topic,
      window,
      part.partition,
      part.sequence,
      config.compression,
      config.format,
    );
    if (configured !== part.key) throw new OutputChangedError(pipelineId, `'${part.key}'`, `'${configured}'`);
  }
}
