/**
 * tar/writer — a streaming tar writer: entries in, tar bytes out, pulled by the consumer so that
 * backpressure reaches the producer of the entries (and of their content).
 *
 * Writes POSIX ustar with PAX extended headers only where needed (see `encodeHeader`), and
 * ends with two zero blocks, without padding to a 10 KiB record (as Go's archive/tar does).
 * Small pieces are gathered into batches so that a tree of many small files does not become
 * a stream of many tiny chunks.
 */
import { BLOCK_SIZE, encodeHeader, paddingFor, TarFormatError, type TarHeaderInit } from './header.js';

/**
 * One entry to write: a header and, for files, content adding up to `header.size` bytes. The
 * writer may hold on to a content chunk until it has gathered a batch: do not reuse its memory.
 */
export interface TarWriteEntry {
  header: TarHeaderInit;
  body?: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

export interface TarWriterOptions {
  /** Pieces smaller than this are gathered into one chunk before being yielded (default 64 KiB). */
  batchSize?: number;
}

const zeros = Buffer.alloc(BLOCK_SIZE * 2);

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Encodes the entries as a tar stream. */
export async function* writeTar(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  options: TarWriterOptions = {},
): AsyncGenerator<Buffer> {
  const batchSize = options.batchSize ?? 64 * 1024;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const take = (): Buffer => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
    pending = [];
    pendingLen = 0;
    return out;
  };
  for await (const { header, body } of entries) {
    const size = header.type === 'file' ? (header.size ?? 0) : 0;
    pending.push(encodeHeader(header));
    pendingLen += pending[pending.length - 1]!.length;
    let written = 0;
    if (body !== undefined) {
      const chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> =
        body instanceof Uint8Array ? [body] : body;
      for await (const c of chunks) {
        const b = toBuffer(c);
        written += b.length;
        if (written > size) break;
        if (b.length >= batchSize) {
          if (pendingLen > 0) yield take();
          yield b;
        } else {
          pending.push(b);
          pendingLen += b.length;
          if (pendingLen >= batchSize) yield take();
        }
      }
    }
    if (written !== size) {
      const name = typeof header.path === 'string' ? header.path : Buffer.from(header.path).toString('utf8');
      if (header.type !== 'file')
        throw new TarFormatError(`${header.type} "${name}": only files have content`);
      throw new TarFormatError(`file "${name}": content is ${written} bytes but its header says ${size}`);
    }
    const pad = paddingFor(size);
    if (pad > 0) {
      pending.push(zeros.subarray(0, pad));
      pendingLen += pad;
    }
    if (pendingLen >= batchSize) yield take();
  }
  pending.push(zeros);
  pendingLen += zeros.length;
  yield take();
}
