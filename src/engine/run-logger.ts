// Where the engine reports what an operator should know about a run. The Lambda passes Powertools'
// Logger (which fits this interface as it is); the CLI passes its terminal output.

/** Receives the engine's structured warnings. */
export interface RunLogger {
  /** Something an operator should act on; `attributes` identify what (topic, run id, partition, ...). */
  warn(message: string, attributes: Readonly<Record<string, unknown>>): void;
}

/** The default: one JSON object per warning on stderr, for callers that pass no logger. */
export const stderrRunLogger: RunLogger = {
  warn(message, attributes) {
    process.stderr.write(`${JSON.stringify({ level: 'WARN', message, ...attributes })}\n`);
  },
};
