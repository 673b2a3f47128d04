// The function's code is bundled locally by the project's esbuild (no Docker) into an ES module that
// Node loads as it is, with `require` available to the CommonJS dependencies.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBatchPuller } from '../../lib/kafka-batch-puller.js';
import { KafkaSecurityMode } from '../../lib/kafka-security.js';
import { newStack } from './support.js';

describe('bundling', () => {
  const stack = newStack({ bundle: true });
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  puller.addPipeline('Orders', { topic: 'orders' });
  puller.addPipeline('Payments', { topic: 'payments' });
  const template = Template.fromStack(stack);
  const outdir = (stack.node.root as App).outdir;
  const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('builds one asset for both pipelines (same entry, same options)', () => {
    expect(assets).toHaveLength(1);
    const keys = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Code.S3Key,
    );
    expect(new Set(keys).size).toBe(1);
  });

  it('emits index.mjs with its source map, and a banner that defines require', () => {
    const dir = join(outdir, assets[0] as string);
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __kbpCreateRequire } from 'node:module';")).toBe(true);
  });

  it('loads in plain Node and exports the handler', () => {
    // A child process, as Lambda loads it (and without the test runner transforming 1.4 MB of code).
    const url = pathToFileURL(join(outdir, assets[0] as string, 'index.mjs')).href;
    const probe = `import(${JSON.stringify(url)}).then((m) => console.log(typeof m.handler))`;
    expect(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim()).toBe('function');
  });
});
