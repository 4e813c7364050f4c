/**
 * registry/pull — resolving references and pulling images into the local store.
 *
 * A pull takes the index as the registry serves it (its digest is the image's identity), the
 * manifests of the chosen platforms, their configs and layers, and names the index. Layers
 * shared by several platforms move once. Everything is downloaded and verified into staged
 * writers first and committed together at the end, so a failed pull leaves the store as it
 * was; a lease keeps a concurrent GC off the blobs until the name is set.
 */

import { platformOfConfig } from '../content/images.js';
import type { BlobWriter, ContentStore } from '../content/interfaces.js';
import { type ParsedManifest, parseManifest } from '../content/walk.js';
import { NotFoundError, PolyarchError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../oci/types.js';
import { formatPlatform, platformMatcher } from '../platforms/index.js';
import { formatReference, type Reference, repositoryName } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import { createLimiter, runAll } from './limit.js';
import type { FetchedManifest, Repository } from './repository.js';
import { type PlatformSelection, selectManifests } from './select.js';
import type { ManifestBytes, TransferEvent } from './transfer.js';

export interface Resolved extends FetchedManifest {
  ref: Reference;
  parsed: ParsedManifest;
}

/** The tag or digest part of a reference as the registry API wants it. */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Resolves a tag or digest to its descriptor and the manifest bytes as the registry sent them. */
export async function resolve(
  client: RegistryClient,
  ref: Reference,
  what = `resolving ${formatReference(ref)}`,
): Promise<Resolved> {
  const fetched = await client.repository(ref).getManifest(referenceTarget(ref), what);
  return {
    ...fetched,
    ref,
    parsed: parseManifest(fetched.bytes, fetched.descriptor.mediaType, formatReference(ref)),
  };
}

/** A manifest of an index as fetched: the bytes as the registry sent them, and parsed. */
export interface FetchedChild extends ManifestBytes {
  manifest: ImageManifest;
}

/** Fetches manifests of an index (in parallel, answered in order) and lists their configs and layers. */
export async function fetchManifests(
  client: RegistryClient,
  repo: Repository,
  manifests: readonly Descriptor[],
  what: string,
): Promise<{ children: FetchedChild[]; blobs: Descriptor[] }> {
  const children: FetchedChild[] = new Array(manifests.length);
  await runAll(createLimiter(client.concurrency), [...manifests.keys()], async (i) => {
    const desc = manifests[i]!;
    const m = await repo.getManifest(desc.digest, what);
    const parsed = parseManifest(m.bytes, desc.mediaType, `${repo.name}@${desc.digest}`);
    if (parsed.kind !== 'manifest') {
      throw new PolyarchError(
        'UNSUPPORTED',
        `${what}: ${desc.digest} is a nested index, which polyarch does not support`,
      );
    }
    children[i] = { descriptor: desc, bytes: m.bytes, manifest: parsed.manifest };
  });
  return { children, blobs: children.flatMap((c) => [c.manifest.config, ...c.manifest.layers]) };
}

export interface PullOptions {
  client: RegistryClient;
  store: ContentStore;
  ref: Reference;
  /** platforms to take from an index (default: the host's) */
  platforms?: PlatformSelection;
  /** the platform of this machine, for the default */
  host: Platform;
  /** the local name to set (default `repo:tag`, or `repo@digest` when pulled by digest); false: none */
  name?: string | false;
  onEvent?: (e: TransferEvent) => void;
}

export interface PullResult {
  /** the name set, if any */
  name: string | undefined;
  /** the index or manifest the reference resolved to */
  descriptor: Descriptor;
  /** the manifests pulled (one per platform) */
  manifests: Descriptor[];
  /** bytes downloaded (blobs already present excluded) */
  downloaded: number;
}

/** The local name of a pulled reference: `repo@digest` when pinned, else `repo:tag`. */
export function localName(ref: Reference): string {
  if (ref.digest) return `${repositoryName(ref)}@${ref.digest}`;
  return `${repositoryName(ref)}:${ref.tag ?? 'latest'}`;
}

/** Pulls an image (the chosen platforms of it) into the store and names it. */
export async function pullImage(opts: PullOptions): Promise<PullResult> {
  const { client, store, ref } = opts;
  const refName = formatReference(ref);
  const what = `pulling ${refName}`;
  const repo = client.repository(ref);
  const emit = opts.onEvent ?? (() => {});
  const selection: PlatformSelection = opts.platforms ?? [opts.host];
  const lease = await store.createLease();
  const writers: BlobWriter[] = [];
  try {
    const top = await resolve(client, ref, what);
    emit({ type: 'resolved', ref: refName, descriptor: top.descriptor });
    const limit = createLimiter(client.concurrency);

    // manifests of the chosen platforms
    let manifests: FetchedChild[];
    if (top.parsed.kind === 'index') {
      const chosen = selectManifests(top.parsed.index, selection, what);
      manifests = (await fetchManifests(client, repo, chosen, what)).children;
      for (const m of manifests) {
        if (m.bytes.length !== m.descriptor.size) {
          throw new PolyarchError(
            'DIGEST_MISMATCH',
            `${what}: manifest ${m.descriptor.digest} has ${m.bytes.length} bytes, the index says ${m.descriptor.size}`,
          );
        }
      }
    } else {
      manifests = [{ descriptor: top.descriptor, bytes: top.bytes, manifest: top.parsed.manifest }];
    }

    // blobs, once each
    const blobs = new Map<Digest, Descriptor>();
    for (const m of manifests)
      for (const d of [m.manifest.config, ...m.manifest.layers])
        if (!blobs.has(d.digest)) blobs.set(d.digest, d);
    await lease.add([top.descriptor.digest, ...manifests.map((m) => m.descriptor.digest), ...blobs.keys()]);

    const configDigests = new Set(manifests.map((m) => m.manifest.config.digest));
    const configs = new Map<Digest, Buffer>();
    let downloaded = 0;
    await runAll(limit, [...blobs.values()], async (desc) => {
      if (await store.has(desc.digest)) {
        emit({ type: 'blob', descriptor: desc, status: 'exists' });
        return;
      }
      emit({ type: 'blob', descriptor: desc, status: 'transferring' });
      if (configDigests.has(desc.digest)) {
        configs.set(desc.digest, await repo.fetchBlob(desc, `${what}: config ${desc.digest}`));
        downloaded += desc.size;
      } else {
        const w = await store.openWriter({
          mediaType: desc.mediaType,
          expected: { digest: desc.digest, size: desc.size },
          lease,
          what: `${what}: blob ${desc.digest}`,
        });
        writers.push(w);
        await repo.downloadBlob(
          desc,
          w,
          (n) => {
            downloaded += n;
            emit({ type: 'bytes', digest: desc.digest, bytes: n });
          },
          `${what}: blob ${desc.digest}`,
        );
      }
      emit({ type: 'blob', descriptor: desc, status: 'done' });
    });

    // a lone manifest pulled for a given platform must be for that platform
    const wanted = opts.platforms;
    if (top.parsed.kind === 'manifest' && wanted !== undefined && wanted !== 'all') {
      const cfg = top.parsed.manifest.config;
      const bytes = configs.get(cfg.digest) ?? (await store.readBlob(cfg.digest));
      const actual = platformOfConfig(JSON.parse(bytes.toString('utf8')) as ImageConfig);
      if (!wanted.some((p) => platformMatcher(p).match(actual))) {
        throw new NotFoundError(
          `${what}: the image was found but does not match the specified platform: wanted ${wanted.map(formatPlatform).join(', ')}, actual: ${formatPlatform(actual)}`,
        );
      }
    }

    // commit: layers, configs, manifests, index, then the name
    for (const w of writers) await w.commit();
    for (const [digest, bytes] of configs) {
      const d = blobs.get(digest)!;
      await store.putBlob(bytes, { mediaType: d.mediaType, expected: { digest, size: d.size }, lease });
    }
    for (const m of manifests) {
      await store.putBlob(m.bytes, {
        mediaType: m.descriptor.mediaType,
        expected: { digest: m.descriptor.digest, size: m.descriptor.size },
        lease,
      });
    }
    await store.putBlob(top.bytes, { mediaType: top.descriptor.mediaType, lease });
    const name = opts.name === false ? undefined : (opts.name ?? localName(ref));
    if (name !== undefined) await store.setName(name, top.descriptor);
    return { name, descriptor: top.descriptor, manifests: manifests.map((m) => m.descriptor), downloaded };
  } catch (err) {
    for (const w of writers) await w.abort();
    throw err;
  } finally {
    await lease.release();
  }
}
