// The size and checksum of an object written in one piece, as the port's `complete` takes them.
import { createHash } from 'node:crypto';
import type { WrittenObject } from '../ports.js';

/** `bytes`' size and SHA-256 (hex). */
export function writtenObjectOf(bytes: Uint8Array): WrittenObject {
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
