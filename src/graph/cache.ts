/**
 * graph/cache — the persistent build cache: cache key → the layers of the result.
 *
 * Records live in `<root>/cache/records/<hex>.json`, written with temp file + rename after the
 * result's snapshot is committed, so a record never names something half-made. A record's
 * mtime is its last use (for `prune --filter until=`). While a process computes a key it holds
 * `<root>/cache/locks/<hex>` (O_EXCL, with its pid), so two concurrent builds run an op once.
 */
// fs.promises loads node:fs/promises at its first call: `ls`, `images` and `du` make none on a store that exists
import {
  promises as fsp,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../durable.js';
import { StoreError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { digestHex } from '../oci/digest.js';
import { processAlive } from '../proc.js';
import { readFileOrEmpty } from '../smallfiles.js';
import type { LayerInfo } from './ops.js';

export interface CacheRecord {
  key: Digest;
  /** the filesystem as a layer chain, bottom first */
  layers: LayerInfo[];
  /** what made it, for `du` */
  description: string;
  created: string;
}

export interface CacheStoreOptions {
  /** `<root>/cache` */
  dir: string;
}

export class CacheStore {
  readonly dir: string;
  readonly #records: string;
  readonly #locks: string;
  #ready = false;

  constructor(opts: CacheStoreOptions) {
    this.dir = opts.dir;
    this.#records = join(opts.dir, 'records');
    this.#locks = join(opts.dir, 'locks');
  }

  // The records are small files read and made one or a few at a time, mostly at start-up: done
  // synchronously, each costs microseconds; through the thread pool each waits for a turn of it.
  #init(): void {
    if (this.#ready) return;
    mkdirSync(this.#records, { recursive: true });
    mkdirSync(this.#locks, { recursive: true });
    this.#ready = true;
  }

  #path(key: Digest): string {
    return join(this.#records, `${digestHex(key)}.json`);
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    let text: string;
    try {
      text = readFileSync(this.#path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StoreError(`reading cache record ${key}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const rec = JSON.parse(text) as CacheRecord;
      const now = new Date();
      fsp.utimes(this.#path(key), now, now).catch(() => {});
      return rec;
    } catch {
      // a corrupt record (cannot happen with rename, but a disk may lie): treat as a miss
      return undefined;
    }
  }

  async put(rec: CacheRecord): Promise<void> {
    this.#init();
    const path = this.#path(rec.key);
    await writeFileDurably(path, JSON.stringify(rec));
  }

  async delete(key: Digest): Promise<void> {
    await fsp.rm(this.#path(key), { force: true });
  }

  /** Every record, with its last-use time. */
  async list(): Promise<{ record: CacheRecord; lastUsed: Date }[]> {
    this.#init();
    const out: { record: CacheRecord; lastUsed: Date }[] = [];
    for (const name of readdirSync(this.#records)) {
      if (!name.endsWith('.json')) continue;
      const p = join(this.#records, name);
      try {
        const text = readFileSync(p, 'utf8');
        out.push({ record: JSON.parse(text) as CacheRecord, lastUsed: statSync(p).mtime });
      } catch {
        // removed meanwhile or corrupt: skip
      }
    }
    return out;
  }

  /**
   * Holds the lock for `key` while `fn` runs. A lock left by a dead process is taken over.
   * Waits (polling) while another live process holds it.
   */
  async withLock<T>(key: Digest, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.#init();
    const path = join(this.#locks, digestHex(key));
    for (;;) {
      signal?.throwIfAborted();
      try {
        writeFileSync(path, String(process.pid), { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number.parseInt(readFileOrEmpty(path), 10);
        if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder) || holder === process.pid) {
          // stale: remove and retry (rename first so two takers do not both win)
          const stale = `${path}.stale.${process.pid}`;
          await fsp.rename(path, stale).then(
            () => fsp.rm(stale, { force: true }),
            () => {},
          );
          continue;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    try {
      return await fn();
    } finally {
      rmSync(path, { force: true });
    }
  }
}
