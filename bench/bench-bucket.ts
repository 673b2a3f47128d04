// The S3 bucket the bench's puller runs write to on the emulator: created once, emptied after every
// run so moto (which keeps objects in memory) stays light, deleted at the end.
import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../src/adapters/aws-clients.js';

/** A bucket of this bench invocation. */
export class BenchBucket {
  readonly name = `kbp-bench-${randomUUID()}`;
  private readonly s3: S3Client = createS3Client();

  async create(): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: this.name }));
  }

  /** Deletes every object under `prefix` ('' for all); returns how many there were. */
  async empty(prefix = ''): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        await this.s3.send(
          new DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: keys, Quiet: true } }),
        );
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  /** Empties and deletes the bucket. */
  async remove(): Promise<void> {
    await this.empty();
    await this.s3.send(new DeleteBucketCommand({ Bucket: this.name }));
    this.s3.destroy();
  }
}
