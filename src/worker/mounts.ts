/**
 * worker/mounts — the filesystems a step reads besides its own root: another vertex's result
 * mounted read-only (COPY --from, RUN --mount=type=bind,from=…), the build context, and
 * files written for the step (heredocs, secrets). Everything is undone by `release()`, which
 * a step may start as soon as it has read what it needed (once; later calls wait for it).
 * A view can be asked for early (`prefetch`), so that its mount overlaps the step's own.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import type { InlineFile } from '../graph/ops.js';
import type { Result } from '../graph/solver.js';
import type { Worker } from './worker.js';

/** Directories made available to one step, released together. */
export class StepMounts {
  readonly #w: Worker;
  readonly #mounted: string[] = [];
  readonly #dirs: string[] = [];
  /** views by result, mounted or being mounted */
  readonly #views = new Map<Result, Promise<string>>();
  #released: Promise<void> | undefined;
  constructor(w: Worker) {
    this.#w = w;
  }

  async #tempDir(prefix: string): Promise<string> {
    await mkdir(this.#w.tmpDir, { recursive: true });
    const dir = await mkdtemp(join(this.#w.tmpDir, prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /** A read-only view of a result: the context's directory, or the layer chain mounted (once). */
  view(result: Result): Promise<string> {
    if (this.#released)
      return Promise.reject(new StoreError('a view asked for after the step released its mounts'));
    let v = this.#views.get(result);
    if (!v) {
      v = this.#mountView(result);
      this.#views.set(result, v);
    }
    return v;
  }

  /** Starts mounting the views of `results`; a failure is reported by `view` when asked for. */
  prefetch(results: readonly Result[]): void {
    for (const r of results) this.view(r).catch(() => undefined);
  }

  async #mountView(result: Result): Promise<string> {
    if (result.kind === 'dir') return result.dir;
    const dir = await this.#tempDir('view-');
    if (result.layers.length === 0) return dir;
    const top = await this.#w.snapshots.get(result.layers[result.layers.length - 1]!.snapshot);
    if (!top) {
      throw new StoreError(
        `snapshot ${result.layers[result.layers.length - 1]!.snapshot} is missing from the store; run the build again with --no-cache`,
      );
    }
    await this.#w.snapshots.mount(top, dir);
    this.#mounted.push(dir);
    return dir;
  }

  /** A directory holding the given files (heredocs), read-only to the step. */
  async files(files: readonly InlineFile[]): Promise<string> {
    const dir = await this.#tempDir('files-');
    for (const f of files) await writeFile(join(dir, f.name), f.data, { mode: f.mode });
    return dir;
  }

  /** A private scratch directory (secrets). */
  scratch(): Promise<string> {
    return this.#tempDir('scratch-');
  }

  /** Unmounts and removes everything (once: later calls wait for the first). */
  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #release(): Promise<void> {
    // a view still being mounted is unmounted with the others
    await Promise.allSettled(this.#views.values());
    for (const m of this.#mounted.splice(0).reverse()) {
      await this.#w.snapshots.unmount(m).catch(() => undefined);
    }
    for (const d of this.#dirs.splice(0))
      await rm(d, { recursive: true, force: true }).catch(() => undefined);
  }
}
