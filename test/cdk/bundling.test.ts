// Where the function's code comes from: by default the handler bundle prebuilt into the package (no
// bundling at synth), or with `handlerEntry` the user's own handler file, bundled by NodejsFunction with
// the local esbuild (no Docker) into an ES module that Node loads as it is.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { prebuiltHandlerFolder } from '../../lib/handler-bundle.js';
import { KafkaBatchPuller, KafkaSecurityMode } from '../../lib/index.js';
import { newStack } from './support.js';

const prebuilt = fileURLToPath(new URL('../../dist/handler/index.mjs', import.meta.url));
const userHandler = fileURLToPath(new URL('./fixtures/user-handler.ts', import.meta.url));

/** The asset folders a synthesized stack's app wrote, by name. */
function assetsOf(stack: Stack): { outdir: string; assets: string[] } {
  Template.fromStack(stack);
  const outdir = (stack.node.root as App).outdir;
  return { outdir, assets: readdirSync(outdir).filter((name) => name.startsWith('asset.')) };
}

/** Whether Node loads the module at `file` and finds a `handler` function in it. */
function exportsHandler(file: string): string {
  // A child process, as Lambda loads it (and without the test runner transforming 1.4 MB of code).
  const probe = `import(${JSON.stringify(pathToFileURL(file).href)}).then((m) => console.log(typeof m.handler))`;
  return execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim();
}

describe('the prebuilt handler bundle (default)', () => {
  const stack = newStack({ bundle: true });
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  puller.addPipeline('Orders', { topic: 'orders' });
  puller.addPipeline('Payments', { topic: 'payments' });
  const template = Template.fromStack(stack);
  const { outdir, assets } = assetsOf(stack);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('is one asset for both pipelines, run as index.handler on nodejs24.x', () => {
    expect(assets).toHaveLength(1);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(new Set(functions.map((fn) => fn.Properties.Code.S3Key)).size).toBe(1);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x' });
    }
  });

  it('holds the bundle built from the source, byte for byte, with its source map', () => {
    const dir = join(outdir, assets[0] as string);
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    expect(readFileSync(join(dir, 'index.mjs')).equals(readFileSync(prebuilt))).toBe(true);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __kbpCreateRequire } from 'node:module';")).toBe(true);
  });

  it('loads in plain Node and exports the handler', () => {
    expect(exportsHandler(join(outdir, assets[0] as string, 'index.mjs'))).toBe('function');
  });
});

describe('a user handler file (handlerEntry)', () => {
  const stack = newStack({ bundle: true });
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  puller.addPipeline('Orders', { topic: 'orders', handlerEntry: userHandler });
  puller.addPipeline('Payments', { topic: 'payments' });
  const template = Template.fromStack(stack);
  const { outdir, assets } = assetsOf(stack);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const userAsset = assets.find((name) =>
    readFileSync(join(outdir, name, 'index.mjs'), 'utf8').includes('user-hook-marker'),
  );

  it('is bundled into its own asset, beside the prebuilt one', () => {
    expect(assets).toHaveLength(2);
    expect(userAsset).toBeDefined();
    const keys = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Code.S3Key,
    );
    expect(new Set(keys).size).toBe(2);
    const orders = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) => fn.Properties.Environment.Variables.KAFKA_TOPIC === 'orders',
    );
    expect(orders?.Properties).toMatchObject({
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Code: { S3Key: `${(userAsset as string).slice('asset.'.length)}.zip` },
    });
  });

  it('is an ES module with the same banner and a source map, and loads in plain Node', () => {
    const dir = join(outdir, userAsset as string);
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __kbpCreateRequire } from 'node:module';")).toBe(true);
    expect(exportsHandler(join(dir, 'index.mjs'))).toBe('function');
  });
});

describe('a repository without the built bundle', () => {
  it('fails at synth with a message that says to run npm run build', () => {
    const folders = [join(tmpdir(), 'kbp-no-such-folder', 'handler')];
    expect(() => prebuiltHandlerFolder(folders)).toThrow(
      `kafka-batch-puller: the Lambda handler bundle is missing (looked for index.mjs in ${folders[0]}). In a clone of the repository, run \`npm run build\` first`,
    );
  });
});
