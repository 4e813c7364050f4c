/**
 * compress/compressor — the seam between a layer's tar stream and its blob: a `Compressor`
 * takes the tar, compresses it as a `CompressionSpec` says into a sink, and tallies both
 * sides (sha256 of the tar = the diffID; sha256 and size of the blob). Two implementations:
 * `InThreadCompressor` here (the fallback for library callers that pass none), and
 * compress/pool's `CompressPool`, which does the same work in worker threads.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, newDigester } from '../oci/digest.js';
import { createEncoder } from './codec.js';
import type { CompressionSpec } from './spec.js';

/** What a compression of one layer counted. */
export interface LayerTally {
  /** sha256 of the uncompressed tar */
  diffID: Digest;
  /** sha256 of the blob as written to the sink */
  digest: Digest;
  size: number;
}

export interface Compressor {
  /** Compresses `tar` into `sink` (ended when the blob is complete). */
  compress(tar: AsyncIterable<Buffer>, spec: CompressionSpec, sink: Writable): Promise<LayerTally>;
}

/** Passes chunks through, hashing (and counting) them on the way. */
export function tally(): {
  pass: (src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;
  result: () => { digest: Digest; size: number };
} {
  const hash = newDigester();
  let size = 0;
  return {
    pass: async function* (src) {
      for await (const c of src) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    },
    result: () => ({ digest: hash.digest(), size }),
  };
}

/** Compresses in the calling thread (node:zlib, zstd-napi). */
export class InThreadCompressor implements Compressor {
  async compress(tar: AsyncIterable<Buffer>, spec: CompressionSpec, sink: Writable): Promise<LayerTally> {
    const input = tally();
    const output = tally();
    const encoder = createEncoder(spec);
    if (encoder) await pipeline(tar, input.pass, encoder, output.pass, sink);
    else await pipeline(tar, input.pass, output.pass, sink);
    return { diffID: input.result().digest, ...output.result() };
  }
}
