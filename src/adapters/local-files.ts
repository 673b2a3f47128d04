// Helpers shared by the local adapters (directory sink, file state store) for replacing files whole.
import { randomBytes } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * A fresh hidden temp path beside `target` (`.<name>.<random>.tmp`). Beside, not in the OS temp
 * folder, because rename is atomic only within one file system.
 */
export function tempPathBeside(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Flushes a folder's entries to disk, so a rename just made in it survives a power cut. Best effort:
 * some platforms (Windows) and file systems cannot fsync a folder, and the rename has happened anyway.
 */
export async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch {
    // See above: not being able to flush the folder is not a failure of the write.
  } finally {
    await handle?.close().catch(() => {});
  }
}
