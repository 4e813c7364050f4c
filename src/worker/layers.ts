/**
 * worker/layers — an image's layers as snapshots: pulled into the content store when missing,
 * unpacked once per chain ID (a later build or `run` finds them by chain ID and unpacks
 * nothing), with BuildKit's progress statuses (`sha256:… 24.12MB / 73.50MB`, `extracting
 * sha256:… 7.6s done`).
 */

import { StoreError } from '../errors.js';
import type { LayerInfo } from '../graph/ops.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../oci/types.js';
import type { VertexHandle } from '../progress/writer.js';
import { type Reference, withDigest } from '../reference/index.js';
import { pullImage, type TransferEvent } from '../registry/index.js';
import { chainIDs, type Snapshot } from '../snapshot/index.js';
import type { Worker } from './worker.js';

export interface ImageLayersInput {
  /** where the blobs come from when missing (a registry reference); undefined: the local store only */
  ref?: Reference;
  manifest: ImageManifest;
  manifestDescriptor: Descriptor;
  config: ImageConfig;
  platform: Platform;
  progress?: VertexHandle;
  signal?: AbortSignal;
}

/** The snapshots of an image's layers, bottom first, unpacking what is not unpacked yet. */
export async function ensureImageLayers(
  w: Worker,
  input: ImageLayersInput,
): Promise<{ layers: LayerInfo[]; top?: Snapshot }> {
  const diffIDs = input.config.rootfs.diff_ids as Digest[];
  const descs = input.manifest.layers;
  if (diffIDs.length !== descs.length) {
    throw new StoreError(
      `image ${input.manifestDescriptor.digest} has ${descs.length} layers but its config lists ${diffIDs.length} diff IDs`,
    );
  }
  const chains = chainIDs(diffIDs);
  // the deepest layer already unpacked
  const snaps: (Snapshot | undefined)[] = new Array(chains.length).fill(undefined);
  let have = chains.length;
  while (have > 0) {
    const s = await w.snapshots.getByChainID(chains[have - 1]!);
    if (!s) {
      have--;
      continue;
    }
    snaps[have - 1] = s;
    break;
  }
  if (have < chains.length) {
    // what is unpacked below `have` is found by following parents
    if (have > 0) {
      const chain = (await w.snapshots.chain(snaps[have - 1])).reverse(); // bottom first
      chain.forEach((s, i) => {
        snaps[i] = s;
      });
    }
    const missing = descs.slice(have);
    const absent: Descriptor[] = [];
    for (const d of missing) if (!(await w.content.has(d.digest))) absent.push(d);
    if (absent.length > 0) {
      if (!input.ref) {
        throw new StoreError(
          `the local store lacks layer ${absent[0]!.digest} of image ${input.manifestDescriptor.digest}; pull the image again`,
        );
      }
      await pullBlobs(w, input, absent);
    }
    for (let i = have; i < chains.length; i++) {
      const d = descs[i]!;
      input.signal?.throwIfAborted();
      const status = input.progress?.status(`extracting ${d.digest}`);
      const existing = await w.snapshots.getByChainID(chains[i]!);
      if (existing) {
        snaps[i] = existing;
      } else {
        const stream = await w.content.openBlob(d.digest);
        snaps[i] = await w.snapshots.unpackLayer(stream, {
          mediaType: d.mediaType,
          diffID: diffIDs[i]!,
          digest: d.digest,
          ...(i > 0 ? { parent: snaps[i - 1]! } : {}),
        });
      }
      status?.done();
    }
  } else if (have > 0) {
    const chain = (await w.snapshots.chain(snaps[have - 1])).reverse(); // bottom first
    chain.forEach((s, i) => {
      snaps[i] = s;
    });
  }
  const layers = snaps.map((s, i) => ({
    snapshot: s!.id,
    diffID: diffIDs[i]!,
    blob: descs[i]!,
  }));
  return { layers, ...(snaps.length ? { top: snaps[snaps.length - 1]! } : {}) };
}

/** Pulls the missing blobs of one image manifest, reporting bytes as BuildKit does. */
async function pullBlobs(w: Worker, input: ImageLayersInput, absent: readonly Descriptor[]): Promise<void> {
  const statuses = new Map<Digest, ReturnType<VertexHandle['status']>>();
  const sizes = new Map(absent.map((d) => [d.digest, d.size]));
  const done = new Map<Digest, number>();
  const onEvent = (e: TransferEvent) => {
    if (!input.progress) return;
    if (e.type === 'bytes' && sizes.has(e.digest)) {
      let s = statuses.get(e.digest);
      if (!s) {
        s = input.progress.status(e.digest);
        statuses.set(e.digest, s);
      }
      const n = (done.get(e.digest) ?? 0) + e.bytes;
      done.set(e.digest, n);
      s.update(n, sizes.get(e.digest));
    } else if (e.type === 'blob' && e.status === 'done' && statuses.has(e.descriptor.digest)) {
      statuses.get(e.descriptor.digest)!.done();
    }
  };
  await pullImage({
    client: w.registry,
    store: w.content,
    ref: withDigest(input.ref!, input.manifestDescriptor.digest),
    host: input.platform,
    platforms: [input.platform],
    name: false,
    onEvent,
  });
  for (const s of statuses.values()) s.done();
}
