/**
 * compress/codec — the byte-level encoders and decoders of layer blobs, in this thread: gzip
 * through node:zlib, zstd through the zstd-napi binding (Node 20's zlib has none), loaded on
 * first use so that commands which never touch zstd never load it. The worker threads of
 * compress/pool run these same encoders, so a layer's bytes do not depend on where it was
 * compressed.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { createGunzip, createGzip, constants as zc } from 'node:zlib';
import { messageOf, UnsupportedError } from '../errors.js';
import { type CompressionSpec, levelOf } from './spec.js';

/** The part of zstd-napi polyarch uses: its stream classes. */
interface ZstdBinding {
  CompressStream: new (params: { compressionLevel?: number }) => Transform;
  DecompressStream: new () => Transform;
}

/** Loads zstd-napi (cached by Node's require after the first call). */
export function loadZstd(): ZstdBinding {
  try {
    return createRequire(import.meta.url)('zstd-napi') as ZstdBinding;
  } catch (err) {
    throw new UnsupportedError(`zstd: loading the zstd-napi binding: ${messageOf(err)}`, { cause: err });
  }
}

/** zlib's settings for layer gzip: one place, so in-thread and worker bytes are equal. */
export function gzipOptions(level: number): { level: number; chunkSize: number; strategy: number } {
  return { level, chunkSize: 128 * 1024, strategy: zc.Z_DEFAULT_STRATEGY };
}

/** A compressing transform for `spec`, or undefined for `uncompressed`. */
export function createEncoder(spec: CompressionSpec): Transform | undefined {
  switch (spec.type) {
    case 'gzip':
      return createGzip(gzipOptions(levelOf(spec)));
    case 'zstd': {
      const zstd = loadZstd();
      return new zstd.CompressStream({ compressionLevel: levelOf(spec) });
    }
    case 'uncompressed':
      return undefined;
  }
}

/** A decompressing transform for a gzip or zstd stream. */
export function createDecoder(type: 'gzip' | 'zstd'): Transform {
  if (type === 'gzip') return createGunzip({ chunkSize: 256 * 1024 });
  return new (loadZstd().DecompressStream)();
}
