/**
 * cache/source — imported caches (`--cache-from`) as one lookup: cache key → the layer chain
 * recorded for it and where its blobs come from. Several sources are asked in the order given.
 */
import type { Digest } from '../oci/digest.js';
import type { ImageSource } from '../registry/transfer.js';
import { type CacheConfig, type ChainLayer, recordChain } from './format.js';

/**
 * One imported cache: its description, and its blobs on demand (`blobs.name` is how the user
 * named it, `type=local,src=/ci/cache`; a registry cache offers its repository for mounts).
 */
export interface CacheSource {
  readonly name: string;
  readonly config: CacheConfig;
  readonly blobs: ImageSource;
}

export interface ImportedRecord {
  layers: ChainLayer[];
  description: string;
  source: CacheSource;
}

export class CacheImports {
  readonly #byKey = new Map<Digest, ImportedRecord>();

  constructor(readonly sources: readonly CacheSource[]) {
    for (const s of sources) {
      for (const r of s.config.records) {
        if (this.#byKey.has(r.key)) continue;
        this.#byKey.set(r.key, { layers: recordChain(s.config, r), description: r.description, source: s });
      }
    }
  }

  get size(): number {
    return this.#byKey.size;
  }

  lookup(key: Digest): ImportedRecord | undefined {
    return this.#byKey.get(key);
  }
}
