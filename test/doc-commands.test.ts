// Every shell command of the README and of docs/ runs here, as a reader would run it, so none can stop
// working unnoticed. A page's ```bash blocks run in page order, each with `bash -euo pipefail`, in one
// scratch folder per page that holds a link to `scripts/`, with the bed's broker and emulator in the
// environment and `kafka-batch-puller` on PATH (this checkout's CLI). Topic and group names are made
// unique per run (each `--topic` and `--group-id` value gets a suffix throughout its page), so pages and
// runs never meet each other's data. Blocks whose info string names what they need are not run here:
//   bash aws       needs an AWS account (a deployed stack, the aws CLI, cdk deploy)
//   bash docker    needs a Docker engine (docker compose, LocalStack)
//   bash your-app  runs in your own CDK app (the packed package is installed there by
//                  test/package/pack-install.test.ts)
//   bash suite     installs, or runs the test suite itself: each npm script and script it names must
//                  exist, `npm test` is what CI runs, and `npm run demo` runs here for real.
//   bash bench     a benchmark, minutes of a machine's cores: each `npm run bench` line's options are
//                  parsed here by the bench's own parser (adding `--quick` to any of them runs it in
//                  seconds, with the smallest sizes).
// Each of those is still checked to be valid bash.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBenchOptions } from '../bench/bench-options.js';
import { type CodeBlock, codeBlocks, docPages, readPage } from './support/markdown.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const NOT_RUN = new Set(['aws', 'docker', 'your-app', 'suite', 'bench']);
const pages = docPages();

/** The page's bash blocks, each with the tag after `bash` ('' for a block that runs here). */
function bashBlocks(path: string): (CodeBlock & { tag: string })[] {
  return codeBlocks(readPage(path))
    .filter((block) => /^(bash|sh|shell|console)\b/.test(block.info))
    .map((block) => ({ ...block, tag: block.info.replace(/^\S+\s*/, '') }));
}

/** Gives each `--topic` and `--group-id` value of a page's blocks one suffix, the same throughout the page. */
function withUniqueNames(code: string, suffix: string): string {
  return code.replace(/(--topic|--group-id)(=|\s+)([A-Za-z0-9._-]+)/g, `$1$2$3-${suffix}`);
}

function run(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  return spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

let bin: string;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kbp-doc-commands-'));
  bin = join(scratch, 'bin');
  await mkdir(bin);
  const cli = join(bin, 'kafka-batch-puller');
  const tsx = fileURLToPath(import.meta.resolve('tsx'));
  await writeFile(
    cli,
    `#!/bin/sh\nexec node --import "${tsx}" "${join(root, 'bin/kafka-batch-puller.ts')}" "$@"\n`,
  );
  await chmod(cli, 0o755);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the shell commands of the docs', () => {
  it('finds the pages and only known block tags', () => {
    expect(pages).toContain('docs/operations.md');
    for (const page of pages) {
      for (const block of bashBlocks(page)) {
        expect(block.tag === '' || NOT_RUN.has(block.tag), `${page}:${block.line} tag '${block.tag}'`).toBe(
          true,
        );
      }
    }
  });

  it('are valid bash, run or not', () => {
    for (const page of pages) {
      for (const block of bashBlocks(page)) {
        const check = spawnSync('bash', ['-n'], { input: block.code, encoding: 'utf8' });
        expect(check.status, `${page}:${block.line}: ${check.stderr}`).toBe(0);
      }
    }
  });

  it('name only npm scripts and scripts that exist in the suite blocks, and CI runs the README’s npm test', async () => {
    const { scripts } = JSON.parse(readPage('package.json')) as { scripts: Record<string, string> };
    const files = new Set(await readdir(join(root, 'scripts')));
    const suite = pages.flatMap((page) => bashBlocks(page).filter((b) => b.tag === 'suite'));
    expect(suite.length).toBeGreaterThan(0);
    for (const block of suite) {
      for (const [, name] of block.code.matchAll(/npm run ([\w:-]+)/g))
        expect(Object.keys(scripts)).toContain(name);
      for (const [, file] of block.code.matchAll(/scripts\/([\w.-]+)/g)) expect([...files]).toContain(file);
    }
    const readme = bashBlocks('README.md').find((b) => b.tag === 'suite')?.code ?? '';
    expect(readme).toMatch(/^npm test\b/m);
    expect(readPage('.ci/run')).toMatch(/^npm test$/m);
  });

  it('gives the bench only options it takes', () => {
    const lines = pages.flatMap((page) =>
      bashBlocks(page)
        .filter((b) => b.tag === 'bench')
        .flatMap((b) => b.code.split('\n').map((line) => ({ page, line }))),
    );
    const benchLines = lines.filter(({ line }) => line.includes('npm run bench'));
    expect(benchLines.length).toBeGreaterThan(0);
    for (const { page, line } of benchLines) {
      const args =
        line
          .split('npm run bench')[1]
          ?.replace(/^\s*--\s*/, '')
          .trim()
          .split(/\s+/)
          .filter(Boolean) ?? [];
      if (args.includes('--help')) continue;
      expect(() => parseBenchOptions(args), `${page}: ${line}`).not.toThrow();
    }
  });

  it('runs the demo, the README’s first command', () => {
    const result = run('npm run demo', root, process.env, 240_000);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/_manifest\.json/);
  }, 300_000);

  for (const page of pages) {
    const blocks = bashBlocks(page).filter((block) => block.tag === '');
    if (blocks.length === 0) continue;
    it(`runs every command of ${page}`, async () => {
      const dir = join(scratch, page.replace(/\W/g, '-'));
      await mkdir(dir);
      await symlink(join(root, 'scripts'), join(dir, 'scripts'));
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
      const suffix = randomUUID().slice(0, 8);
      for (const block of blocks) {
        const result = run(withUniqueNames(block.code, suffix), dir, env, 180_000);
        expect(
          result.status,
          `${page}:${block.line}\n${block.code}\n${result.stdout}\n${result.stderr}`,
        ).toBe(0);
      }
    }, 600_000);
  }
});
