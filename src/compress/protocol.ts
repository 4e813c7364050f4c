/**
 * compress/protocol — the messages between compress/pool and its worker threads. Every
 * message names its job, so that a worker can be reused at once after an aborted job: late
 * messages of the old job are dropped on both sides.
 */
import type { Digest } from '../oci/digest.js';
import type { CompressionSpec } from './spec.js';

/** main thread → worker */
export type ToWorker =
  | { op: 'start'; job: number; spec: CompressionSpec }
  /** a chunk of tar (its buffer transferred) */
  | { op: 'data'; job: number; chunk: Uint8Array }
  | { op: 'end'; job: number }
  | { op: 'abort'; job: number };

/** worker → main thread */
export type FromWorker =
  /** a chunk of the blob (its buffer transferred) */
  | { op: 'out'; job: number; chunk: Uint8Array }
  /** the encoder took one `data` chunk */
  | { op: 'ack'; job: number }
  | { op: 'done'; job: number; diffID: Digest; digest: Digest; size: number }
  | { op: 'error'; job: number; message: string };

/** A copy of `b` in an ArrayBuffer of its own, fit to be transferred. */
export function ownedCopy(b: Uint8Array): Uint8Array {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy;
}

/**
 * `src` regrouped into chunks of about `size` bytes, each in an ArrayBuffer of its own: a tar
 * of small files comes as many small chunks (a 512-byte header, a short body), and one
 * message per chunk would cost more than the deflate.
 */
export async function* batches(src: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let batch = new Uint8Array(size);
  let used = 0;
  for await (const c of src) {
    if (used + c.byteLength > size && used > 0) {
      yield batch.subarray(0, used);
      batch = new Uint8Array(size);
      used = 0;
    }
    if (c.byteLength >= size) {
      yield ownedCopy(c);
      continue;
    }
    batch.set(c, used);
    used += c.byteLength;
  }
  if (used > 0) yield batch.subarray(0, used);
}
