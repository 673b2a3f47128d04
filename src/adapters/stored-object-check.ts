// Whether an object stored in S3 holds exactly the expected bytes: what makes a write whose answer was
// lost (a 500 after the write applied, a timeout, a retried CompleteMultipartUpload that finds its
// upload already completed) safe to call a success.
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import type { WrittenObject } from '../ports.js';
import { writtenObjectOf } from './written-object.js';

/** True when `s3://bucket/key` exists with exactly the expected size and checksum. */
export async function storedObjectMatches(
  s3: S3Client,
  bucket: string,
  key: string,
  expected: WrittenObject,
): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (head.ContentLength !== expected.bytes) return false;
    // Only on this rare path is the object read back: its size matches, its bytes must too.
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await got.Body?.transformToByteArray();
    return bytes !== undefined && writtenObjectOf(bytes).sha256 === expected.sha256;
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return false;
    throw error;
  }
}
