// Bundles the Lambda handler (src/lambda/handler.ts) into dist/handler/index.mjs with its source map:
// the code the construct deploys by default. Run by `npm run build`, by the repository's CDK app before
// it synthesizes, and by the test setup, so what is deployed or tested is always the current source.
//
//   npx tsx scripts/bundle-handler.ts
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { HANDLER_BUNDLE_FILE, HANDLER_ESBUILD } from '../lib/handler-bundle.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What the bundle step wrote. */
export interface HandlerBundle {
  /** The bundle's path. */
  readonly file: string;
  /** The bundle's size, bytes (its source map apart). */
  readonly bytes: number;
}

/** Bundles the handler into `outdir` (default dist/handler); each file is replaced atomically. */
export async function bundleHandler(outdir = join(root, 'dist', 'handler')): Promise<HandlerBundle> {
  const outfile = join(outdir, HANDLER_BUNDLE_FILE);
  const result = await build({
    entryPoints: [join(root, 'src', 'lambda', 'handler.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: HANDLER_ESBUILD.target,
    mainFields: [...HANDLER_ESBUILD.mainFields],
    banner: { js: HANDLER_ESBUILD.banner },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    // Paths in the source map relative to the repository, not to this machine.
    sourceRoot: '',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(outdir, { recursive: true });
  let bytes = 0;
  // The test runs and a build may bundle at the same time: a reader sees the old file or the new one.
  // Temporary files go beside the folder, not in it, since the construct deploys the whole folder.
  for (const file of result.outputFiles) {
    const temp = join(dirname(outdir), `.${basename(outdir)}-${basename(file.path)}.${process.pid}.tmp`);
    writeFileSync(temp, file.contents);
    renameSync(temp, file.path);
    if (file.path === outfile) bytes = file.contents.byteLength;
  }
  return { file: outfile, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { file, bytes } = await bundleHandler();
  process.stderr.write(`handler bundle: ${file.slice(root.length + 1)} (${(bytes / 1024).toFixed(0)} KiB)\n`);
}
