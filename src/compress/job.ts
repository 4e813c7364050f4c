/**
 * compress/job — one layer compressed by one worker thread (compress/pool hands out the
 * threads): the tar goes to the worker in batches, at most `WINDOW` ahead of its
 * acknowledgements, and the blob comes back into a Readable piped to the sink; the tar side
 * waits while a slow sink has `OUT_HIGH_WATER` bytes unread. A failure on any side (tar,
 * worker, sink) aborts the job in the worker and fails it here.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Worker } from 'node:worker_threads';
import { StoreError } from '../errors.js';
import type { LayerTally } from './compressor.js';
import { batches, type FromWorker, type ToWorker } from './protocol.js';
import { type CompressionSpec, compressionKey } from './spec.js';

/** tar bytes per message to a worker */
const BATCH = 256 * 1024;
/** tar batches sent ahead of the worker's acknowledgements */
const WINDOW = 4;
/** blob bytes buffered for a slow sink before the tar side waits */
const OUT_HIGH_WATER = 4 << 20;

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

export class WorkerJob {
  private inflight = 0;
  private wake: (() => void) | undefined;
  private stopped = false;
  private result: LayerTally | undefined;
  private readonly out = new Readable({ read: () => this.wake?.(), highWaterMark: OUT_HIGH_WATER });

  constructor(
    private readonly thread: Worker,
    private readonly id: number,
    private readonly spec: CompressionSpec,
  ) {}

  /** Compresses `tar` into `sink` in the worker. */
  async run(tar: AsyncIterable<Buffer>, sink: Writable): Promise<LayerTally> {
    this.post({ op: 'start', job: this.id, spec: this.spec });
    const written = pipeline(this.out, sink).catch((err: unknown) => {
      if (!this.stopped) this.fail(asError(err));
      throw err;
    });
    await Promise.all([written, this.pump(tar)]);
    if (!this.result)
      throw new StoreError('compressing a layer in a worker thread: the worker stopped early');
    return this.result;
  }

  /** A message of the worker's (those of other jobs are ignored). */
  onMessage(m: FromWorker): void {
    if (m.job !== this.id) return;
    switch (m.op) {
      case 'out':
        this.out.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
        return;
      case 'ack':
        this.inflight--;
        this.wake?.();
        return;
      case 'done':
        this.result = { diffID: m.diffID, digest: m.digest, size: m.size };
        this.out.push(null);
        return;
      case 'error':
        this.fail(
          new StoreError(
            `compressing a layer (${compressionKey(this.spec)}) in a worker thread: ${m.message}`,
          ),
        );
    }
  }

  /** Stops the job: the worker drops it, the sink is destroyed, `run` rejects with `err`. */
  fail(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.post({ op: 'abort', job: this.id });
    this.out.destroy(err);
    this.wake?.();
  }

  private async pump(tar: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const chunk of batches(tar, BATCH)) {
        while (!this.stopped && (this.inflight >= WINDOW || this.out.readableLength >= OUT_HIGH_WATER)) {
          await new Promise<void>((r) => {
            this.wake = r;
          });
        }
        if (this.stopped) return;
        this.post({ op: 'data', job: this.id, chunk });
        this.inflight++;
      }
      this.post({ op: 'end', job: this.id });
    } catch (err) {
      this.fail(asError(err));
    }
  }

  private post(m: ToWorker): void {
    if (m.op === 'data') this.thread.postMessage(m, [m.chunk.buffer as ArrayBuffer]);
    else this.thread.postMessage(m);
  }
}
