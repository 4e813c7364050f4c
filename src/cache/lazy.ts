/**
 * cache/lazy — the blobs of lazy layers (hits in an imported cache that no step needed
 * unpacked, graph/ops LayerInfo.origin) for the outputs and cache exports that carry them
 * without unpacking: which origin holds which blob, the content store as a blob source, and the copy of a chain's blobs into the store (the outputs that
 * need the bytes here: the local store, tarballs).
 */
import { pipeline } from 'node:stream/promises';
import type { Ingester, Provider } from '../content/interfaces.js';
import type { Output } from '../exporter/outputs.js';
import type { LayerInfo } from '../graph/ops.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import type { ImageSource } from '../registry/transfer.js';

/**
 * What these outputs need of lazy layers: nothing but descriptors (pushes, which mount or copy
 * the blobs from the cache; `cacheonly`), the blobs in the content store (the local store's
 * names, `--load`, oci/docker tarballs), or the filesystems unpacked (`local`, `tar`).
 */
export function lazyNeeds(outputs: readonly Output[]): 'none' | 'blobs' | 'snapshots' {
  if (outputs.some((o) => o.type === 'local' || o.type === 'tar')) return 'snapshots';
  const blobs = outputs.some(
    (o) =>
      o.type === 'oci' ||
      o.type === 'docker' ||
      o.type === 'load' ||
      (o.type === 'image' && !o.push && o.store),
  );
  return blobs ? 'blobs' : 'none';
}

/** Where the blobs of the lazy layers among these chains are, by blob digest. */
export function lazyOrigins(chains: Iterable<readonly LayerInfo[]>): Map<Digest, ImageSource> {
  const out = new Map<Digest, ImageSource>();
  for (const chain of chains) {
    for (const l of chain)
      if (l.origin && l.blob && !out.has(l.blob.digest)) out.set(l.blob.digest, l.origin);
  }
  return out;
}

/** The content store as a source with no mount candidates. */
export function storeBlobs(store: Pick<Provider, 'openBlob'>, name = 'the local store'): ImageSource {
  return {
    name,
    blob: (desc) => ({
      open: (start, end) =>
        store.openBlob(desc.digest, {
          ...(start !== undefined ? { start } : {}),
          ...(end !== undefined ? { end } : {}),
        }),
    }),
    mountFrom: () => [],
  };
}

/** Copies the blob of every lazy layer that the store lacks from its origin (no unpacking). */
export async function fetchLazyBlobs(
  store: Provider & Ingester,
  chains: Iterable<readonly LayerInfo[]>,
  signal?: AbortSignal,
): Promise<void> {
  for (const l of new Map([...chains].flat().map((l) => [l.blob?.digest, l])).values()) {
    if (!l.origin || !l.blob) continue;
    signal?.throwIfAborted();
    await fetchBlob(store, l.blob, l.origin);
  }
}

/** `blob` from `origin` into the store, verified, unless it is there. */
export async function fetchBlob(
  store: Provider & Ingester,
  blob: Descriptor,
  origin: ImageSource,
): Promise<void> {
  if (await store.has(blob.digest)) return;
  const writer = await store.openWriter({
    mediaType: blob.mediaType,
    expected: { digest: blob.digest, size: blob.size },
    what: `layer ${blob.digest} of ${origin.name}`,
  });
  try {
    await pipeline(await origin.blob(blob).open(), writer.stream);
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
