// The handler bundle the construct deploys (dist/handler/index.mjs, rebuilt from the source by the test
// setup) loaded by plain Node as Lambda loads it, and invoked against the real broker and emulator. The
// suite runs on the machine's Node and, in CI, again on the Lambda runtime's Node major (scripts/node24.sh).
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HANDLER_NODE_OPTIONS } from '../../lib/handler-bundle.js';
import {
  brokers,
  createBucket,
  createStateTable,
  createTopic,
  produce,
  readLanded,
  uniqueName,
} from '../support/bed.js';

const run = promisify(execFile);
const bundle = pathToFileURL(fileURLToPath(new URL('../../dist/handler/index.mjs', import.meta.url))).href;
const MINUTE = 60_000;

/**
 * Loads the bundle in a child process of this Node, invokes its handler once with a Lambda-like context
 * and prints the result on a line of its own (Powertools logs and metrics share stdout).
 */
const INVOKE = `
const { handler } = await import(process.env.BUNDLE_URL);
// A deadline that never ends just after the open window (then the run would wait for it, and meet its
// deadline instead of catching up): before the minute turns, or well after.
const msLeft = 60000 - (Date.now() % 60000);
const deadline = Date.now() + (msLeft > 10000 ? Math.min(20000, msLeft - 1000) : msLeft + 15000);
const context = {
  awsRequestId: 'bundle-test', functionName: 'kafka-batch-puller', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:kafka-batch-puller',
  memoryLimitInMB: '1024', logGroupName: '/aws/lambda/kafka-batch-puller', logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => deadline - Date.now(),
};
const result = await handler({}, context);
console.log('RESULT ' + JSON.stringify({ node: process.versions.node, result }));
`;

describe(`the handler bundle on Node ${process.versions.node}`, () => {
  it('loads without node_modules and lands the finished windows', async () => {
    const topic = await createTopic(2);
    const bucket = await createBucket();
    const table = await createStateTable();
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: base + 1 },
      { partition: 1, timestamp: base + 2 },
      { partition: 0, timestamp: base + MINUTE + 3 },
    ]);
    const env = {
      // Only what Lambda would give the function: no NODE_PATH, and the bundle lives outside node_modules.
      PATH: process.env.PATH ?? '',
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
      ...(process.env.AWS_ENDPOINT_URL ? { AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL } : {}),
      ...(process.env.AWS_ENDPOINT_URL_S3 ? { AWS_ENDPOINT_URL_S3: process.env.AWS_ENDPOINT_URL_S3 } : {}),
      ...(process.env.AWS_ENDPOINT_URL_DYNAMODB
        ? { AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB }
        : {}),
      BUNDLE_URL: bundle,
      NODE_OPTIONS: HANDLER_NODE_OPTIONS,
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('g'),
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '1',
      OUTPUT_BUCKET: bucket,
      STATE_TABLE: table,
      SAFETY_MARGIN_SECONDS: '2',
    };

    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', INVOKE], {
      env,
      // A folder without node_modules above it: everything the handler needs is in the bundle.
      cwd: '/',
      maxBuffer: 16 * 1024 * 1024,
    });

    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, `no result line in:\n${stdout}`).toBeDefined();
    const { node, result } = JSON.parse((line as string).slice('RESULT '.length));
    expect(node).toBe(process.versions.node);
    expect(result).toMatchObject({ outcome: 'caught-up', recordsWritten: 3, consumerLag: 0 });
    expect((await readLanded(bucket)).records.sort()).toEqual(['0:0', '0:1', '1:0']);
    // With the function's NODE_OPTIONS, kafkajs's negative timers (kafkajs#1751) leave the logs clean.
    expect(stderr).not.toContain('TimeoutNegativeWarning');
  });
});
