// Where the Lambda's entry file and the project's lock file are, found from this file's own location so
// the construct works from the repository (lib/*.ts) and when compiled (dist/lib/*.js).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files NodejsFunction needs to bundle the puller's handler. */
export interface HandlerSource {
  /** src/lambda/handler.ts (or the compiled handler.js beside a compiled lib/). */
  readonly entry: string;
  /** The folder holding package.json; esbuild runs there. */
  readonly projectRoot: string;
  /** The project's package-lock.json, when there is one; otherwise NodejsFunction searches from the working directory. */
  readonly depsLockFilePath: string | undefined;
}

/** Finds the handler entry, the project root and its lock file. */
export function locateHandlerSource(): HandlerSource {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = ['handler.ts', 'handler.js'].map((file) => resolve(here, '..', 'src', 'lambda', file));
  const entry = candidates.find((file) => existsSync(file));
  if (!entry) {
    throw new Error(
      `kafka-batch-puller: cannot find the Lambda handler (looked for ${candidates.join(', ')})`,
    );
  }
  let projectRoot = dirname(entry);
  while (!existsSync(join(projectRoot, 'package.json'))) {
    const parent = dirname(projectRoot);
    if (parent === projectRoot) throw new Error(`kafka-batch-puller: no package.json above ${entry}`);
    projectRoot = parent;
  }
  const lockFile = join(projectRoot, 'package-lock.json');
  return { entry, projectRoot, depsLockFilePath: existsSync(lockFile) ? lockFile : undefined };
}
