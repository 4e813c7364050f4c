/**
 * compress/compress-worker — the entry of a compress/pool worker thread: runs one job at a
 * time with compress/codec's encoders (the same as the main thread's, so the bytes are the
 * same), hashing the tar (diffID) and the blob on the way, and sends the blob back in chunks.
 */
import type { Transform } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { messageOf } from '../errors.js';
import { type Digester, newDigester } from '../oci/digest.js';
import { createEncoder } from './codec.js';
import { type FromWorker, ownedCopy, type ToWorker } from './protocol.js';

interface Job {
  id: number;
  encoder: Transform | undefined;
  diffID: Digester;
  blob: Digester;
  size: number;
}

function post(m: FromWorker): void {
  if ('chunk' in m) parentPort!.postMessage(m, [m.chunk.buffer as ArrayBuffer]);
  else parentPort!.postMessage(m);
}

function emit(job: Job, chunk: Uint8Array): void {
  job.blob.update(chunk);
  job.size += chunk.length;
  post({ op: 'out', job: job.id, chunk: ownedCopy(chunk) });
}

function start(id: number, m: Extract<ToWorker, { op: 'start' }>): Job {
  const job: Job = {
    id,
    encoder: createEncoder(m.spec),
    diffID: newDigester(),
    blob: newDigester(),
    size: 0,
  };
  const enc = job.encoder;
  if (enc) {
    enc.on('data', (c: Buffer) => emit(job, c));
    enc.on('error', (e) => post({ op: 'error', job: id, message: messageOf(e) }));
    enc.on('end', () => finish(job));
  }
  return job;
}

function finish(job: Job): void {
  post({ op: 'done', job: job.id, diffID: job.diffID.digest(), digest: job.blob.digest(), size: job.size });
}

function data(job: Job, chunk: Uint8Array): void {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  job.diffID.update(b);
  if (!job.encoder) {
    emit(job, b);
    post({ op: 'ack', job: job.id });
    return;
  }
  job.encoder.write(b, () => post({ op: 'ack', job: job.id }));
}

let current: Job | undefined;
parentPort!.on('message', (m: ToWorker) => {
  try {
    if (m.op === 'start') {
      current?.encoder?.destroy();
      current = start(m.job, m);
      return;
    }
    if (!current || current.id !== m.job) return; // a late message of an aborted job
    if (m.op === 'data') data(current, m.chunk);
    else if (m.op === 'end') {
      if (current.encoder) current.encoder.end();
      else finish(current);
    } else {
      current.encoder?.destroy();
      current = undefined;
    }
  } catch (err) {
    post({ op: 'error', job: m.job, message: messageOf(err) });
  }
});
