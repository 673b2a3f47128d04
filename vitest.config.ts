import { defineConfig } from 'vitest/config';

/** Pure logic, the CDK constructs and the CLI's parsing: no broker, no emulator, a few seconds. */
const UNIT = [
  'test/core/**/*.test.ts',
  'test/docs/**/*.test.ts',
  'test/cdk/**/*.test.ts',
  'test/cli-units.test.ts',
  'test/directory-sink.test.ts',
  'test/file-state-store.test.ts',
  'test/handler-step-events.test.ts',
];
/** The package as a user installs it: packed, installed into a fresh CDK app, synthesized. */
const PACKAGE = ['test/package/pack-install.test.ts'];
/**
 * The synthesized state machine executed by aws-local-stepfunctions, which needs Node 22 or later: run
 * on the Lambda runtime's Node by `npm run test:state-machine` (part of `npm test`), whatever the machine's.
 */
const STATE_MACHINE = ['test/state-machine/**/*.test.ts'];
/**
 * A topic of 2,000 partitions: creating its logs keeps the single broker busy long enough for other
 * files' new topics to meet "This server does not host this topic-partition", so it runs alone, after
 * the others (`npm run test:scale`, part of `npm test`).
 */
const SCALE = ['test/state-size.test.ts'];
/**
 * Every project runs in one pool of two workers: the integration tests share one broker on a 2-core
 * machine, and two files at a time keeps both busy without starving the broker's JVM. (Vitest runs
 * projects with different worker counts one after the other.)
 */
const WORKERS = { maxWorkers: 2 } as const;

export default defineConfig({
  test: {
    // Runs once for every project: the handler bundle is rebuilt from the current source, so the
    // constructs deploy, and the tests invoke, what the source says.
    globalSetup: ['test/support/bundle-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: UNIT,
          ...WORKERS,
          // These files share no state, so one module graph per worker: aws-cdk-lib is loaded once per
          // worker instead of once per file, which is most of this project's time.
          isolate: false,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...PACKAGE, ...STATE_MACHINE, ...SCALE],
          // The real Kafka broker and the S3/DynamoDB emulator, started unless given; a folder for the IAM
          // audit's synthesized stacks.
          globalSetup: ['test/support/global-setup.ts', 'test/support/iam-audit/global-setup.ts'],
          // Every AWS request of the engine, the handler and the steps is checked against the deployed
          // function role's policies after each test (test/support/iam-audit/).
          setupFiles: ['test/support/iam-audit/setup.ts'],
          ...WORKERS,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'scale',
          include: SCALE,
          globalSetup: ['test/support/global-setup.ts', 'test/support/iam-audit/global-setup.ts'],
          setupFiles: ['test/support/iam-audit/setup.ts'],
          maxWorkers: 1,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'state-machine',
          include: STATE_MACHINE,
          // The same broker and emulator as the integration tests.
          globalSetup: ['test/support/global-setup.ts'],
          ...WORKERS,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'package',
          include: PACKAGE,
          ...WORKERS,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
