/**
 * registry/transfer — putting an image into a repository from any source (the local store for
 * a push, another repository for a copy): blobs first (HEAD, cross-repository mount when the
 * source knows a repository of the same registry that has the blob, upload), each once and in
 * parallel up to the client's bound; then the manifests by digest; then the index or manifest
 * under the tag.
 */
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import { formatReference, type Reference } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import { createLimiter, runAll } from './limit.js';
import type { BlobSource } from './repository.js';

/** Progress of a transfer, for renderers. */
export type TransferEvent =
  | { type: 'resolved'; ref: string; descriptor: Descriptor }
  | { type: 'blob'; descriptor: Descriptor; status: 'exists' | 'mounted' | 'transferring' | 'done' }
  | { type: 'bytes'; digest: Digest; bytes: number }
  | { type: 'manifest'; descriptor: Descriptor; ref: string };

/** Where the bytes of an image come from. */
export interface ImageSource {
  /** for messages: `local image x`, `localhost:5000/a` */
  readonly name: string;
  blob(desc: Descriptor): BlobSource;
  /** repositories of `domain` that may have the blob already (cross-repository mount) */
  mountFrom(desc: Descriptor, domain: string): readonly string[];
}

export interface ManifestBytes {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

export interface TransferPlan {
  /** the index or manifest to put under the destination tag (none: content only, by digest) */
  top: ManifestBytes | undefined;
  /** manifests of an index to put first (empty for a lone manifest) */
  children: readonly ManifestBytes[];
  /** config and layer descriptors, any order, duplicates allowed */
  blobs: readonly Descriptor[];
}

export interface TransferResult {
  descriptor: Descriptor | undefined;
  /** what happened to each distinct blob */
  blobs: Map<Digest, 'exists' | 'mounted' | 'uploaded'>;
}

/** Puts a planned image into the destination repository. */
export async function transferImage(opts: {
  client: RegistryClient;
  source: ImageSource;
  dst: Reference;
  plan: TransferPlan;
  onEvent?: (e: TransferEvent) => void;
  what?: string;
}): Promise<TransferResult> {
  const { client, source, dst, plan } = opts;
  const emit = opts.onEvent ?? (() => {});
  const repo = client.repository(dst);
  const dstName = formatReference(dst);
  const what = opts.what ?? `pushing ${dstName}`;
  const limit = createLimiter(client.concurrency);
  const unique = new Map<Digest, Descriptor>();
  for (const b of plan.blobs) if (!unique.has(b.digest)) unique.set(b.digest, b);
  const outcomes = new Map<Digest, 'exists' | 'mounted' | 'uploaded'>();
  await runAll(limit, [...unique.values()], async (desc) => {
    emit({ type: 'blob', descriptor: desc, status: 'transferring' });
    const outcome = await repo.uploadBlob(desc, source.blob(desc), {
      mountFrom: source.mountFrom(desc, dst.domain),
      onBytes: (n) => emit({ type: 'bytes', digest: desc.digest, bytes: n }),
      what: `${what}: blob ${desc.digest}`,
    });
    outcomes.set(desc.digest, outcome);
    emit({
      type: 'blob',
      descriptor: desc,
      status: outcome === 'uploaded' ? 'done' : outcome === 'mounted' ? 'mounted' : 'exists',
    });
  });
  await runAll(limit, [...plan.children], async (m) => {
    await repo.putManifest(
      m.descriptor.digest,
      m.bytes,
      m.descriptor.mediaType,
      `${what}: manifest ${m.descriptor.digest}`,
    );
    emit({ type: 'manifest', descriptor: m.descriptor, ref: `${repo.name}@${m.descriptor.digest}` });
  });
  if (plan.top) {
    const target = dst.tag ?? dst.digest ?? 'latest';
    await repo.putManifest(target, plan.top.bytes, plan.top.descriptor.mediaType, `${what}: manifest`);
    emit({ type: 'manifest', descriptor: plan.top.descriptor, ref: dstName });
  }
  return { descriptor: plan.top?.descriptor, blobs: outcomes };
}
