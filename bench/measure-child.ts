// Entry point of a measurement child process: `node --import tsx bench/measure-child.ts '<spec JSON>'`.
// Each measurement runs in its own process so its peak RSS (getrusage's maxrss) is its own and a
// run's memory cannot leak into the next.
import { type ChildResult, type ChildSpec, type Measured, resultMarker } from './child-protocol.js';
import { kafkajsReadTopic } from './kafkajs-read.js';

/** The engine's modules, loaded before the measured part: a Lambda loads its bundle once per cold start, not per run. */
type PullerRunModule = typeof import('./puller-run.js');

async function measure(spec: ChildSpec, puller: PullerRunModule | undefined): Promise<Measured> {
  switch (spec.kind) {
    case 'kafkajs-read': {
      const read = await kafkajsReadTopic(spec.brokers, spec.topic, spec.groupId);
      return {
        ...read,
        firstCommitMs: undefined,
        closeToCommitMs: undefined,
        commitToEndMs: undefined,
        windowsClosed: undefined,
        outcome: undefined,
      };
    }
    case 'puller-run':
      if (!puller) throw new Error('the engine was not loaded');
      return puller.runPullerOnce(spec);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ChildSpec;
  // Loaded only for a puller run, so the kafkajs measurement does not pay for the engine's modules.
  const puller = spec.kind === 'puller-run' ? await import('./puller-run.js') : undefined;
  const startRssBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const measured = await measure(spec, puller);
  const cpu = process.cpuUsage(cpuBefore);
  const result: ChildResult = {
    ...measured,
    startRssBytes,
    // maxRSS is in KiB (getrusage's ru_maxrss on Linux).
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  };
  process.stdout.write(`\n${resultMarker}${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
