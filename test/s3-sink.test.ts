// The S3 sink writes create-only, against the emulator: a second writer of a key never replaces the
// first one's bytes. It succeeds when it wrote exactly the same bytes (a retry, a duplicate), fails with
// an error naming the key when its bytes differ, and replaces the object found only when its caller
// says that object is no writer's to keep. Each path is tried: a small object (one PutObject), a large
// one (multipart upload), and putObject (manifests).

import { createHash } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Sink } from '../src/adapters/s3-sink.js';
import { writtenObjectOf } from '../src/adapters/written-object.js';
import { ObjectExistsError } from '../src/errors.js';
import type { CompleteOptions } from '../src/ports.js';
import { createBucket, getObject, listKeys, s3, testConfig, uniqueName } from './support/bed.js';
import { countingClient } from './support/counting-s3-client.js';

/**
 * A bucket on the emulator, with the configuration of a pipeline writing to it (topic `orders`): what
 * the IAM audit checks these writes against, as it does a run's.
 */
async function pipelineBucket(): Promise<string> {
  const bucket = await createBucket();
  testConfig({
    KAFKA_TOPIC: 'orders',
    KAFKA_GROUP_ID: uniqueName('g'),
    OUTPUT_BUCKET: bucket,
    STATE_TABLE: 'unused',
  });
  return bucket;
}

/** A body of `size` bytes, all `fill`. */
function bytesOf(size: number, fill: string): Buffer {
  return Buffer.alloc(size, fill);
}

const SIZES = [
  ['a small object (one PutObject)', 1000],
  ['a large object (multipart upload)', 6 * 1024 * 1024 + 17],
] as const;

/** Streams `body` to `key` in 1 MiB chunks and completes it. */
async function stream(sink: S3Sink, key: string, body: Buffer, options?: CompleteOptions): Promise<void> {
  const upload = sink.openObject(key, 'application/octet-stream');
  try {
    for (let at = 0; at < body.length; at += 1024 * 1024)
      await upload.write(body.subarray(at, at + 1024 * 1024));
    await upload.complete(writtenObjectOf(body), options);
  } catch (error) {
    await upload.abort();
    throw error;
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('S3Sink create-only writes', () => {
  it.each(SIZES)(
    'keeps the first bytes of %s when a second writer completes the key with other bytes',
    async (_label, size) => {
      const bucket = await pipelineBucket();
      const { client, seen } = countingClient();
      const sink = new S3Sink(client, bucket);
      const first = bytesOf(size, 'a');
      const second = bytesOf(size + 1, 'b');

      await stream(sink, 'topic=orders/w/part-0000-00000.ndjson.gz', first);
      const refused = await stream(sink, 'topic=orders/w/part-0000-00000.ndjson.gz', second).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(sha256(await getObject(bucket, 'topic=orders/w/part-0000-00000.ndjson.gz'))).toBe(sha256(first));
      expect(refused).toBeInstanceOf(ObjectExistsError);
      expect(String(refused)).toContain(
        `s3://${bucket}/topic=orders/w/part-0000-00000.ndjson.gz already holds`,
      );
      expect(refused).toMatchObject({ key: 'topic=orders/w/part-0000-00000.ndjson.gz' });
      expect(seen.preconditionFailed).toBe(1);
      client.destroy();
    },
  );

  it.each(SIZES)('lets a second writer of the same bytes of %s succeed', async (_label, size) => {
    const bucket = await pipelineBucket();
    const { client, seen } = countingClient();
    const sink = new S3Sink(client, bucket);
    const body = bytesOf(size, 'c');

    await stream(sink, 'topic=orders/w/same.ndjson.gz', body);
    await stream(sink, 'topic=orders/w/same.ndjson.gz', body);

    expect(sha256(await getObject(bucket, 'topic=orders/w/same.ndjson.gz'))).toBe(sha256(body));
    expect(seen.preconditionFailed).toBe(1);
    client.destroy();
  });

  it.each(SIZES)(
    'replaces the object found under %s only when the caller says it may',
    async (_label, size) => {
      const bucket = await pipelineBucket();
      const { client, seen } = countingClient();
      const sink = new S3Sink(client, bucket);
      const orphan = bytesOf(size, 'o');
      const mine = bytesOf(size, 'm');
      const asked: string[] = [];
      await stream(sink, 'topic=orders/w/orphan.ndjson.gz', orphan);

      await expect(
        stream(sink, 'topic=orders/w/orphan.ndjson.gz', mine, {
          mayReplace: async () => {
            asked.push('no');
            return false;
          },
        }),
      ).rejects.toBeInstanceOf(ObjectExistsError);
      expect(sha256(await getObject(bucket, 'topic=orders/w/orphan.ndjson.gz'))).toBe(sha256(orphan));

      await stream(sink, 'topic=orders/w/orphan.ndjson.gz', mine, {
        mayReplace: async () => {
          asked.push('yes');
          return true;
        },
      });

      expect(asked).toEqual(['no', 'yes']);
      expect(sha256(await getObject(bucket, 'topic=orders/w/orphan.ndjson.gz'))).toBe(sha256(mine));
      expect(seen.preconditionFailed).toBe(2);
      expect(await listKeys(bucket)).toEqual(['topic=orders/w/orphan.ndjson.gz']);
      // No upload is left open: every multipart upload was completed or aborted.
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(open.Uploads ?? []).toEqual([]);
      client.destroy();
    },
  );

  it('writes a manifest create-only: the same bytes again succeed, other bytes are refused', async () => {
    const bucket = await pipelineBucket();
    const { client, seen } = countingClient();
    const sink = new S3Sink(client, bucket);
    const manifest = Buffer.from('{"formatVersion":1,"records":3}');

    await sink.putObject('topic=orders/w/_manifest.json', manifest, 'application/json');
    await sink.putObject('topic=orders/w/_manifest.json', manifest, 'application/json');
    const refused = sink.putObject(
      'topic=orders/w/_manifest.json',
      Buffer.from('{"other":true}'),
      'application/json',
    );

    await expect(refused).rejects.toBeInstanceOf(ObjectExistsError);
    await expect(refused).rejects.toThrow(`s3://${bucket}/topic=orders/w/_manifest.json already holds`);
    expect(await getObject(bucket, 'topic=orders/w/_manifest.json')).toEqual(manifest);
    expect(seen.preconditionFailed).toBe(2);
    client.destroy();
  });
});
