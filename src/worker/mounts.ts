/**
 * worker/mounts — the filesystems a step reads besides its own root: another vertex's result
 * mounted read-only (COPY --from, RUN --mount=type=bind,from=…), the build context, and
 * files written for the step (heredocs, secrets). Everything is undone by `release()`.
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
  constructor(w: Worker) {
    this.#w = w;
  }

  async #tempDir(prefix: string): Promise<string> {
    await mkdir(this.#w.tmpDir, { recursive: true });
    const dir = await mkdtemp(join(this.#w.tmpDir, prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /** A read-only view of a result: the context's directory, or the layer chain mounted. */
  async view(result: Result): Promise<string> {
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

  async release(): Promise<void> {
    for (const m of this.#mounted.splice(0).reverse()) {
      await this.#w.snapshots.unmount(m).catch(() => undefined);
    }
    for (const d of this.#dirs.splice(0))
      await rm(d, { recursive: true, force: true }).catch(() => undefined);
  }
}
