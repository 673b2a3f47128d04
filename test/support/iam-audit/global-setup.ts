// A folder for the run's synthesized audit stacks, shared by the integration workers (each shape is
// synthesized by the first worker that needs it) and removed when the run ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the integration workers share the audit's synthesized stacks. */
    iamAuditStackFolder: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const folder = await mkdtemp(join(tmpdir(), 'kbp-iam-audit-'));
  project.provide('iamAuditStackFolder', folder);
  return async () => {
    await rm(folder, { recursive: true, force: true });
  };
}
