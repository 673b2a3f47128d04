// Reading the docs' Markdown as the doc tests need it: a page's sections, its tables and their cells,
// and its fenced code blocks with their info strings.
import { readdirSync, readFileSync } from 'node:fs';

/** A page of the repository (`README.md`, `docs/operations.md`), read as text. */
export function readPage(path: string): string {
  return readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
}

/** The pages a reader follows: the README, then every page of docs/, by name. */
export function docPages(): string[] {
  const docs = readdirSync(new URL('../../docs', import.meta.url)).filter((name) => name.endsWith('.md'));
  return ['README.md', ...docs.sort().map((name) => `docs/${name}`)];
}

/** The text under a heading (any level, exact title), up to the next heading of the same or a higher level. */
export function section(page: string, title: string): string {
  const lines = page.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, '').trim() === title);
  if (start < 0) throw new Error(`no heading '${title}'`);
  const level = (lines[start]?.match(/^#+/)?.[0] ?? '#').length;
  const end = lines.findIndex(
    (line, i) => i > start && /^#{1,6} /.test(line) && (line.match(/^#+/)?.[0] ?? '').length <= level,
  );
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The cells of a Markdown table row (a `\|` inside a cell is a pipe of its text). */
export function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/** The code spans of a cell: `` `a`, `b` `` gives a and b. */
export const codeSpans = (cell: string): string[] =>
  [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

/** A Markdown table: its header cells and its rows' cells (the separator line dropped). */
export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Every table in `text`, in order. */
export function tables(text: string): Table[] {
  const found: Table[] = [];
  let lines: string[] = [];
  const flush = () => {
    if (lines.length >= 2) {
      found.push({ header: cells(lines[0] as string), rows: lines.slice(2).map(cells) });
    }
    lines = [];
  };
  for (const line of text.split('\n')) {
    if (line.trim().startsWith('|')) lines.push(line);
    else flush();
  }
  flush();
  return found;
}

/** The column of `table` headed `name`, as each row's cell. */
export function column(table: Table, name: string): string[] {
  const index = table.header.indexOf(name);
  if (index < 0) throw new Error(`no column '${name}' in a table headed ${table.header.join(' | ')}`);
  return table.rows.map((row) => row[index] ?? '');
}

/** A fenced code block: its info string (`bash`, `bash aws`, `text`) and its text. */
export interface CodeBlock {
  readonly info: string;
  readonly code: string;
  /** The 1-based line of the opening fence, to name the block in a failure. */
  readonly line: number;
}

/** Every fenced code block of `page`, in order. */
export function codeBlocks(page: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = page.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]?.match(/^(\s*)(`{3,})(.*)$/);
    if (!open) continue;
    const [, indent = '', fence = '```', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !(lines[j]?.trim() === fence); j++)
      body.push((lines[j] ?? '').slice(indent.length));
    blocks.push({ info: info.trim(), code: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}
