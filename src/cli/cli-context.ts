// What a subcommand gets from the process: its environment and output streams (tests pass their own).
import type { OutputStreams } from './terminal-output.js';

/** The process's environment and streams, given to every subcommand. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly streams: OutputStreams;
}
