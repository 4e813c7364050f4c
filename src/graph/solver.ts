/**
 * graph/solver — runs a graph of vertices: inputs first, independent vertices in parallel
 * (process-running ops bounded by a concurrency limit), each distinct cache key once, and a
 * key already in the cache not at all.
 *
 * A vertex's key is computed from its inputs' keys, never their results, so a build whose
 * final steps are cached needs no base image unpacked and no step run: the no-change rebuild
 * reports every step `CACHED` and does nothing else. A key not in the cache may be found in
 * an imported cache (`SolverOptions.imported`): such a hit is lazy (its layers are descriptors
 * and where to get them) and is made usable (`SolverOptions.materialize`), and recorded in the
 * cache, only when a step that really runs takes it as an input. Ops are carried out by typed
 * runners (`SolverOptions.runners`), one per op type.
 */
import { BuildError, CancelledError } from '../errors.js';
import { type Digest, digestOf } from '../oci/digest.js';
import type { Progress, VertexHandle } from '../progress/writer.js';
import type { CacheRecord, CacheStore } from './cache.js';
import { cacheKey } from './cachekey.js';
import { isLazy, type LayerInfo, type Op, type OpType, type Vertex } from './ops.js';
import { Semaphore } from './semaphore.js';

/** A solved vertex: a layer chain, or a plain directory (the build context). */
export type Result = { kind: 'layers'; layers: LayerInfo[] } | { kind: 'dir'; dir: string };

export interface RunContext {
  vertex: Vertex;
  key: Digest;
  progress: VertexHandle;
  signal: AbortSignal;
  /** the results of the vertex's inputs, in order */
  inputs: Result[];
}

export interface OpRunner<O extends Op = Op> {
  /**
   * Content checksums of what the op reads from each input that is a plain directory (the
   * build context); they go into the cache key. Called before the key is known.
   */
  checksums?(op: O, inputs: readonly Vertex[], signal: AbortSignal): Promise<(string | undefined)[]>;
  /** Produces the result. Input results are given in `ctx.inputs`. */
  run(op: O, ctx: RunContext): Promise<Result>;
  /** true when the result is not put in the cache (sources that are cheap to re-resolve) */
  uncached?: boolean;
  /** true when the op takes one of the limited execution slots */
  heavy?: boolean;
  /** what an uncached source shows when a build from the cache does not need to run it */
  reportResolved?(op: O, progress: VertexHandle): void;
}

export type OpRunners = { [K in OpType]: OpRunner<Extract<Op, { type: K }>> };

export interface SolverOptions {
  cache: CacheStore;
  runners: OpRunners;
  progress: Progress;
  /** parallel heavy ops (default: 2) */
  concurrency?: number;
  /**
   * Whether a cached result can still be used (its layers may have been pruned by hand or a
   * crash); a record that cannot is dropped and the step runs again. Default: always.
   */
  usable?: (layers: readonly LayerInfo[]) => Promise<boolean>;
  /**
   * A key missing from the cache looked up in the imported caches (`--cache-from`): the layer
   * chain, lazy (LayerInfo.origin) or usable here; undefined: not there. A usable chain is
   * recorded in the cache like a result at once, a lazy one once it is materialized.
   */
  imported?: (
    key: Digest,
    signal: AbortSignal,
  ) => Promise<{ layers: LayerInfo[]; description: string } | undefined>;
  /** makes a lazy chain usable here (fetched and unpacked); needed when `imported` answers lazy chains */
  materialize?: (layers: readonly LayerInfo[], signal: AbortSignal) => Promise<LayerInfo[]>;
  /** ignore cache hits (still writes results) — `--no-cache`; or a predicate per vertex */
  noCache?: boolean | ((v: Vertex) => boolean);
  signal?: AbortSignal;
}

/** The error of a failed vertex, carrying which vertex failed (for the Dockerfile excerpt). */
export class VertexError extends BuildError {
  constructor(
    readonly vertex: Vertex,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VertexError';
  }
}

export class Solver {
  readonly #opts: SolverOptions;
  readonly #keys = new Map<Vertex, Promise<Digest>>();
  readonly #results = new Map<Digest, Promise<Result>>();
  /** lazy results made usable, by key (once each) */
  readonly #materialized = new Map<Digest, Promise<Result>>();
  readonly #reported = new Set<Digest>();
  readonly #slots: Semaphore;
  readonly #abort = new AbortController();

  constructor(opts: SolverOptions) {
    this.#opts = opts;
    this.#slots = new Semaphore(opts.concurrency ?? 2);
    opts.signal?.addEventListener('abort', () => this.#abort.abort(opts.signal?.reason), { once: true });
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Every cached step under `roots` with its layer chain, for `--cache-to mode=max`: what this
   * solve made or hit, and what the cache holds for the steps under a hit (which the solve never
   * reached). A step whose result is gone (pruned) is left out.
   */
  async steps(
    roots: readonly Vertex[],
  ): Promise<{ key: Digest; description: string; layers: LayerInfo[] }[]> {
    const out = new Map<Digest, { key: Digest; description: string; layers: LayerInfo[] }>();
    const seen = new Set<Vertex>();
    const visit = async (v: Vertex): Promise<void> => {
      if (seen.has(v)) return;
      seen.add(v);
      await Promise.all(v.inputs.map(visit));
      if (this.#runner(v.op).uncached) return;
      const key = await this.key(v);
      if (out.has(key)) return;
      const solved = await this.#results.get(key)?.catch(() => undefined);
      let layers = solved?.kind === 'layers' ? solved.layers : undefined;
      if (!solved) {
        const rec = await this.#opts.cache.get(key);
        if (rec && (!this.#opts.usable || (await this.#opts.usable(rec.layers)))) layers = rec.layers;
      }
      if (layers) out.set(key, { key, description: v.name, layers });
    };
    await Promise.all(roots.map(visit));
    return [...out.values()];
  }

  /** The cache key of `v` (memoised; computing it may read the build context). */
  key(v: Vertex): Promise<Digest> {
    let p = this.#keys.get(v);
    if (!p) {
      p = (async () => {
        const inputKeys = await Promise.all(v.inputs.map((i) => this.key(i)));
        const runner = this.#runner(v.op);
        let checksums: (string | undefined)[] = [];
        if (runner.checksums) {
          try {
            checksums = await runner.checksums(v.op as never, v.inputs, this.signal);
          } catch (err) {
            // BuildKit: "failed to compute cache key: …", shown on the step that needed it
            const message = `failed to compute cache key: ${errorText(err)}`;
            const h = this.#opts.progress.vertex(digestOf(v.name), v.name);
            h.start();
            h.fail(message);
            throw new VertexError(v, message, { cause: err });
          }
        }
        return cacheKey(v.op, inputKeys, checksums);
      })();
      this.#keys.set(v, p);
    }
    return p;
  }

  /** Solves `v` (and what it needs), returning its result. The first failure cancels the rest. */
  async solve(v: Vertex): Promise<Result> {
    try {
      return await this.#solve(v);
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#abort.abort(err);
      throw err;
    }
  }

  /** The cache record of `key` when its result is still there. */
  async #cached(key: Digest): Promise<CacheRecord | undefined> {
    const hit = await this.#opts.cache.get(key);
    if (hit && (!this.#opts.usable || (await this.#opts.usable(hit.layers)))) return hit;
    if (hit) await this.#opts.cache.delete(key);
    const imported = await this.#opts.imported?.(key, this.signal);
    if (!imported) return undefined;
    const rec: CacheRecord = { key, ...imported, created: new Date().toISOString() };
    if (!isLazy(rec.layers)) await this.#opts.cache.put(rec);
    return rec;
  }

  /** `v`'s result for a step that runs on it: a lazy chain is materialized (once) and recorded. */
  async #usable(v: Vertex): Promise<Result> {
    const r = await this.#solve(v);
    if (r.kind !== 'layers' || !isLazy(r.layers)) return r;
    const key = await this.key(v);
    let p = this.#materialized.get(key);
    if (!p) {
      const materialize = this.#opts.materialize;
      if (!materialize) throw new Error(`${v.name}: a lazy result and no way to materialize it`);
      p = (async (): Promise<Result> => {
        const layers = await materialize(r.layers, this.signal);
        await this.#opts.cache.put({ key, layers, description: v.name, created: new Date().toISOString() });
        return { kind: 'layers', layers };
      })();
      this.#materialized.set(key, p);
    }
    return p;
  }

  #runner(op: Op): OpRunner {
    return this.#opts.runners[op.type] as OpRunner;
  }

  #noCache(v: Vertex): boolean {
    const n = this.#opts.noCache;
    return typeof n === 'function' ? n(v) : n === true;
  }

  #solve(v: Vertex): Promise<Result> {
    return this.key(v).then((key) => {
      let p = this.#results.get(key);
      if (!p) {
        p = this.#compute(v, key);
        this.#results.set(key, p);
      }
      return p;
    });
  }

  async #compute(v: Vertex, key: Digest): Promise<Result> {
    const runner = this.#runner(v.op);
    const { cache, progress } = this.#opts;
    const handle = progress.vertex(
      key,
      v.name,
      await Promise.all(v.inputs.filter((i) => !i.hidden).map((i) => this.key(i))),
    );
    if (!runner.uncached && !this.#noCache(v)) {
      const hit = await this.#cached(key);
      if (hit) {
        await this.#reportCached(v, key, handle);
        return { kind: 'layers', layers: hit.layers };
      }
    }
    const inputs = await Promise.all(v.inputs.map((i) => this.#usable(i)));
    const signal = this.#abort.signal;
    if (signal.aborted) throw new CancelledError();
    const release = runner.heavy ? await this.#slots.acquire() : () => {};
    try {
      if (signal.aborted) throw new CancelledError();
      const run = async (): Promise<Result> => {
        if (!runner.uncached && !this.#noCache(v)) {
          // another process may have made it while we waited for the lock
          const hit = await this.#cached(key);
          if (hit) {
            await this.#reportCached(v, key, handle);
            return { kind: 'layers', layers: hit.layers };
          }
        }
        if (!v.hidden) handle.start();
        this.#reported.add(key);
        let result: Result;
        try {
          result = await runner.run(v.op as never, { vertex: v, key, progress: handle, signal, inputs });
        } catch (err) {
          if (signal.aborted) {
            // said as BuildKit says it: the step CANCELED, the build `Canceled: context canceled`
            if (!v.hidden) handle.fail('context canceled');
            throw new CancelledError('failed to solve: Canceled: context canceled', { cause: err });
          }
          const message = errorText(err);
          if (!v.hidden) handle.fail(message);
          if (err instanceof VertexError) throw err;
          throw new VertexError(v, message, { cause: err });
        }
        if (!runner.uncached && result.kind === 'layers') {
          const rec: CacheRecord = {
            key,
            layers: result.layers,
            description: v.name,
            created: new Date().toISOString(),
          };
          await cache.put(rec);
        }
        if (!v.hidden) handle.complete();
        return result;
      };
      return runner.uncached ? await run() : await cache.withLock(key, run, signal);
    } finally {
      release();
    }
  }

  /** A cache hit: report the vertex and, as BuildKit does, the steps it stands on, as CACHED. */
  async #reportCached(v: Vertex, key: Digest, handle: VertexHandle): Promise<void> {
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (!v.hidden) handle.cached();
    await Promise.all(
      v.inputs.map(async (input) => {
        const k = await this.key(input);
        if (this.#reported.has(k) || input.hidden) return;
        const runner = this.#runner(input.op);
        const inputKeys = await Promise.all(input.inputs.filter((i) => !i.hidden).map((i) => this.key(i)));
        const h = this.#opts.progress.vertex(k, input.name, inputKeys);
        if (runner.uncached) {
          // a source: shown as resolved, as BuildKit shows FROM on a cached build
          this.#reported.add(k);
          h.start();
          runner.reportResolved?.(input.op as never, h);
          h.complete();
          return;
        }
        await this.#reportCached(input, k, h);
      }),
    );
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
