// The CLI's error for a bad command line: printed as one line, exit code 2.
import { PullerError } from '../errors.js';

/** A flag, value or command the CLI cannot accept. Its message names the culprit. */
export class UsageError extends PullerError {
  /** The command whose `--help` explains the right usage; undefined for the top level. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}
