// The package as a user gets it: packed from the current source, installed from its tarball into a
// fresh CDK app outside the repository, type-checked against the package's types, and synthesized with
// the prebuilt handler and with a user handler file with hooks (`handlerEntry`).
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandler } from '../../scripts/bundle-handler.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** The user's app: one stack on the prebuilt handler (with an alarm on a metric method), one with hooks. */
const APP = `import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { KafkaBatchPuller, KafkaSecurityMode, PullerLogLevel, StartPosition } from 'kafka-batch-puller';

const app = new App({ outdir: 'cdk.out' });

const prebuilt = new Stack(app, 'Prebuilt');
const puller = new KafkaBatchPuller(prebuilt, 'Puller', {
  brokers: ['b-1.example:9092'],
  kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  logLevel: PullerLogLevel.DEBUG,
});
const orders = puller.addPipeline('Orders', { topic: 'orders', startPosition: StartPosition.LATEST });
new cloudwatch.Alarm(prebuilt, 'LagAlarm', {
  metric: orders.metricConsumerLag(),
  threshold: 100000,
  evaluationPeriods: 1,
});

const hooks = new Stack(app, 'Hooks');
new KafkaBatchPuller(hooks, 'Puller', {
  brokers: ['b-1.example:9092'],
  kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
}).addPipeline('Orders', { topic: 'orders', handlerEntry: 'handler/orders.ts' });

app.synth();
`;

/** The user's handler file, wrapping the puller's handler with hooks. */
const HANDLER = `import { createHandler, type Manifest, type OutputRow } from 'kafka-batch-puller/handler';

export const handler = createHandler({
  parseRecord: (row: OutputRow) => ({ ...row, value: JSON.parse(row.value ?? 'null'), source: 'user-hook' }),
  onBatchComplete: async (manifest: Manifest) => {
    console.log('landed', manifest.window.start, manifest.totals.records);
  },
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    outDir: 'build',
  },
  include: ['app.ts', 'handler/*.ts'],
};

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

describe('the packed package in a fresh CDK app', () => {
  const work = mkdtempSync(join(tmpdir(), 'kbp-package-'));
  const stage = join(work, 'stage');
  const appDir = join(work, 'app');
  let packed: { filename: string; size: number; files: Array<{ path: string }> };
  let synthOutput = '';
  const template = (stack: string): Template =>
    JSON.parse(readFileSync(join(appDir, 'cdk.out', `${stack}.template.json`), 'utf8'));
  const functionOf = (stack: string) =>
    Object.values(template(stack).Resources).find((r) => r.Type === 'AWS::Lambda::Function')?.Properties;
  const assetOf = (stack: string): string => {
    const code = functionOf(stack)?.Code as { S3Key: string } | undefined;
    const key = code?.S3Key ?? `no function in ${stack}`;
    return join(appDir, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`);
  };

  beforeAll(async () => {
    // Pack what `npm run build` builds from the current source, without touching the repository's dist/
    // (other tests read it while this runs).
    mkdirSync(stage);
    for (const file of ['package.json', 'README.md', 'LICENSE']) {
      if (existsSync(join(root, file))) cpSync(join(root, file), join(stage, file));
    }
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')], {
      cwd: root,
    });
    await bundleHandler(join(stage, 'dist', 'handler'));
    const { stdout } = await run(
      'npm',
      ['pack', stage, '--json', '--ignore-scripts', '--pack-destination', work],
      { cwd: work },
    );
    [packed] = JSON.parse(stdout);

    mkdirSync(join(appDir, 'handler'), { recursive: true });
    writeFileSync(
      join(appDir, 'package.json'),
      JSON.stringify({
        name: 'user-app',
        private: true,
        type: 'module',
        dependencies: {
          'kafka-batch-puller': `file:${join(work, packed.filename)}`,
          'aws-cdk-lib': version('aws-cdk-lib'),
          constructs: version('constructs'),
        },
        // NodejsFunction bundles a handlerEntry with the app's own esbuild.
        devDependencies: { esbuild: version('esbuild') },
      }),
    );
    writeFileSync(join(appDir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    writeFileSync(join(appDir, 'app.ts'), APP);
    writeFileSync(join(appDir, 'handler', 'orders.ts'), HANDLER);
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: appDir,
    });
    await run(process.execPath, [tsc, '-p', '.'], { cwd: appDir });
    const synth = await run(process.execPath, ['build/app.js'], { cwd: appDir, maxBuffer: 16 * 1024 * 1024 });
    synthOutput = synth.stdout + synth.stderr;
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('packs only the built code, its types and the handler bundle', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/src/lambda/index.js',
        'dist/src/lambda/index.d.ts',
        'dist/bin/kafka-batch-puller.js',
        'dist/handler/index.mjs',
        'dist/handler/index.mjs.map',
      ]),
    );
    const unexpected = paths.filter(
      (path) =>
        !['package.json', 'README.md', 'LICENSE'].includes(path) &&
        !/^dist\/(lib|src|bin)\/.+(?<!\.d)\.js$/.test(path) &&
        !/^dist\/(lib|src)\/.+\.d\.ts$/.test(path) &&
        !/^dist\/handler\/index\.mjs(\.map)?$/.test(path),
    );
    expect(unexpected).toEqual([]);
    expect(paths.filter((path) => /stack-context|cdk-app|test|bench|scripts/.test(path))).toEqual([]);
    console.log(`packed ${packed.filename}: ${packed.size} bytes, ${paths.length} files`);
  });

  it('synthesizes the prebuilt handler as is: nodejs24.x, index.handler, the packaged bundle as the asset', () => {
    expect(functionOf('Prebuilt')).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler' });
    const asset = assetOf('Prebuilt');
    expect(readdirSync(asset).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const shipped = join(appDir, 'node_modules', 'kafka-batch-puller', 'dist', 'handler', 'index.mjs');
    expect(readFileSync(join(asset, 'index.mjs')).equals(readFileSync(shipped))).toBe(true);
    expect(synthOutput).not.toContain('Bundling asset Prebuilt/');
    const alarm = Object.values(template('Prebuilt').Resources).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'ConsumerLag',
    );
    expect(alarm?.Properties).toMatchObject({ Namespace: 'KafkaBatchPuller', Statistic: 'Maximum' });
  });

  it('bundles the user handler file with its hooks, and the bundle loads in plain Node', async () => {
    expect(functionOf('Hooks')).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler' });
    const asset = assetOf('Hooks');
    expect(readdirSync(asset).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = readFileSync(join(asset, 'index.mjs'), 'utf8');
    expect(code).toContain('user-hook');
    const probe = `import(${JSON.stringify(pathToFileURL(join(asset, 'index.mjs')).href)}).then((m) => console.log(typeof m.handler))`;
    const { stdout } = await run(process.execPath, ['-e', probe], { cwd: work });
    expect(stdout.trim()).toBe('function');
  });

  it('installs the command line', async () => {
    const { stdout } = await run(join(appDir, 'node_modules', '.bin', 'kafka-batch-puller'), ['--help'], {
      cwd: appDir,
    });
    expect(stdout).toContain('produce-sample');
  });
});
