// BatchSink on Amazon S3. Objects stream through multipart upload, so memory per open object stays at
// about two upload parts whatever the object's size; an object smaller than one part goes up in one
// PutObject. Encryption at rest is the bucket's default (SSE-S3 or SSE-KMS, set by the stack); requests
// use TLS unless an emulator endpoint is given.
//
// Every write is create-only: PutObject and CompleteMultipartUpload carry `If-None-Match: *`, and S3
// answers 412 Precondition Failed when the key exists. So a second writer of a key never replaces what
// the first wrote: a write that fails although the key holds exactly its bytes (a retry whose first
// answer was lost, or a second writer of the same bytes) is a success; other bytes are left as they are
// and the write fails with ObjectExistsError, unless its caller says the object found is no writer's to
// keep (then it is replaced, conditional on the ETag it was seen with). The multipart calls are driven
// here rather than by lib-storage's Upload, which cannot keep an upload open after a refused
// completion, so an object could not take the place of one found to be no writer's.
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { connectionFailure, isAccessDenied, ObjectExistsError, PullerError } from '../errors.js';
import type { BatchSink, CompleteOptions, ObjectUpload, WrittenObject } from '../ports.js';
import { compareStoredObject, type StoredObject } from './stored-object-check.js';
import { writtenObjectOf } from './written-object.js';

/**
 * S3's smallest multipart part. A run keeps one object open per partition, each filling one part while
 * the one before uploads, so this bounds memory at about 10 MiB per partition whatever the window's size.
 */
const UPLOAD_PART_BYTES = 5 * 1024 * 1024;

/** The condition of a write: create-only, or replace exactly the object seen (by its ETag). */
type WriteCondition = { readonly IfNoneMatch: '*' } | { readonly IfMatch: string } | Record<string, never>;

const CREATE_ONLY: WriteCondition = { IfNoneMatch: '*' };

/** Writes batch objects under `s3://bucket/` (keys already carry the prefix). */
export class S3Sink implements BatchSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  openObject(key: string, contentType: string): ObjectUpload {
    return new S3ObjectUpload(this.s3, this.bucket, key, contentType, this.locate(key));
  }

  async putObject(key: string, body: Buffer, contentType: string): Promise<void> {
    const upload = this.openObject(key, contentType);
    try {
      await upload.write(body);
      await upload.complete(writtenObjectOf(body));
    } catch (error) {
      await upload.abort();
      throw error;
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

type UploadPhase = 'open' | 'completing' | 'completed' | 'aborted';

/** One object on its way to S3: full parts upload one at a time as they fill; see the file comment. */
class S3ObjectUpload implements ObjectUpload {
  private readonly buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private created: Promise<string> | undefined;
  /** Whether a multipart upload may still be open in S3 (to abort). */
  private multipartOpen = false;
  private partsStarted = 0;
  private readonly parts: CompletedPart[] = [];
  /** The part uploading now, if any; a failed one sets `failure`. */
  private uploading: Promise<void> = Promise.resolve();
  private failure: unknown;
  private phase: UploadPhase = 'open';
  /** What `mayReplace` rejected with, passed on unwrapped. */
  private callerFailure: unknown;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly contentType: string,
    private readonly location: string,
  ) {}

  /** Resolves once the bytes are buffered; waits while a full part is buffered and the one before uploads. */
  async write(chunk: Buffer): Promise<void> {
    this.assertOpen('write to');
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= UPLOAD_PART_BYTES) {
      await this.uploading;
      this.throwIfFailed();
      // Another write may have sent the full part while this one waited.
      if (this.bufferedBytes < UPLOAD_PART_BYTES) break;
      const part = this.uploadPart(this.take(UPLOAD_PART_BYTES));
      this.uploading = part.catch((error: unknown) => {
        this.failure = error;
      });
    }
  }

  async complete(written: WrittenObject, options: CompleteOptions = {}): Promise<void> {
    this.assertOpen('complete');
    this.phase = 'completing';
    try {
      await this.uploading;
      this.throwIfFailed();
      if (this.created === undefined) {
        // Smaller than one part: one PutObject, whose body is at hand to send again.
        const body = this.take(this.bufferedBytes);
        await this.createOnly(written, options, (condition) => this.put(body, condition), true);
      } else {
        if (this.bufferedBytes > 0) await this.uploadPart(this.take(this.bufferedBytes));
        await this.createOnly(written, options, (condition) => this.completeMultipart(condition), false);
      }
      this.phase = 'completed';
    } catch (error) {
      this.phase = 'aborted';
      await this.abortMultipart();
      throw error instanceof PullerError || error === this.callerFailure
        ? error
        : connectionFailure(`could not write ${this.location}: ${describe(error)}`, error);
    }
    // An upload a refused completion left open (its object was there already) is not needed any more.
    await this.abortMultipart();
  }

  async abort(): Promise<void> {
    if (this.phase === 'completed' || this.phase === 'aborted') return;
    this.phase = 'aborted';
    await this.uploading;
    await this.abortMultipart();
    this.buffered.length = 0;
    this.bufferedBytes = 0;
  }

  /**
   * Writes with `write` create-only; when that fails, looks at what the key holds: exactly `written`
   * is a success, nothing is a failure (after one more try when `mayWriteAgain`), and other bytes stay
   * unless `options.mayReplace` says they may go (then they are replaced, conditional on their ETag).
   */
  private async createOnly(
    written: WrittenObject,
    options: CompleteOptions,
    write: (condition: WriteCondition) => Promise<unknown>,
    mayWriteAgain: boolean,
  ): Promise<void> {
    for (let tries = mayWriteAgain ? 2 : 1; ; ) {
      let failure: unknown;
      try {
        await write(CREATE_ONLY);
        return;
      } catch (error) {
        failure = error;
      }
      // A refusal was not applied, and trying again or reading back would be refused too.
      if (isAccessDenied(failure))
        throw connectionFailure(`could not write ${this.location}: ${describe(failure)}`, failure);
      tries -= 1;
      const found = await this.compare(written, failure);
      if (found.kind === 'same') return;
      if (found.kind === 'absent') {
        if (tries > 0) continue;
        // The bytes of a multipart upload were streamed and are gone: the next run writes the object again.
        throw connectionFailure(`could not write ${this.location}: ${describe(failure)}`, failure);
      }
      if (!(await this.askCaller(options))) {
        throw new ObjectExistsError(this.key, this.location, found, written, { cause: failure });
      }
      try {
        await write(found.etag === undefined ? {} : { IfMatch: found.etag });
        return;
      } catch (error) {
        const after = await this.compare(written, error);
        if (after.kind === 'same') return;
        throw after.kind === 'other'
          ? new ObjectExistsError(this.key, this.location, after, written, { cause: error })
          : connectionFailure(`could not write ${this.location}: ${describe(error)}`, error);
      }
    }
  }

  /** Whether the caller lets this object replace the one found; its rejection is passed on as it is. */
  private async askCaller(options: CompleteOptions): Promise<boolean> {
    try {
      return (await options.mayReplace?.()) ?? false;
    } catch (error) {
      this.callerFailure = error;
      throw error;
    }
  }

  private async compare(written: WrittenObject, failure: unknown): Promise<StoredObject> {
    try {
      return await compareStoredObject(this.s3, this.bucket, this.key, written);
    } catch (error) {
      throw connectionFailure(
        `could not write ${this.location} (${describe(failure)}), nor read back what it holds: ${describe(error)}`,
        error,
      );
    }
  }

  private async put(body: Buffer, condition: WriteCondition): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key,
        Body: body,
        ContentType: this.contentType,
        ...condition,
      }),
    );
  }

  private async uploadPart(body: Buffer): Promise<void> {
    const partNumber = ++this.partsStarted;
    this.created ??= this.s3
      .send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          ContentType: this.contentType,
          ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
        }),
      )
      .then((created) => {
        if (!created.UploadId) throw new Error('CreateMultipartUpload answered no UploadId');
        this.multipartOpen = true;
        return created.UploadId;
      });
    const uploadId = await this.created;
    const answer = await this.s3.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
      }),
    );
    this.parts.push({
      PartNumber: partNumber,
      ETag: answer.ETag,
      ...(answer.ChecksumCRC32 ? { ChecksumCRC32: answer.ChecksumCRC32 } : {}),
    });
  }

  private async completeMultipart(condition: WriteCondition): Promise<void> {
    const uploadId = await (this.created as Promise<string>);
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0)) },
        ...condition,
      }),
    );
    this.multipartOpen = false;
  }

  /** Aborts the multipart upload if one may be open; uploads a failed abort leaves are removed by the bucket's lifecycle rule. */
  private async abortMultipart(): Promise<void> {
    if (!this.multipartOpen || this.created === undefined) return;
    this.multipartOpen = false;
    const uploadId = await this.created.catch(() => undefined);
    if (uploadId === undefined) return;
    await this.s3
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }))
      .catch(() => {});
  }

  /** The first `bytes` buffered bytes, as one buffer. */
  private take(bytes: number): Buffer {
    const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
    this.buffered.length = 0;
    const taken = all.subarray(0, bytes);
    if (bytes < all.length) this.buffered.push(all.subarray(bytes));
    this.bufferedBytes = all.length - bytes;
    return taken;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private assertOpen(action: string): void {
    if (this.phase !== 'open') {
      throw new PullerError(`cannot ${action} ${this.location}: the upload was already ${this.phase}`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
