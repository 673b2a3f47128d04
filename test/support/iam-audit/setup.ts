// Runs in every integration test file (vitest setupFiles): records the AWS requests of the engine, the
// handler and the steps, and after each test checks them against the deployed function role (see
// audit.ts). A request the role would deny fails the test that made it, naming the action, the resource
// and the test. The pipelines' configs are recorded where every run gets its config: `loadConfig`.
import { relative } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject, vi } from 'vitest';
import { auditCalls, describeFindings } from './audit.js';
import { installRecorder, recordedConfigs, type Scenario, setScenario, takeCalls } from './recorder.js';
import { appendReport } from './report.js';

vi.mock('../../../src/config.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/config.js')>();
  const { recordConfig } = await import('./recorder.js');
  return {
    ...original,
    loadConfig: (...args: Parameters<typeof original.loadConfig>) => {
      const config = original.loadConfig(...args);
      recordConfig(config);
      return config;
    },
  };
});

installRecorder();

let fileScenario: Scenario = { file: '(unknown file)', test: '(outside any test)' };

async function audit(): Promise<void> {
  const calls = takeCalls();
  if (calls.length === 0) return;
  const stackFolder = inject('iamAuditStackFolder');
  const configs = recordedConfigs();
  await appendReport(calls, configs, stackFolder);
  const findings = await auditCalls(calls, configs, { stackFolder });
  if (findings.length > 0) throw new Error(describeFindings(findings));
}

beforeAll(() => {
  fileScenario = {
    file: relative(process.cwd(), expect.getState().testPath ?? '(unknown file)'),
    test: '(outside any test: a hook, or after a test ended)',
  };
  setScenario(fileScenario);
});

beforeEach((context) => {
  setScenario({ file: context.task.file.name, test: context.task.fullTestName });
});

afterEach(async () => {
  // Requests still in flight when the test ends are the next audit's, under the file's name.
  try {
    await audit();
  } finally {
    setScenario(fileScenario);
  }
});

afterAll(async () => {
  await audit();
});
