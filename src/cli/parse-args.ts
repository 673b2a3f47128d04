// Flag specifications, parsing (node:util parseArgs, strict) and help text shared by the subcommands.
import { parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

/** One flag of a command. */
export interface FlagSpec {
  /** The long name, without `--`. */
  readonly name: string;
  /** `list` takes a value, may be repeated, and splits each value on commas. */
  readonly type: 'string' | 'boolean' | 'list';
  /** The value's placeholder in help, e.g. `<seconds>`. */
  readonly placeholder?: string;
  /** One line of help. */
  readonly help: string;
  /** The value used when the flag is absent, as typed on a command line; shown in help. */
  readonly default?: string;
  /** How the default is described in help when it is not a literal value. */
  readonly defaultHelp?: string;
  /** The configuration variable this flag sets, so configuration problems can name the flag. */
  readonly variable?: string;
}

/** A subcommand's name, summary and flags. */
export interface CommandSpec {
  readonly name: string;
  /** One line, shown in the top-level help. */
  readonly summary: string;
  /** The usage line after the program name. */
  readonly usage: string;
  /** Paragraphs shown under the usage line. */
  readonly description: string;
  readonly flags: readonly FlagSpec[];
}

/** Parsed flag values: strings, lists and booleans by flag name; defaults already applied. */
export interface ParsedFlags {
  readonly help: boolean;
  readonly strings: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
  readonly booleans: ReadonlySet<string>;
}

/** The program's name, as users type it. */
export const programName = 'kafka-batch-puller';

/**
 * Parses `argv` against `spec`: unknown flags, missing values and positional arguments become a
 * `UsageError` naming the flag. Values are not interpreted here beyond lists.
 */
export function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const flag of spec.flags) {
    options[flag.name] = flag.type === 'list' ? { type: 'string', multiple: true } : { type: flag.type };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(describeParseError(error), spec.name);
  }
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const booleans = new Set<string>();
  for (const flag of spec.flags) {
    const value = values[flag.name];
    if (flag.type === 'boolean') {
      if (value === true) booleans.add(flag.name);
    } else if (flag.type === 'list') {
      const given = Array.isArray(value) ? value.map(String) : [];
      const items = (given.length > 0 ? given : flag.default ? [flag.default] : [])
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter((v) => v !== '');
      if (items.length > 0) lists.set(flag.name, items);
    } else {
      const text = typeof value === 'string' ? value : flag.default;
      if (text !== undefined) strings.set(flag.name, text);
    }
  }
  return { help: values.help === true, strings, lists, booleans };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  const flag = quoted.split(' ')[0] ?? quoted;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take an argument')) return `${flag} takes no value`;
      // parseArgs reads `--count -1` as a flag with its value missing; `--count=-1` is unambiguous.
      if (message.includes('ambiguous'))
        return `${flag} needs a value (write ${flag}=<value> for one starting with -)`;
      return `${flag} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}' (flags start with --)`;
    default:
      return message.split('\n')[0] ?? message;
  }
}

/** A command's help: usage, description, and every flag with its default. */
export function commandHelp(spec: CommandSpec): string {
  const rows = spec.flags.map((flag) => {
    const left = `--${flag.name}${flag.placeholder ? ` ${flag.placeholder}` : ''}`;
    const fallback = flag.defaultHelp ?? flag.default;
    return [left, `${flag.help}${fallback === undefined ? '' : ` (default: ${fallback})`}`] as const;
  });
  rows.push(['--help, -h', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 4;
  return [
    `usage: ${programName} ${spec.usage}`,
    '',
    spec.description,
    '',
    'flags:',
    ...rows.map(([left, right]) => {
      const [first = '', ...more] = wrap(right, helpWidth - width);
      return [
        `  ${left.padEnd(width - 2)}${first}`,
        ...more.map((line) => `${' '.repeat(width)}${line}`),
      ].join('\n');
    }),
    '',
  ].join('\n');
}

/** Help lines are kept within this many columns. */
const helpWidth = 100;

/** Splits `text` into lines of at most `width` columns at spaces (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/** The value of a flag that must be given (no default). */
export function requiredString(flags: ParsedFlags, name: string, command: string): string {
  const value = flags.strings.get(name)?.trim();
  if (!value) throw new UsageError(`--${name} is required`, command);
  return value;
}

/** A flag's value as a whole number within bounds; the error names the flag and the bounds. */
export function integerFlag(
  flags: ParsedFlags,
  name: string,
  command: string,
  bounds: { readonly min: number; readonly max?: number },
): number | undefined {
  const text = flags.strings.get(name);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (text.trim() === '' || !Number.isInteger(value) || value < bounds.min || value > max) {
    const range = bounds.max === undefined ? `at least ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
    throw new UsageError(`--${name} must be a whole number ${range} (got '${text}')`, command);
  }
  return value;
}

/** A flag's value as a number within bounds (fractions allowed). */
export function numberFlag(
  flags: ParsedFlags,
  name: string,
  command: string,
  bounds: { readonly min: number; readonly what: string },
): number | undefined {
  const text = flags.strings.get(name);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < bounds.min) {
    throw new UsageError(
      `--${name} must be ${bounds.what} of at least ${bounds.min} (got '${text}')`,
      command,
    );
  }
  return value;
}

/** A flag's value that must be one of `choices`. */
export function choiceFlag<T extends string>(
  flags: ParsedFlags,
  name: string,
  command: string,
  choices: readonly T[],
): T | undefined {
  const text = flags.strings.get(name);
  if (text === undefined) return undefined;
  const choice = choices.find((c) => c === text.trim());
  if (!choice)
    throw new UsageError(`--${name} must be one of ${choices.join(', ')} (got '${text}')`, command);
  return choice;
}
