// The CLI's entry: picks the subcommand, turns errors into one line on stderr and an exit code
// (2: bad command line, 1: the command failed, 130/143: stopped by Ctrl-C / SIGTERM).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PullerError } from '../errors.js';
import type { CliContext } from './cli-context.js';
import { type CommandSpec, programName } from './parse-args.js';
import { produceSampleCommand, produceSampleCommandSpec } from './produce-sample-command.js';
import { resetCommand, resetCommandSpec } from './reset-command.js';
import { runCommand, runCommandSpec } from './run-command.js';
import { statusCommand, statusCommandSpec } from './status-command.js';
import { UsageError } from './usage-error.js';

type Command = (argv: readonly string[], context: CliContext) => Promise<number>;

const commands: ReadonlyArray<readonly [CommandSpec, Command]> = [
  [runCommandSpec, runCommand],
  [statusCommandSpec, statusCommand],
  [resetCommandSpec, resetCommand],
  [produceSampleCommandSpec, produceSampleCommand],
];

/** The top-level help: what the program does and its commands. */
export function topLevelHelp(): string {
  const width = Math.max(...commands.map(([spec]) => spec.name.length)) + 2;
  return [
    `usage: ${programName} <command> [flags]`,
    '',
    'Lands a Kafka topic in time-windowed batches [start, end), exactly once, in a local folder or S3,',
    'keeping its progress in a local file or DynamoDB.',
    '',
    'commands:',
    ...commands.map(([spec]) => `  ${spec.name.padEnd(width)}${spec.summary}`),
    '',
    `Run '${programName} <command> --help' for a command's flags.`,
    '',
  ].join('\n');
}

/** The package's version, read from the package.json above this module (source or built). */
function version(): string {
  let dir = import.meta.dirname;
  for (let depth = 0; depth < 5; depth++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === programName && pkg.version) return pkg.version;
    } catch {
      // Not here; look one folder up.
    }
  }
  return 'unknown';
}

/** One line for an error: its message, then each cause's message that adds something. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    const message = e instanceof Error ? e.message : String(e);
    const first = message.split('\n')[0] ?? message;
    if (!parts.some((p) => p.includes(first))) parts.push(first);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ');
}

/**
 * Runs the command line `argv` (without node and the script); resolves to the exit code. Never
 * rejects: every error becomes one line on stderr.
 */
export async function main(
  argv: readonly string[],
  context: CliContext = { env: process.env, streams: { stdout: process.stdout, stderr: process.stderr } },
): Promise<number> {
  const [name, ...rest] = argv;
  const { stdout, stderr } = context.streams;
  try {
    if (name === undefined) {
      stderr.write(topLevelHelp());
      return 2;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      stdout.write(topLevelHelp());
      return 0;
    }
    if (name === '--version') {
      stdout.write(`${version()}\n`);
      return 0;
    }
    const command = commands.find(([spec]) => spec.name === name)?.[1];
    if (!command) {
      const names = commands.map(([spec]) => spec.name).join(', ');
      throw new UsageError(
        name.startsWith('-')
          ? `expected a command before ${name} (commands: ${names})`
          : `unknown command '${name}' (commands: ${names})`,
      );
    }
    return await command(rest, context);
  } catch (error) {
    stderr.write(`error: ${describeError(error)}\n`);
    if (error instanceof UsageError) return 2;
    if (!(error instanceof PullerError) && context.env.KBP_DEBUG) stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}
