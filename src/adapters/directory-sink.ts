// The local-folder BatchSink for the CLI: the same keys as S3, each a file under a root folder.
// An object becomes visible only whole: bytes go to a hidden temp file beside the target, which is
// fsynced and then hard-linked to the key's path. A link, like S3's `If-None-Match: *`, fails when the
// path exists, so writes are create-only as on S3: the same bytes already there are a success, other
// bytes stay unless the caller says they are no writer's to keep (then a rename, atomic within one file
// system, puts the new file in their place).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ObjectExistsError, PullerError } from '../errors.js';
import type { BatchSink, CompleteOptions, ObjectUpload, WrittenObject } from '../ports.js';
import { syncDirectory, tempPathBeside } from './local-files.js';
import { writtenObjectOf } from './written-object.js';

/** Writes batch objects as files under `root`, key `a/b/c.json` at `<root>/a/b/c.json`. */
export class DirectorySink implements BatchSink {
  /** The absolute root folder; created on the first write. */
  readonly root: string;

  constructor(rootPath: string) {
    this.root = resolve(rootPath);
  }

  /** Starts a file for `key`; nothing appears under the key until `complete()`. */
  openObject(key: string, _contentType: string): ObjectUpload {
    return new FileUpload(key, this.pathOf(key));
  }

  /** Writes a small object in one call, atomically like `openObject`. */
  async putObject(key: string, body: Buffer, _contentType: string): Promise<void> {
    const upload = new FileUpload(key, this.pathOf(key));
    try {
      await upload.write(body);
      await upload.complete(writtenObjectOf(body));
    } catch (error) {
      await upload.abort();
      throw error;
    }
  }

  /** The absolute path of `key`'s file. */
  locate(key: string): string {
    return this.pathOf(key);
  }

  async findKey(prefix: string, suffix: string): Promise<string | undefined> {
    const folder = this.pathOf(prefix);
    const names = await readdir(folder, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    // Temp files of unfinished writes are hidden (a leading '.') and never count.
    const found = names.find((name) => name.endsWith(suffix) && !name.split(/[\\/]/).pop()?.startsWith('.'));
    return found === undefined ? undefined : `${prefix}/${found.split(/[\\/]/).join('/')}`;
  }

  private pathOf(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split('/'));
  }
}

/**
 * Rejects keys that would land outside the root or that no S3 key layout produces: empty, absolute,
 * `.`/`..` or empty segments, backslashes (a path separator on Windows) and NUL.
 */
function validateKey(key: string): void {
  const reason =
    key === ''
      ? 'it is empty'
      : key.startsWith('/')
        ? "it starts with '/'"
        : key.includes('\\') || key.includes('\0')
          ? 'it contains a backslash or NUL'
          : key.split('/').some((segment) => segment === '..' || segment === '.')
            ? "it has a '.' or '..' segment"
            : key.split('/').some((segment) => segment === '')
              ? 'it has an empty segment'
              : undefined;
  if (reason) {
    throw new PullerError(`object key '${key}' cannot be written to a folder: ${reason}`);
  }
}

type UploadPhase = 'open' | 'completed' | 'aborted';

/** One object being written: a temp file that is linked to the target when complete. */
class FileUpload implements ObjectUpload {
  private readonly temp: string;
  private handle: Promise<FileHandle> | undefined;
  /** Writes are chained so bytes land in call order even if a caller does not await each one. */
  private tail: Promise<void> = Promise.resolve();
  private phase: UploadPhase = 'open';

  constructor(
    private readonly key: string,
    private readonly target: string,
  ) {
    this.temp = tempPathBeside(target);
  }

  /** Resolves once the chunk is handed to the OS, so a fast producer waits for the disk. */
  async write(chunk: Buffer): Promise<void> {
    this.assertOpen('write to');
    const next = this.tail.then(async () => {
      const handle = await this.fileHandle();
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, written, chunk.length - written);
        written += bytesWritten;
      }
    });
    // A failed write fails this call; later calls fail too, through assertOpen or the same handle.
    this.tail = next.catch(() => {});
    return next;
  }

  /** Creates the target from the temp file, create-only; `written` tells the same bytes from others. */
  async complete(written: WrittenObject, options: CompleteOptions = {}): Promise<void> {
    this.assertOpen('complete');
    this.phase = 'completed';
    await this.tail;
    // An object with no bytes still gets its (empty) file.
    const handle = await this.fileHandle();
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await this.place(written, options);
    } finally {
      // After a link the temp name is a second name of the target; after a rename it is gone.
      await unlink(this.temp).catch(() => {});
    }
    await syncDirectory(dirname(this.target));
  }

  private async place(written: WrittenObject, options: CompleteOptions): Promise<void> {
    try {
      await link(this.temp, this.target);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const found = await fileSummary(this.target);
    if (found.bytes === written.bytes && found.sha256 === written.sha256) return;
    if (!(await options.mayReplace?.())) {
      throw new ObjectExistsError(this.key, this.target, found, written);
    }
    await rename(this.temp, this.target);
  }

  async abort(): Promise<void> {
    // Aborting a completed object changes nothing, as with S3 once CompleteMultipartUpload succeeded.
    if (this.phase !== 'open') return;
    this.phase = 'aborted';
    await this.tail;
    if (this.handle) {
      await this.handle.then((h) => h.close()).catch(() => {});
      await unlink(this.temp).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }

  private assertOpen(action: string): void {
    if (this.phase !== 'open') {
      throw new PullerError(`cannot ${action} ${this.target}: the upload was already ${this.phase}`);
    }
  }

  private fileHandle(): Promise<FileHandle> {
    this.handle ??= mkdir(dirname(this.target), { recursive: true }).then(() => open(this.temp, 'wx'));
    return this.handle;
  }
}

/** A file's size and SHA-256, read in a stream. */
async function fileSummary(path: string): Promise<WrittenObject> {
  const info = await stat(path);
  if (!info.isFile()) throw new PullerError(`${path} exists and is not a file`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { bytes: info.size, sha256: hash.digest('hex') };
}
