// The MetadataFiles port over S3: a table's manifests and manifest lists, by their s3:// locations.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { MetadataFiles } from './ports.js';

/** The bucket and key of an `s3://bucket/key` location. */
export function parseS3Location(location: string): { bucket: string; key: string } {
  const match = /^s3a?:\/\/([^/]+)\/(.+)$/.exec(location);
  if (match === null) throw new Error(`not an s3:// location: ${location}`);
  return { bucket: match[1] as string, key: match[2] as string };
}

/** Reads and writes metadata files in S3 with the given client. */
export class S3MetadataFiles implements MetadataFiles {
  constructor(private readonly s3: S3Client) {}

  async read(location: string): Promise<Buffer> {
    const { bucket, key } = parseS3Location(location);
    const answer = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (answer.Body === undefined) throw new Error(`no body for ${location}`);
    return Buffer.from(await answer.Body.transformToByteArray());
  }

  async write(location: string, body: Buffer): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    await this.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/avro' }),
    );
  }
}
