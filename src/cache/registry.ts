/**
 * cache/registry — `--cache-to type=registry,ref=R` and `--cache-from type=registry,ref=R` (or a
 * bare `R`): the cache manifest of cache/local pushed to a registry like an image — every layer
 * blob first (mounted or skipped when the repository has it), then the description, and the
 * manifest under the tag last, so an export cut short leaves the previous cache in place.
 */
import { Readable } from 'node:stream';
import type { Provider } from '../content/interfaces.js';
import { NotFoundError } from '../errors.js';
import { isIndexType } from '../oci/mediatypes.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { formatReference, type Reference } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import type { CacheConfig } from './format.js';
import { cacheBlobs, cacheConfigOf } from './local.js';
import type { CacheSource } from './source.js';

/** Pushes the cache under `ref`'s tag; answers the manifest's descriptor. */
export async function pushRegistryCache(
  client: RegistryClient,
  ref: Reference,
  cfg: CacheConfig,
  store: Provider,
): Promise<Descriptor> {
  const repo = client.repository(ref);
  const blobs = cacheBlobs(cfg);
  for (const l of cfg.layers) {
    await repo.uploadBlob(l.blob, {
      open: (start, end) =>
        store.openBlob(l.blob.digest, {
          ...(start !== undefined ? { start } : {}),
          ...(end !== undefined ? { end } : {}),
        }),
    });
  }
  await repo.uploadBlob(blobs.config, { open: async () => Readable.from([blobs.configBytes]) });
  await repo.putManifest(ref.tag ?? 'latest', blobs.manifestBytes, blobs.manifest.mediaType);
  return blobs.manifest;
}

/**
 * The cache under `ref`, or undefined when the registry has no such manifest. Something else
 * there (an image, an index, a BuildKit cache) is an Error naming it.
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
  if (isIndexType(fetched.descriptor.mediaType)) throw new Error(`${what}, not a polyarch cache`);
  const config = await cacheConfigOf(fetched.bytes, (d) => repo.fetchBlob(d));
  if (!config) {
    const m = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
    throw new Error(`${what} (config ${m.config?.mediaType}), not a polyarch cache`);
  }
  return { name, config, openBlob: (blob) => repo.openBlob(blob) };
}
