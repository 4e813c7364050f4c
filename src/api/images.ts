/**
 * api/images — the local image store and registries as a library, each call one command:
 * `pull` and `push` (a registry ↔ the local store, every platform of a multi-platform image),
 * `tag`, `removeImages` and `listImages`. Progress comes as the registry client's transfer
 * events; what a command prints of it is the caller's.
 *
 *     const ctx = { env: process.env, cwd: process.cwd() };
 *     const { name, digest } = await pull(ctx, { image: 'localhost:5000/busybox:1.35', platforms: 'all' });
 *     for (const img of await listImages(ctx)) console.log(img.name, img.platforms.join(', '));
 */
import { findLocalImages, type ImageRecord, imagePlatformsAndSize, namedImages } from '../content/index.js';
import { InvalidArgumentError, NotFoundError, PolyarchError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { detectHostPlatform } from '../platforms/host.js';
import {
  defaultTag,
  familiarName,
  formatReference,
  parseImageReference,
  parseReference,
  repositoryName,
} from '../reference/index.js';
import type { PlatformSelection, TransferEvent } from '../registry/index.js';
import { type PolyarchContext, rootOf, withStore, withStoreAndClient } from './context.js';

export type { PlatformSelection, TransferEvent } from '../registry/index.js';

/**
 * The registry package (pull, push, and tag for its local names) and what collecting blobs
 * needs (rmi: the snapshot store and the builders' caches) are imported by the calls that use
 * them, so that listing the local images loads neither.
 */
const registry = () => import('../registry/index.js');
const collector = () =>
  Promise.all([import('../snapshot/store.js'), import('../builder/store.js'), import('../builder/usage.js')]);

export interface PullRequest {
  /** `NAME[:TAG|@DIGEST]` */
  image: string;
  /** platforms to take from a multi-platform image, or `'all'` (default: the host's) */
  platforms?: PlatformSelection;
  /** this machine's platform (default: detected) */
  host?: Platform;
  /** `resolved`, then each blob (`exists`, `transferring`, `bytes`, `done`) */
  onEvent?: (e: TransferEvent) => void;
}

export interface PullResult {
  /** the local name set (`repo:tag`, or `repo@digest` when pulled by digest) */
  name: string;
  /** the index or manifest the reference resolved to */
  descriptor: Descriptor;
  /** the manifests pulled, one per platform */
  manifests: Descriptor[];
  /** bytes downloaded (blobs the store had excluded) */
  downloaded: number;
  /** the name already pointed at this image and nothing was downloaded */
  upToDate: boolean;
}

/** Pulls an image (the chosen platforms of it) from its registry into the local store and names it. */
export async function pull(ctx: PolyarchContext, req: PullRequest): Promise<PullResult> {
  const ref = parseImageReference(req.image);
  const { localName, pullImage } = await registry();
  return withStoreAndClient(ctx, async (store, client) => {
    const before = await store.getName(localName(ref));
    const r = await pullImage({
      client,
      store,
      ref,
      host: req.host ?? detectHostPlatform(),
      ...(req.platforms !== undefined ? { platforms: req.platforms } : {}),
      ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    });
    return {
      name: r.name ?? formatReference(ref),
      descriptor: r.descriptor,
      manifests: r.manifests,
      downloaded: r.downloaded,
      upToDate: before?.target.digest === r.descriptor.digest && r.downloaded === 0,
    };
  });
}

export interface PushRequest {
  /** the local image's name, which is also where it goes: `NAME[:TAG]` */
  image: string;
  /**
   * `resolved` (the local image found: its name and descriptor), then each blob (`exists`,
   * `mounted`, `transferring`, `bytes`, `done`) and manifest
   */
  onEvent?: (e: TransferEvent) => void;
}

export interface PushResult {
  /** the local name pushed */
  name: string;
  /** the index or manifest the registry now has under the name */
  descriptor: Descriptor;
}

/**
 * Pushes a local image to the registry its name points at: blobs the registry has are
 * skipped, those of another repository of the registry mounted, platforms not pulled locally
 * copied from the registry the image came from; then the manifests, then the tag.
 */
export async function push(ctx: PolyarchContext, req: PushRequest): Promise<PushResult> {
  const ref = parseImageReference(req.image);
  const { localName, pushImage } = await registry();
  return withStoreAndClient(ctx, async (store, client) => {
    const local = await store.getName(localName(ref));
    if (!local) {
      throw new NotFoundError(
        `An image does not exist locally with the tag: ${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ''}`,
      );
    }
    req.onEvent?.({ type: 'resolved', ref: local.name, descriptor: local.target });
    const r = await pushImage({
      client,
      store,
      source: local.target,
      sourceName: local.name,
      ref,
      ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    });
    return { name: local.name, descriptor: r.descriptor! };
  });
}

/** Gives the local image `source` (a name, or an ID: a digest or a prefix of one) the name `target`. */
export async function tag(
  ctx: PolyarchContext,
  req: { source: string; target: string },
): Promise<ImageRecord> {
  const target = parseImageReference(req.target);
  if (target.digest)
    throw new InvalidArgumentError(`refusing to create a tag with a digest reference: "${req.target}"`);
  const { localName } = await registry();
  return withStore(ctx, async (store) => {
    const source = (await findLocalImages(store, req.source))[0]!.record;
    const name = localName(target);
    await store.setName(name, source.target);
    return { name, target: source.target };
  });
}

export interface RemoveImagesRequest {
  /** names, or IDs (a digest or a prefix of at least 4 hex digits) */
  images: readonly string[];
  /** remove every name of an image given by ID (else several names are a conflict) */
  force?: boolean;
  /** keep the blobs the removed names leave unused */
  noPrune?: boolean;
  /** each name as it is removed, then each removed image's digest */
  onEvent?: (e: RemoveEvent) => void;
}

export type RemoveEvent = { type: 'untagged'; name: string } | { type: 'deleted'; digest: Digest };

export interface RemoveImagesResult {
  untagged: string[];
  /** the images (index or manifest digests) whose blobs went */
  deleted: Digest[];
  /** the images that could not be removed, each with why (the others still are) */
  failed: { image: string; error: PolyarchError }[];
}

/**
 * Removes local image names, then collects the blobs that no name, lease or the build cache
 * reaches any more, as `docker rmi` untags and deletes.
 */
export async function removeImages(
  ctx: PolyarchContext,
  req: RemoveImagesRequest,
): Promise<RemoveImagesResult> {
  const emit = req.onEvent ?? (() => {});
  return withStore(ctx, async (store) => {
    const failed: RemoveImagesResult['failed'] = [];
    const untag: ImageRecord[] = [];
    for (const image of req.images) {
      try {
        const found = (await findLocalImages(store, image)).map((m) => m.record);
        if (found.length > 1 && !req.force) {
          throw new InvalidArgumentError(
            `conflict: unable to delete ${image} (must be forced) - image is referenced in multiple repositories`,
          );
        }
        untag.push(...found);
      } catch (err) {
        if (!(err instanceof PolyarchError)) throw err;
        failed.push({ image, error: err });
      }
    }
    const untagged = await store.deleteNames([...new Set(untag.map((r) => r.name))]);
    for (const name of untagged) emit({ type: 'untagged', name });
    const deleted: Digest[] = [];
    if (untagged.length && !req.noPrune) {
      // blobs the build cache still uses (layers of cached snapshots) stay
      const root = rootOf(ctx);
      const [{ SnapshotStore }, { BuilderStore }, { sweepContent }] = await collector();
      const snapshots = await SnapshotStore.open({ root });
      const builders = await BuilderStore.open(root);
      const gc = await sweepContent({ builders, snapshots, content: store });
      const gone = new Set<string>(gc.removed);
      for (const d of new Set(untag.map((r) => r.target.digest))) {
        if (!gone.has(d)) continue;
        deleted.push(d);
        emit({ type: 'deleted', digest: d });
      }
    }
    return { untagged, deleted, failed };
  });
}

/** A local image as `images` lists it: one per name. */
export interface ImageSummary {
  /** the stored name (`localhost:5000/busybox:1.35`) */
  name: string;
  /** the familiar repository (`busybox` for `docker.io/library/busybox`) */
  repository: string;
  /** the tag; `<none>` for a name by digest */
  tag: string;
  /** the index or manifest digest */
  digest: Digest;
  mediaType: string;
  /** the platforms whose manifest, config and layers are all in the store */
  platforms: string[];
  /** the bytes of the image's distinct blobs in the store */
  size: number;
}

/** The local images, one per name, optionally only those of one `REPOSITORY[:TAG]`. */
export async function listImages(
  ctx: PolyarchContext,
  req: { filter?: string } = {},
): Promise<ImageSummary[]> {
  const filter = req.filter !== undefined ? parseReference(req.filter) : undefined;
  return withStore(ctx, async (store) => {
    const rows: ImageSummary[] = [];
    for (const { record: rec, ref } of await namedImages(store)) {
      if (
        filter &&
        (repositoryName(filter) !== repositoryName(ref) ||
          (filter.tag !== undefined && filter.tag !== ref.tag))
      )
        continue;
      const { platforms, size } = await imagePlatformsAndSize(store, rec.target, rec.name).catch(() => ({
        platforms: [] as string[],
        size: 0,
      }));
      rows.push({
        name: rec.name,
        repository: familiarName(ref),
        tag: ref.tag ?? (ref.digest ? '<none>' : defaultTag),
        digest: rec.target.digest,
        mediaType: rec.target.mediaType,
        platforms,
        size,
      });
    }
    return rows;
  });
}
