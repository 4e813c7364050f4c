/**
 * registry/copy — copying an image between repositories and registries without the local
 * store: blobs stream from the source's GET into the destination's upload (verified on the
 * way), or are mounted when both are on one registry. The index is copied byte for byte when
 * all platforms are taken, so its digest does not change.
 */
import { childrenOf } from '../content/walk.js';
import { digestOf } from '../oci/digest.js';
import { canonicalBytes } from '../oci/json.js';
import type { Descriptor, ImageIndex } from '../oci/types.js';
import { formatReference, type Reference } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import { fetchManifests, type Resolved, resolve } from './pull.js';
import type { Repository } from './repository.js';
import { type PlatformSelection, selectManifests } from './select.js';
import {
  type ImageSource,
  type TransferEvent,
  type TransferPlan,
  type TransferResult,
  transferImage,
} from './transfer.js';

/** A repository as the source of blobs (mountable from when on the destination's registry). */
export function repositorySource(repo: Repository): ImageSource {
  return {
    name: repo.name,
    blob: (desc) => ({
      open: (start, end) => {
        if ((start ?? 0) === 0 && (end === undefined || end === desc.size)) return repo.openBlob(desc);
        return repo.openBlobRange(desc, start ?? 0, end ?? desc.size);
      },
    }),
    mountFrom: (_desc, domain) => (domain === repo.domain ? [repo.path] : []),
  };
}

export interface CopyOptions {
  client: RegistryClient;
  src: Reference;
  dst: Reference;
  /** default all: the index is copied as is; a selection of one platform copies its manifest alone */
  platforms?: PlatformSelection;
  onEvent?: (e: TransferEvent) => void;
}

/** Copies an image from one reference to another (any registries). */
export async function copyImage(opts: CopyOptions): Promise<TransferResult> {
  const { client, src, dst } = opts;
  const what = `copying ${formatReference(src)} to ${formatReference(dst)}`;
  const top = await resolve(client, src, what);
  const repo = client.repository(src);
  return transferImage({
    client,
    source: repositorySource(repo),
    dst,
    plan: await copyPlan(client, repo, top, opts.platforms ?? 'all', what),
    what,
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
}

/**
 * What to put at the destination: a lone manifest as it is; an index as it is when all
 * platforms are taken; one platform's manifest alone; or a new index of the chosen manifests.
 */
async function copyPlan(
  client: RegistryClient,
  repo: Repository,
  top: Resolved,
  selection: PlatformSelection,
  what: string,
): Promise<TransferPlan> {
  const original = { descriptor: top.descriptor, bytes: top.bytes };
  if (top.parsed.kind === 'manifest') return { top: original, children: [], blobs: childrenOf(top.parsed) };
  const chosen = selectManifests(top.parsed.index, selection, what);
  const { children, blobs } = await fetchManifests(client, repo, chosen, what);
  if (selection === 'all') return { top: original, children, blobs };
  if (chosen.length === 1) return { top: children[0]!, children: [], blobs };
  const index: ImageIndex = { ...top.parsed.index, manifests: chosen };
  const bytes = canonicalBytes(index);
  const descriptor: Descriptor = {
    mediaType: top.descriptor.mediaType,
    digest: digestOf(bytes),
    size: bytes.length,
  };
  return { top: { descriptor, bytes }, children, blobs };
}
