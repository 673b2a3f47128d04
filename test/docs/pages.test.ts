// The README and the docs/ pages as a reader follows them: every relative link leads to a file that
// exists and every #anchor to a heading of its page; the README stays a five-minute read.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeBlocks, docPages, readPage } from '../support/markdown.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pages = docPages();

/** The page's text outside fenced code blocks, where a `[x](y)` is a link. */
function prose(page: string): string {
  let text = page;
  for (const block of codeBlocks(page)) text = text.replace(block.code, '');
  return text;
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces made hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

const anchorsByPage = new Map<string, Set<string>>();

/** The anchors of `path`'s headings, read once per page. */
function anchorsOf(path: string): Set<string> {
  let anchors = anchorsByPage.get(path);
  if (!anchors) {
    anchors = new Set(
      prose(readPage(path))
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => anchorOf(line.replace(/^#+ /, ''))),
    );
    anchorsByPage.set(path, anchors);
  }
  return anchors;
}

describe('the docs pages', () => {
  it('keep the README under 400 lines', () => {
    expect(readPage('README.md').split('\n').length).toBeLessThanOrEqual(400);
  });

  for (const page of pages) {
    it(`${page}: every relative link and anchor resolves`, () => {
      const links = [...prose(readPage(page)).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
      const broken: string[] = [];
      for (const link of links) {
        if (/^[a-z]+:/.test(link)) continue;
        const [file = '', anchor] = link.split('#');
        const target = file === '' ? page : normalize(join(dirname(page), file));
        if (!existsSync(join(root, target))) broken.push(`${link} (no ${target})`);
        else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)) {
          broken.push(`${link} (no heading #${anchor} in ${target})`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});

describe('docs/development.md', () => {
  it('names every source file of src/, lib/ and scripts/ in its project layout', () => {
    const layout = readPage('docs/development.md');
    const named = new Set(
      [...layout.matchAll(/`([\w./-]+)`/g)].map((m) => (m[1] as string).split('/').pop()),
    );
    const files = ['src', 'lib', 'scripts'].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && /\.(ts|mjs|sh)$/.test(e.name))
        .map((e) => e.name),
    );
    expect(files.filter((name) => !named.has(name))).toEqual([]);
  });
});
