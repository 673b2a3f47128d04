// BatchSink on Amazon S3. Objects stream through multipart upload (lib-storage), so memory per open
// object stays at a few upload parts whatever the object's size. Encryption at rest is the bucket's
// default (SSE-S3 or SSE-KMS, set by the stack); requests use TLS unless an emulator endpoint is given.
import { PassThrough } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BatchSink, ObjectUpload } from '../ports.js';

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
      complete: async () => {
        body.end();
        await done;
      },
      abort: async () => {
        await upload.abort().catch(() => {});
        body.destroy();
        await done.catch(() => {});
      },
    };
  }

  async putObject(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}
