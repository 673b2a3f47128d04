// Whether this runtime can write zstd: Node's zlib has it from 22.15 (the Lambda's runtime does; Node 20
// does not).
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

/** Node's synchronous zstd compressor, when this runtime has one. */
export function zstdCompressor(): ((input: Uint8Array) => Uint8Array) | undefined {
  const compress = (zlib as unknown as Record<string, unknown>).zstdCompressSync;
  if (typeof compress !== 'function') return undefined;
  return (input) => (compress as (input: Uint8Array) => Buffer)(input);
}

/** A streaming zstd compressor at `level`, when this runtime has one (single-threaded: deterministic). */
export function createZstdStream(level: number): Transform | undefined {
  const api = zlib as unknown as {
    createZstdCompress?: (options: { params: Record<number, number> }) => Transform;
    constants: Record<string, number>;
  };
  const levelParameter = api.constants.ZSTD_c_compressionLevel;
  if (api.createZstdCompress === undefined || levelParameter === undefined) return undefined;
  return api.createZstdCompress({ params: { [levelParameter]: level } });
}

/** Whether `zstdCompressor()` gives a compressor here. */
export function zstdAvailable(): boolean {
  return zstdCompressor() !== undefined;
}
