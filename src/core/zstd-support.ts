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

/** zstd's own default level: the speed/size balance its authors chose, fixed so retries write the same bytes. */
export const ZSTD_LEVEL = 3;

/** A streaming zstd compressor at `ZSTD_LEVEL`, when this runtime has one (single-threaded: deterministic). */
export function createZstdStream(): Transform | undefined {
  const api = zlib as unknown as {
    createZstdCompress?: (options: { params: Record<number, number> }) => Transform;
    constants: Record<string, number>;
  };
  const level = api.constants.ZSTD_c_compressionLevel;
  if (api.createZstdCompress === undefined || level === undefined) return undefined;
  return api.createZstdCompress({ params: { [level]: ZSTD_LEVEL } });
}

/** Whether `zstdCompressor()` gives a compressor here. */
export function zstdAvailable(): boolean {
  return zstdCompressor() !== undefined;
}
