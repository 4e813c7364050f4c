/**
 * cache/format — polyarch's build-cache description, pure: the config blob of a cache manifest
 * (media type `application/vnd.polyarch.cache.config.v1+json`) maps cache keys to layer chains
 * and carries what an image needs to be rebuilt byte-identical from them (each layer's blob and
 * diffID, which step made it and when). See docs/cache-format.md.
 */
import { type Digest, isDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';

export const MediaTypeCacheConfig = 'application/vnd.polyarch.cache.config.v1+json';
/** the manifest's `artifactType` (OCI 1.1), so registries and tools can tell a cache from an image */
export const ArtifactTypeCache = 'application/vnd.polyarch.cache.v1';

/**
 * The image config field that carries an image's own cache description (`--cache-to
 * type=inline`, mode=min), as BuildKit's `moby.buildkit.cache.v0`.
 */
export const InlineCacheField = 'polyarch.cache.v1';

/** One layer of the cache: its blob (a manifest layer) and the digest of its uncompressed tar. */
export interface CacheLayer {
  blob: Descriptor;
  diffID: Digest;
}

/** A layer of a record's chain: an index into `layers`, and what the image's history needs. */
export interface CacheChainLink {
  layer: number;
  /** the cache key of the step that made the layer (absent for a base image's layers) */
  producedBy?: Digest;
  /** when that step ran (RFC 3339) */
  created?: string;
}

export interface CacheRecordEntry {
  key: Digest;
  /** the step, for people reading the cache (`[linux/arm64 2/3] RUN make`) */
  description: string;
  /** the filesystem after the step, bottom layer first */
  chain: CacheChainLink[];
}

export interface CacheConfig {
  schemaVersion: 1;
  /** SOURCE_DATE_EPOCH of the build that exported it: built layers are clamped to it */
  sourceDateEpoch?: number;
  layers: CacheLayer[];
  records: CacheRecordEntry[];
}

/** A layer chain as the solver knows it (graph/ops LayerInfo without the snapshot). */
export interface ChainLayer {
  blob: Descriptor;
  diffID: Digest;
  producedBy?: Digest;
  created?: string;
}

/** Builds the description: layers deduplicated by blob, records sorted by key (same input, same bytes). */
export function cacheConfig(
  records: readonly { key: Digest; description: string; layers: readonly ChainLayer[] }[],
  sourceDateEpoch?: number,
): CacheConfig {
  const layers: CacheLayer[] = [];
  const byDigest = new Map<string, number>();
  const sorted = [...new Map(records.map((r) => [r.key, r])).values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  const out: CacheRecordEntry[] = sorted.map((r) => ({
    key: r.key,
    description: r.description,
    chain: r.layers.map((l) => {
      let i = byDigest.get(l.blob.digest);
      if (i === undefined) {
        i = layers.length;
        byDigest.set(l.blob.digest, i);
        layers.push({
          blob: { mediaType: l.blob.mediaType, digest: l.blob.digest, size: l.blob.size },
          diffID: l.diffID,
        });
      }
      return {
        layer: i,
        ...(l.producedBy ? { producedBy: l.producedBy } : {}),
        ...(l.created ? { created: l.created } : {}),
      };
    }),
  }));
  return {
    schemaVersion: 1,
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    layers,
    records: out,
  };
}

/** Several descriptions as one (the inline caches of an index's images); the first epoch is kept. */
export function mergeCacheConfigs(cfgs: readonly CacheConfig[]): CacheConfig {
  return cacheConfig(
    cfgs.flatMap((c) =>
      c.records.map((r) => ({ key: r.key, description: r.description, layers: recordChain(c, r) })),
    ),
    cfgs[0]?.sourceDateEpoch,
  );
}

/** The chain of a record, resolved against the layer table. */
export function recordChain(cfg: CacheConfig, rec: CacheRecordEntry): ChainLayer[] {
  return rec.chain.map((c) => {
    const l = cfg.layers[c.layer]!;
    return {
      blob: l.blob,
      diffID: l.diffID,
      ...(c.producedBy ? { producedBy: c.producedBy } : {}),
      ...(c.created ? { created: c.created } : {}),
    };
  });
}

/** Parses and checks a cache description; throws an Error saying what is wrong. */
export function parseCacheConfig(bytes: Uint8Array): CacheConfig {
  const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<CacheConfig>;
  if (v?.schemaVersion !== 1) throw new Error(`unsupported cache schemaVersion ${String(v?.schemaVersion)}`);
  if (!Array.isArray(v.layers) || !Array.isArray(v.records))
    throw new Error('cache description lacks layers or records');
  for (const l of v.layers) {
    if (!l || !isDigest(l.diffID) || !isDigest(l.blob?.digest) || typeof l.blob.size !== 'number') {
      throw new Error('cache description has a malformed layer');
    }
  }
  for (const r of v.records) {
    if (!r || !isDigest(r.key) || !Array.isArray(r.chain))
      throw new Error('cache description has a malformed record');
    for (const c of r.chain) {
      if (!Number.isInteger(c?.layer) || c.layer < 0 || c.layer >= v.layers.length) {
        throw new Error(`cache record ${r.key} names a layer that is not there`);
      }
    }
  }
  if (v.sourceDateEpoch !== undefined && !Number.isInteger(v.sourceDateEpoch)) {
    throw new Error('cache description has a malformed sourceDateEpoch');
  }
  return v as CacheConfig;
}
