// Ends a test run (all projects) with one plain line, `tests: N passed, N failed, N skipped`, that any
// CI can read.
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/** A vitest reporter that prints only the closing count. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load has no tests to count, but the run failed.
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) counts.failed += 1;
    }
    // An error outside any test (a bad config, a crashed worker) fails the run too: count each.
    counts.failed += unhandledErrors.length;
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
