// BatchSink on Amazon S3. Objects stream through multipart upload (lib-storage), so memory per open
// object stays at a few upload parts whatever the object's size. Encryption at rest is the bucket's
// default (SSE-S3 or SSE-KMS, set by the stack); requests use TLS unless an emulator endpoint is given.
// Writes are idempotent: a write that failed although the object now holds exactly its bytes (the answer
// was lost after S3 applied it; the writer passes their size and checksum) is a success; a small object that is not there is written again.
import { PassThrough } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConnectionError } from '../errors.js';
import type { BatchSink, ObjectUpload } from '../ports.js';
import { storedObjectMatches } from './stored-object-check.js';
import { writtenObjectOf } from './written-object.js';

/**
 * S3's smallest multipart part. A run keeps one object open per partition, each buffering one part while
 * one uploads, so this bounds memory at about 10 MiB per partition whatever the window's size.
 */
const UPLOAD_PART_BYTES = 5 * 1024 * 1024;

/** Writes batch objects under `s3://bucket/` (keys already carry the prefix). */
export class S3Sink implements BatchSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  openObject(key: string, contentType: string): ObjectUpload {
    const body = new PassThrough();
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: UPLOAD_PART_BYTES,
      queueSize: 1,
      leavePartsOnError: false,
    });
    // The upload reads the stream only once done() has been called, so start it now.
    const done = upload.done();
    done.catch(() => {});
    let failure: unknown;
    done.catch((error: unknown) => {
      failure = error;
      body.destroy();
    });
    return {
      write: async (chunk) => {
        if (failure) throw failure;
        if (!body.write(chunk)) {
          await new Promise<void>((resolve, reject) => {
            body.once('drain', resolve);
            done.catch(reject);
          });
        }
      },
      complete: async (written) => {
        body.end();
        try {
          await done;
        } catch (error) {
          // The answer may have been lost after S3 applied the upload: the object the caller wrote is success.
          if (await storedObjectMatches(this.s3, this.bucket, key, written).catch(() => false)) return;
          // The bytes were streamed and are gone: the run fails, and the next one writes the object again.
          throw new ConnectionError(`could not complete ${this.locate(key)}: ${describe(error)}`, {
            cause: error,
          });
        }
      },
      abort: async () => {
        await upload.abort().catch(() => {});
        body.destroy();
        await done.catch(() => {});
      },
    };
  }

  async putObject(key: string, body: Buffer, contentType: string): Promise<void> {
    const put = () =>
      this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
      );
    try {
      await put();
    } catch {
      if (await storedObjectMatches(this.s3, this.bucket, key, writtenObjectOf(body)).catch(() => false))
        return;
      // Not there, or other bytes: write it again, once more with the SDK's retries.
      await put().catch((again: unknown) => {
        throw new ConnectionError(`could not write ${this.locate(key)}: ${describe(again)}`, {
          cause: again,
        });
      });
    }
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async findKey(prefix: string, suffix: string): Promise<string | undefined> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
      );
      const found = page.Contents?.find((o) => o.Key?.endsWith(suffix))?.Key;
      if (found) return found;
      token = page.NextContinuationToken;
    } while (token);
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
