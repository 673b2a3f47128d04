// Where the function's code comes from: the handler bundle built into the package at `npm run build`,
// or a user's own handler file bundled by NodejsFunction. Both bundles are built with the same settings.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** The Lambda runtime the handler is built for and tested on (the newest Node.js LTS Lambda offers). */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The function's NODE_OPTIONS: stack traces through the bundle's source map, and no
 * TimeoutNegativeWarning, which kafkajs triggers on every connection under Node 24 (kafkajs#1751, a
 * timer at a negative delay, harmless) and which would otherwise fill the logs.
 */
export const HANDLER_NODE_OPTIONS = '--enable-source-maps --disable-warning=TimeoutNegativeWarning';

/**
 * esbuild settings of both bundles: ESM for the runtime's Node major, with `require` defined for the
 * CommonJS dependencies (kafkajs) that call it. Everything is bundled, the AWS SDK too: the versions
 * tested are the versions run, whatever the runtime ships.
 */
export const HANDLER_ESBUILD = {
  target: 'node24',
  mainFields: ['module', 'main'],
  banner:
    "import { createRequire as __kbpCreateRequire } from 'node:module'; const require = __kbpCreateRequire(import.meta.url);",
} as const;

/** The prebuilt bundle's file name in its folder; its handler is `index.handler`. */
export const HANDLER_BUNDLE_FILE = 'index.mjs';

/**
 * Candidate folders of the prebuilt bundle: `dist/handler` beside a compiled `dist/lib` (the installed
 * package), or under the repository root beside `lib/` (tests and the repository's CDK app).
 */
function bundleFolders(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [resolve(here, '..', 'handler'), resolve(here, '..', 'dist', 'handler')];
}

/**
 * The first of `folders` holding the prebuilt handler bundle.
 * @throws Error naming the folders searched when the bundle has not been built.
 */
export function prebuiltHandlerFolder(folders: readonly string[] = bundleFolders()): string {
  const found = folders.find((folder) => existsSync(join(folder, HANDLER_BUNDLE_FILE)));
  if (!found) {
    throw new Error(
      `kafka-batch-puller: the Lambda handler bundle is missing (looked for ${HANDLER_BUNDLE_FILE} in ${folders.join(' and ')}). ` +
        'In a clone of the repository, run `npm run build` first; an installed package ships it built.',
    );
  }
  return found;
}

/** NodejsFunction's bundling of a user's handler file: the prebuilt bundle's settings, with the local esbuild. */
export function userHandlerBundling(): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    target: HANDLER_ESBUILD.target,
    mainFields: [...HANDLER_ESBUILD.mainFields],
    banner: HANDLER_ESBUILD.banner,
    externalModules: [],
    minify: true,
    sourceMap: true,
    sourcesContent: false,
  };
}
