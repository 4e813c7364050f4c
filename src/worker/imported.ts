/**
 * worker/imported — a record of an imported cache (`--cache-from`) as a result: first lazy
 * (descriptors and where the blobs are, nothing fetched), and made usable on this machine only
 * when something needs its filesystem (a step that really runs on it, a file-tree output, a
 * scan): its blobs brought into the content store and unpacked as snapshots, once per chain ID
 * (what is unpacked already is reused).
 */
import { fetchBlob } from '../cache/lazy.js';
import type { ImportedRecord } from '../cache/source.js';
import { isLazy, type LayerInfo } from '../graph/ops.js';
import { chainIDs, type Snapshot } from '../snapshot/index.js';
import type { Worker } from './worker.js';

/** The record's chain as lazy layers: no snapshot, each blob's origin the record's source. */
export function lazyImported(rec: ImportedRecord): LayerInfo[] {
  return rec.layers.map((l) => ({
    snapshot: '',
    diffID: l.diffID,
    blob: l.blob,
    origin: rec.source.blobs,
    ...(l.producedBy ? { producedBy: l.producedBy } : {}),
    ...(l.created ? { created: l.created } : {}),
  }));
}

/** A chain with lazy layers fetched and unpacked here; a chain without any is returned as is. */
export async function materializeLayers(
  w: Pick<Worker, 'content' | 'snapshots'>,
  layers: readonly LayerInfo[],
  signal?: AbortSignal,
): Promise<LayerInfo[]> {
  if (!isLazy(layers)) return [...layers];
  const chains = chainIDs(layers.map((l) => l.diffID!));
  const out: LayerInfo[] = [];
  let parent: Snapshot | undefined;
  for (const [i, l] of layers.entries()) {
    signal?.throwIfAborted();
    let snap = l.origin ? await w.snapshots.getByChainID(chains[i]!) : await w.snapshots.mustGet(l.snapshot);
    if (!snap) {
      await fetchBlob(w.content, l.blob!, l.origin!);
      snap = await w.snapshots.unpackLayer(await w.content.openBlob(l.blob!.digest), {
        mediaType: l.blob!.mediaType,
        diffID: l.diffID!,
        digest: l.blob!.digest,
        ...(parent ? { parent } : {}),
      });
    }
    parent = snap;
    const { origin: _o, ...rest } = l;
    out.push({ ...rest, snapshot: snap.id });
  }
  return out;
}
