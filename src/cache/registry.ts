/**
 * cache/registry — `--cache-to type=registry,ref=R` and `--cache-from type=registry,ref=R` (or a
 * bare `R`): the cache manifest of cache/local pushed to a registry like an image — every layer
 * blob first (mounted or skipped when the repository has it), then the description, and the
 * manifest under the tag last, so an export cut short leaves the previous cache in place. An
 * image whose configs carry inline caches (`--cache-to type=inline`) is read as a cache too.
 */
import { Readable } from 'node:stream';
import type { Provider } from '../content/interfaces.js';
import { NotFoundError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { isConfigType, isIndexType, isManifestType } from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js';
import { formatReference, type Reference } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import { repositorySource } from '../registry/copy.js';
import { orElsewhere } from '../registry/push.js';
import type { ImageSource } from '../registry/transfer.js';
import { type CacheConfig, InlineCacheField, mergeCacheConfigs, parseCacheConfig } from './format.js';
import { storeBlobs } from './lazy.js';
import { cacheBlobs, cacheConfigOf } from './local.js';
import type { CacheSource } from './source.js';

/**
 * Pushes the cache under `ref`'s tag; answers the manifest's descriptor. A layer blob the store
 * lacks comes from its place in `lazy` (a lazy layer's imported cache: mounted when that is a
 * repository of the same registry).
 */
export async function pushRegistryCache(
  client: RegistryClient,
  ref: Reference,
  cfg: CacheConfig,
  store: Provider,
  lazy: ReadonlyMap<Digest, ImageSource> = new Map(),
): Promise<Descriptor> {
  const repo = client.repository(ref);
  const blobs = cacheBlobs(cfg);
  const source = orElsewhere(store, storeBlobs(store), lazy);
  for (const l of cfg.layers) {
    await repo.uploadBlob(l.blob, source.blob(l.blob), { mountFrom: source.mountFrom(l.blob, ref.domain) });
  }
  await repo.uploadBlob(blobs.config, { open: async () => Readable.from([blobs.configBytes]) });
  await repo.putManifest(ref.tag ?? 'latest', blobs.manifestBytes, blobs.manifest.mediaType);
  return blobs.manifest;
}

/** The inline cache in an image manifest's config (`--cache-to type=inline`), if any. */
async function inlineCacheOf(
  manifestBytes: Buffer,
  read: (d: Descriptor) => Promise<Buffer>,
): Promise<CacheConfig | undefined> {
  const m = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  if (!isConfigType(m.config?.mediaType)) return undefined;
  const cfg = JSON.parse((await read(m.config)).toString('utf8')) as Record<string, unknown>;
  const inline = cfg[InlineCacheField];
  return inline === undefined ? undefined : parseCacheConfig(Buffer.from(JSON.stringify(inline)));
}

/**
 * The cache under `ref` (a cache manifest, or an image or index with inline caches), or
 * undefined when the registry has no such manifest. Something else there (an image without an
 * inline cache, a BuildKit cache) is an Error naming it.
 */
export async function readRegistryCache(
  client: RegistryClient,
  ref: Reference,
  name: string,
): Promise<CacheSource | undefined> {
  const repo = client.repository(ref);
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let fetched: Awaited<ReturnType<typeof repo.getManifest>>;
  try {
    fetched = await repo.getManifest(reference);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  const what = `${formatReference(ref)} is ${fetched.descriptor.mediaType} ${fetched.descriptor.digest}`;
  const read = (d: Descriptor) => repo.fetchBlob(d);
  let config: CacheConfig | undefined;
  if (isIndexType(fetched.descriptor.mediaType)) {
    // an image pushed with --cache-to type=inline: every platform's config carries its record
    const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
    const found: CacheConfig[] = [];
    for (const m of index.manifests ?? []) {
      if (!isManifestType(m.mediaType)) continue;
      const inline = await inlineCacheOf((await repo.getManifest(m.digest)).bytes, read);
      if (inline) found.push(inline);
    }
    config = found.length ? mergeCacheConfigs(found) : undefined;
  } else {
    config = (await cacheConfigOf(fetched.bytes, read)) ?? (await inlineCacheOf(fetched.bytes, read));
  }
  if (!config) throw new Error(`${what}, not a polyarch cache (nor an image with an inline one)`);
  return { name, config, blobs: { ...repositorySource(repo), name } };
}
