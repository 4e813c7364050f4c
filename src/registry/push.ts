/**
 * registry/push — pushing a local image (an index with its manifests, or one manifest) to a
 * registry reference. An index pulled for some platforms only can still be pushed: manifests
 * the destination lacks are copied from the registry the image was pulled from (a local name
 * with the same digest; blobs mounted when on the same registry). When no such source has
 * them, the error says which platforms are missing and how to get them.
 */
import { loadImage, namedImages } from '../content/images.js';
import type { ContentStore } from '../content/interfaces.js';
import { childrenOf, parseManifest } from '../content/walk.js';
import { NotFoundError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import { formatPlatformRaw } from '../platforms/index.js';
import { formatReference, type Reference, repositoryName } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import { repositorySource } from './copy.js';
import { fetchManifests } from './pull.js';
import {
  type ImageSource,
  type ManifestBytes,
  type TransferEvent,
  type TransferResult,
  transferImage,
} from './transfer.js';

export interface PushOptions {
  client: RegistryClient;
  store: ContentStore;
  /** the local image's index or manifest */
  source: Descriptor;
  /** its name, for messages */
  sourceName: string;
  /** where to push (tag or digest) */
  ref: Reference;
  /** blobs the store may lack and where they are (lazy layers of a build from an imported cache) */
  elsewhere?: ReadonlyMap<Digest, ImageSource>;
  onEvent?: (e: TransferEvent) => void;
}

/** Pushes a local image to `ref`: blobs, manifests, then the tag. */
export async function pushImage(opts: PushOptions): Promise<TransferResult> {
  const { client, store, source, ref } = opts;
  const dstName = formatReference(ref);
  const what = `pushing ${dstName}`;
  const topBytes = await store.readBlob(source.digest);
  const top = parseManifest(topBytes, source.mediaType, opts.sourceName);
  const children: ManifestBytes[] = [];
  const blobs: Descriptor[] = [];
  if (top.kind === 'index') {
    const missing: Descriptor[] = [];
    for (const m of top.index.manifests) {
      if (!(await store.has(m.digest))) {
        missing.push(m);
        continue;
      }
      const bytes = await store.readBlob(m.digest);
      const parsed = parseManifest(bytes, m.mediaType, `${opts.sourceName}@${m.digest}`);
      children.push({ descriptor: m, bytes });
      blobs.push(...childrenOf(parsed));
    }
    // manifests not pulled locally are fine when the destination has them, or get them
    const repo = client.repository(ref);
    let absent: Descriptor[] = [];
    for (const m of missing)
      if (!(await repo.headManifest(m.digest, `${what}: manifest ${m.digest}`))) absent.push(m);
    if (absent.length) absent = await copyMissingManifests(opts, absent, what);
    if (absent.length) {
      const list = absent.map((m) => (m.platform ? formatPlatformRaw(m.platform) : m.digest)).join(', ');
      throw new NotFoundError(
        `${what}: the local image ${opts.sourceName} lacks the manifests for ${list} (pulled for some platforms only); pull it with --all-platforms first`,
      );
    }
  } else {
    blobs.push(...childrenOf(top));
  }
  for (const b of blobs) {
    if (!(await store.has(b.digest)) && !opts.elsewhere?.has(b.digest)) {
      throw new NotFoundError(
        `${what}: blob ${b.digest} of the local image ${opts.sourceName} is not in the store`,
      );
    }
  }
  return transferImage({
    client,
    source: orElsewhere(
      store,
      await storeSource(store, opts.sourceName, ref.domain),
      opts.elsewhere ?? new Map(),
    ),
    dst: ref,
    plan: { top: { descriptor: source, bytes: topBytes }, children, blobs },
    what,
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
}

/**
 * Copies manifests the local store lacks from the registries of other local names of the same
 * image into the destination; answers those no source had.
 */
async function copyMissingManifests(
  opts: PushOptions,
  absent: Descriptor[],
  what: string,
): Promise<Descriptor[]> {
  const { client, store, source, ref } = opts;
  const sources: Reference[] = [];
  // a name that is not a reference has no registry to copy from
  for (const { record, ref: r } of await namedImages(store)) {
    if (record.target.digest === source.digest && repositoryName(r) !== repositoryName(ref)) sources.push(r);
  }
  let left = absent;
  for (const src of sources) {
    if (left.length === 0) break;
    const srcRepo = client.repository(src);
    const found: Descriptor[] = [];
    for (const m of left) {
      try {
        if (await srcRepo.headManifest(m.digest)) found.push(m);
      } catch {
        // unreachable or refused: try the next source
      }
    }
    if (found.length === 0) continue;
    const { children, blobs } = await fetchManifests(client, srcRepo, found, what);
    await transferImage({
      client,
      source: repositorySource(srcRepo),
      dst: ref,
      plan: { top: undefined, children, blobs },
      what: `${what}: copying from ${srcRepo.name}`,
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    left = left.filter((m) => !found.includes(m));
  }
  return left;
}

/**
 * The local store as a source; mount candidates are the repositories of `domain` that local
 * image names point at and whose images hold the blob (where it was most likely pulled from).
 */
export async function storeSource(store: ContentStore, name: string, domain: string): Promise<ImageSource> {
  const byDigest = new Map<Digest, string[]>();
  for (const { record: rec, ref } of await namedImages(store)) {
    if (ref.domain !== domain) continue;
    try {
      const img = await loadImage(store, rec.target, rec.name);
      for (const m of img.manifests) {
        if (!m.manifest) continue;
        for (const d of [m.manifest.config, ...m.manifest.layers]) {
          const list = byDigest.get(d.digest) ?? [];
          if (!list.includes(ref.path)) list.push(ref.path);
          byDigest.set(d.digest, list);
        }
      }
    } catch {
      // an unreadable local image only costs a mount candidate
    }
  }
  return {
    name: `local image ${name}`,
    blob: (desc) => ({
      open: (start, end) =>
        store.openBlob(desc.digest, {
          ...(start !== undefined ? { start } : {}),
          ...(end !== undefined ? { end } : {}),
        }),
    }),
    mountFrom: (desc, d) => (d === domain ? (byDigest.get(desc.digest) ?? []).slice(0, 3) : []),
  };
}

/**
 * `base` (the content store as a source) for the blobs the store has, the lazy origin for the
 * others; a blob's mount candidates are the origin's (a registry cache's repository) then base's.
 */
export function orElsewhere(
  store: Pick<ContentStore, 'has'>,
  base: ImageSource,
  lazy: ReadonlyMap<Digest, ImageSource>,
): ImageSource {
  if (lazy.size === 0) return base;
  return {
    name: base.name,
    blob: (desc) => ({
      open: async (start, end) => {
        const origin = lazy.get(desc.digest);
        const from = origin && !(await store.has(desc.digest)) ? origin : base;
        return from.blob(desc).open(start, end);
      },
    }),
    mountFrom: (desc, domain) => [
      ...(lazy.get(desc.digest)?.mountFrom(desc, domain) ?? []),
      ...base.mountFrom(desc, domain),
    ],
  };
}
