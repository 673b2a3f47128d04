// With KBP_IAM_AUDIT_REPORT set to a file, each test's distinct IAM authorizations are appended to it as
// JSON lines: what a pipeline's role is asked for, scenario by scenario.
import { appendFile } from 'node:fs/promises';
import type { PullerConfig } from '../../../src/config.js';
import { authorizationsFor } from './audit.js';
import type { RecordedCall } from './recorder.js';

/** Appends the authorizations of `calls`, grouped by test, when a report file is asked for. */
export async function appendReport(
  calls: readonly RecordedCall[],
  configs: readonly PullerConfig[],
  stackFolder: string | undefined,
): Promise<void> {
  const file = process.env.KBP_IAM_AUDIT_REPORT;
  if (!file) return;
  const audited = await authorizationsFor(calls, configs, stackFolder ? { stackFolder } : {}).catch(() => []);
  const byTest = new Map<
    string,
    { file: string; test: string; operations: Set<string>; actions: Set<string> }
  >();
  for (const { call, requests } of audited) {
    const key = `${call.scenario.file}\n${call.scenario.test}`;
    const entry = byTest.get(key) ?? { ...call.scenario, operations: new Set(), actions: new Set() };
    entry.operations.add(`${call.client.replace(/Client$/, '')} ${call.command.replace(/Command$/, '')}`);
    for (const request of requests) {
      const via = request.context['kms:ViaService'];
      entry.actions.add(via ? `${request.action} (via ${String(via).split('.')[0]})` : request.action);
    }
    byTest.set(key, entry);
  }
  const lines = [...byTest.values()].map((e) =>
    JSON.stringify({
      file: e.file,
      test: e.test,
      operations: [...e.operations].sort(),
      actions: [...e.actions].sort(),
    }),
  );
  if (lines.length > 0) await appendFile(file, `${lines.join('\n')}\n`);
}
