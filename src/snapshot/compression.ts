/**
 * snapshot/compression — the layer blob → tar byte stream step: compression detected from the
 * first bytes (as containerd's DecompressStream does), gzip through node:zlib and zstd
 * (`…tar+zstd`) through compress/codec's binding, streaming, with the compressed bytes
 * counted and hashed on the way for digest verification. bzip2 and xz layers are refused
 * with an `UnsupportedError`.
 */
import { Readable } from 'node:stream';
import { createDecoder } from '../compress/codec.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { type Digest, isLayerType, newDigester } from '../oci/index.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

/**
 * Recognises a compressed stream by its magic number (containerd's and moby's
 * DetectCompression); shared by layer blobs and ADD's local archives.
 */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (magic: readonly number[]) => magic.every((b, i) => head[i] === b);
  if (starts([0x1f, 0x8b, 0x08])) return 'gzip';
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (starts([0x42, 0x5a, 0x68])) return 'bzip2';
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  return 'none';
}

/** Digest and size of the bytes that went through a counter. */
export interface Counted {
  digest: Digest;
  size: number;
}

/** A blob opened as a tar stream, with the tally of its compressed bytes. */
export interface OpenedLayer {
  compression: Compression;
  tar: AsyncIterable<Buffer>;
  /** Valid once `tar` has been read to its end. */
  compressed(): Counted;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * Opens a layer blob of the given media type. `what` names the layer in error messages
 * (`layer sha256:…`).
 */
export async function openLayer(
  source: AsyncIterable<Uint8Array>,
  mediaType: string,
  what: string,
): Promise<OpenedLayer> {
  if (!isLayerType(mediaType)) {
    await source[Symbol.asyncIterator]().return?.();
    throw new InvalidArgumentError(`unpacking ${what}: "${mediaType}" is not a layer media type`);
  }
  const hasher = newDigester();
  let size = 0;
  const it = source[Symbol.asyncIterator]();
  // gather enough bytes to recognise the format
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 6) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = toBuffer(r.value);
    head.push(b);
    headLen += b.length;
  }
  const first = Buffer.concat(head);
  const compression = detectCompression(first);
  if (compression === 'bzip2' || compression === 'xz') {
    if (!ended) await it.return?.();
    throw new UnsupportedError(`unpacking ${what}: ${compression}-compressed layers are not supported`);
  }
  async function* raw(): AsyncGenerator<Buffer> {
    try {
      for (const b of head) {
        hasher.update(b);
        size += b.length;
        yield b;
      }
      while (!ended) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          return;
        }
        const b = toBuffer(r.value);
        hasher.update(b);
        size += b.length;
        yield b;
      }
    } finally {
      // the reader gave up early: release the source
      if (!ended) await it.return?.();
    }
  }
  let digest: Digest | undefined;
  const compressed = (): Counted => {
    digest ??= hasher.digest();
    return { digest, size };
  };
  if (compression === 'none') return { compression, tar: raw(), compressed };
  const input = Readable.from(raw(), { objectMode: false, highWaterMark: 1 << 20 });
  let decoder: ReturnType<typeof createDecoder>;
  try {
    decoder = createDecoder(compression);
  } catch (err) {
    input.destroy();
    throw err;
  }
  input.on('error', (e) => decoder.destroy(e));
  decoder.on('close', () => input.destroy());
  input.pipe(decoder);
  return { compression, tar: decoder, compressed };
}
