// What an object stored in S3 holds compared with the bytes a writer expected there: what makes a write
// whose answer was lost (a 500 after the write applied, a timeout, a retried CompleteMultipartUpload
// that finds its upload already completed), or a create-only write refused because the key exists, safe
// to call a success when the bytes are the same, and a conflict when they are not.
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import type { WrittenObject } from '../ports.js';
import { writtenObjectOf } from './written-object.js';

/** What a key holds: nothing, exactly the expected bytes, or other bytes (with the ETag to replace them by). */
export type StoredObject =
  | { readonly kind: 'absent' }
  | { readonly kind: 'same' }
  | { readonly kind: 'other'; readonly bytes: number; readonly etag: string | undefined };

/** Compares `s3://bucket/key` with the expected size and checksum. */
export async function compareStoredObject(
  s3: S3Client,
  bucket: string,
  key: string,
  expected: WrittenObject,
): Promise<StoredObject> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const other = { kind: 'other', bytes: head.ContentLength ?? 0, etag: head.ETag } as const;
    if (head.ContentLength !== expected.bytes) return other;
    // Only on this rare path is the object read back: its size matches, its bytes must too. The read is
    // pinned to the ETag seen, so the answer describes one object.
    const got = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(head.ETag ? { IfMatch: head.ETag } : {}) }),
    );
    const bytes = await got.Body?.transformToByteArray();
    return bytes !== undefined && writtenObjectOf(bytes).sha256 === expected.sha256
      ? { kind: 'same' }
      : other;
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return { kind: 'absent' };
    throw error;
  }
}
