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
