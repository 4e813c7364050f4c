/**
 * compress/pool — layer compression in worker threads, so that an export uses every core:
 * each layer is one job, and a build's layers (across steps and platforms) run in parallel,
 * one per worker. The main thread keeps the tar side (reading files) and writes the blob to
 * the sink; the worker deflates and hashes both sides.
 *
 * With `localLanes`, the calling thread is a lane too: a job takes it when it is free, before a
 * worker is started, so an export of one big layer (a COPY of a large context) starts no
 * worker at all — a worker's isolate and its in-flight buffers cost tens of MB of peak RSS
 * for no gain there — while several layers at once still spread over every core.
 *
 * A layer whose whole tar fits in `smallLayerBytes` (read ahead before a lane is chosen) is
 * compressed in this thread, lane or no lane: a few milliseconds of deflate on libuv's threads,
 * where a worker would cost its start-up and isolate, and would keep the lane in this thread
 * from the big layer next to it (the RUN layer beside a COPY of a large context).
 *
 * Workers are started on first use, at most `size` (default: the available cores), and are
 * unref'd while idle, so a pool never keeps a process alive; `close()` ends them. The pool is
 * owned by whoever owns the build (worker/worker opens one per command) and passed down; when
 * no worker script is found next to this module (a library run from sources), it compresses
 * in this thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { messageOf, StoreError } from '../errors.js';
import { type Compressor, InThreadCompressor, type LayerTally } from './compressor.js';
import { WorkerJob } from './job.js';
import type { FromWorker } from './protocol.js';
import { type CompressionSpec, compressionKey } from './spec.js';

export interface CompressPoolOptions {
  /** how many worker threads at most; default `os.availableParallelism()` */
  size?: number;
  /** the worker script; default `compress-worker.{js,mjs}` beside this module (or the bundle) */
  workerURL?: URL;
  /** a line per compressed layer (`--debug`) */
  debug?: (line: string) => void;
  /** how many jobs may run in the calling thread at once, before workers are used; default 0 */
  localLanes?: number;
  /** a layer whose tar is at most this many bytes is compressed in this thread; default 1 MiB */
  smallLayerBytes?: number;
}

/** `smallLayerBytes`' default: deflate at level 1 takes a few milliseconds on so much. */
const SMALL_LAYER = 1 << 20;

/** The first chunks of a stream, read ahead, and the whole stream again. */
interface ReadAhead {
  /** the stream ended within the bytes read ahead */
  whole: boolean;
  /** every chunk, those read ahead first */
  stream: AsyncIterable<Buffer>;
  /** ends the source when `stream` will not be read */
  close(): Promise<void>;
}

async function* replay(chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

/** Reads `src` until more than `bytes` have come or it ends. */
async function readAhead(src: AsyncIterable<Buffer>, bytes: number): Promise<ReadAhead> {
  const it = src[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let got = 0;
  while (got <= bytes) {
    const r = await it.next();
    if (r.done) return { whole: true, stream: replay(head), close: async () => {} };
    head.push(r.value);
    got += r.value.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    let ended = false;
    try {
      yield* head.splice(0);
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      ended = true;
    } finally {
      if (!ended) await it.return?.();
    }
  }
  return {
    whole: false,
    stream: rest(),
    close: async () => {
      await it.return?.();
    },
  };
}

/** Where a job runs: the calling thread, or a worker. */
type Lane = 'local' | PoolWorker;

interface PoolWorker {
  thread: Worker;
  /** the job it runs */
  job?: WorkerJob;
}

/** The worker script next to this module: `dist/src/compress/…js`, or the bundle's `…cjs`. */
function findWorkerScript(): URL | undefined {
  for (const rel of ['./compress-worker.js', './compress-worker.cjs']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) return url;
  }
  return undefined;
}

export class CompressPool implements Compressor {
  private readonly size: number;
  private readonly debug: ((line: string) => void) | undefined;
  private workerURL: URL | undefined;
  private readonly all: PoolWorker[] = [];
  private readonly idle: PoolWorker[] = [];
  private readonly waiting: ((lane: Lane) => void)[] = [];
  private readonly localLanes: number;
  private readonly smallLayerBytes: number;
  private localBusy = 0;
  private nextJob = 1;
  private closed = false;
  /** layers compressed in worker threads so far */
  jobs = 0;

  constructor(opts: CompressPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    this.debug = opts.debug;
    this.workerURL = opts.workerURL;
    this.localLanes = opts.localLanes ?? 0;
    this.smallLayerBytes = opts.smallLayerBytes ?? SMALL_LAYER;
  }

  /** How many worker threads have been started. */
  get workers(): number {
    return this.all.length;
  }

  async compress(tar: AsyncIterable<Buffer>, spec: CompressionSpec, sink: Writable): Promise<LayerTally> {
    this.workerURL ??= findWorkerScript();
    if (!this.workerURL || this.closed) {
      const why = this.closed ? 'the pool is closed' : 'no worker script found';
      this.debug?.(`compression: ${compressionKey(spec)} in this thread (${why})`);
      return new InThreadCompressor().compress(tar, spec, sink);
    }
    const ahead = await readAhead(tar, this.smallLayerBytes);
    if (ahead.whole) return this.compressHere(ahead.stream, spec, sink, 'a small layer');
    let lane: Lane;
    try {
      lane = await this.acquire();
    } catch (err) {
      // no worker could start (acquire spawns one): the source is ended, not left open
      await ahead.close();
      throw new StoreError(`compressing a layer: starting a worker thread: ${messageOf(err)}`, {
        cause: err,
      });
    }
    if (lane === 'local') {
      try {
        return await this.compressHere(ahead.stream, spec, sink, 'its lane');
      } finally {
        this.release('local');
      }
    }
    const w = lane;
    const started = performance.now();
    try {
      const job = new WorkerJob(w.thread, this.nextJob++, spec);
      w.job = job;
      const t = await job.run(ahead.stream, sink);
      this.jobs++;
      const ms = Math.round(performance.now() - started);
      this.debug?.(
        `compression: ${compressionKey(spec)} layer ${t.digest} (${t.size} bytes) in worker thread ${w.thread.threadId} in ${ms} ms`,
      );
      return t;
    } finally {
      this.release(w);
    }
  }

  /** A job in the calling thread (zlib itself runs on libuv's threads); `why` for `--debug`. */
  private async compressHere(
    tar: AsyncIterable<Buffer>,
    spec: CompressionSpec,
    sink: Writable,
    why: string,
  ): Promise<LayerTally> {
    const started = performance.now();
    const t = await new InThreadCompressor().compress(tar, spec, sink);
    const ms = Math.round(performance.now() - started);
    this.debug?.(
      `compression: ${compressionKey(spec)} layer ${t.digest} (${t.size} bytes) in this thread (${why}) in ${ms} ms`,
    );
    return t;
  }

  /** Ends the worker threads; jobs still running fail, later ones run in this thread. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.all.splice(0);
    this.idle.length = 0;
    // jobs still waiting for a worker run in this thread, as jobs after the close do
    for (const next of this.waiting.splice(0)) {
      this.localBusy++;
      next('local');
    }
    for (const w of all) w.job?.fail(new StoreError('compressing a layer: the compression pool was closed'));
    await Promise.all(all.map((w) => w.thread.terminate()));
  }

  private acquire(): Promise<Lane> {
    if (this.localBusy < this.localLanes) {
      this.localBusy++;
      return Promise.resolve('local');
    }
    const w = this.idle.pop() ?? (this.all.length < this.size ? this.spawn() : undefined);
    if (w) {
      w.thread.ref();
      return Promise.resolve(w);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(w: Lane): void {
    if (w === 'local') {
      const next = this.waiting.shift();
      if (next) next('local');
      else this.localBusy--;
      return;
    }
    w.job = undefined;
    if (!this.all.includes(w)) return; // it died, or the pool was closed
    const next = this.waiting.shift();
    if (next) {
      next(w);
      return;
    }
    w.thread.unref();
    this.idle.push(w);
  }

  private spawn(): PoolWorker {
    const thread = new Worker(this.workerURL!);
    const w: PoolWorker = { thread };
    thread.on('message', (m: FromWorker) => w.job?.onMessage(m));
    const died = (err: Error) => {
      const i = this.all.indexOf(w);
      if (i >= 0) this.all.splice(i, 1);
      const j = this.idle.indexOf(w);
      if (j >= 0) this.idle.splice(j, 1);
      w.job?.fail(
        new StoreError(`compressing a layer: worker thread ${thread.threadId} failed: ${err.message}`),
      );
      // a job waiting for a worker gets a new one
      const next = this.waiting.shift();
      if (next && !this.closed) next(this.spawn());
    };
    thread.on('error', died);
    thread.on('exit', (code) => {
      if (this.all.includes(w)) died(new Error(`exited with code ${code}`));
    });
    this.all.push(w);
    return w;
  }
}
