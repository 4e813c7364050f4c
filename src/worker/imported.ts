/**
 * worker/imported — a record of an imported cache (`--cache-from`) made usable on this
 * machine: its blobs brought into the content store and unpacked as snapshots, once per chain
 * ID (what is unpacked already is reused), only when the solver hits the record.
 */
import { pipeline } from 'node:stream/promises';
import type { ImportedRecord } from '../cache/source.js';
import type { LayerInfo } from '../graph/ops.js';
import { chainIDs, type Snapshot } from '../snapshot/index.js';
import type { Worker } from './worker.js';

export async function materializeImported(
  w: Worker,
  rec: ImportedRecord,
  signal?: AbortSignal,
): Promise<LayerInfo[]> {
  const chains = chainIDs(rec.layers.map((l) => l.diffID));
  const out: LayerInfo[] = [];
  let parent: Snapshot | undefined;
  for (const [i, l] of rec.layers.entries()) {
    signal?.throwIfAborted();
    let snap = await w.snapshots.getByChainID(chains[i]!);
    if (!snap) {
      if (!(await w.content.has(l.blob.digest))) {
        const writer = await w.content.openWriter({
          mediaType: l.blob.mediaType,
          expected: { digest: l.blob.digest, size: l.blob.size },
          what: `layer ${l.blob.digest} of ${rec.source.name}`,
        });
        try {
          await pipeline(await rec.source.openBlob(l.blob), writer.stream);
          await writer.commit();
        } catch (err) {
          await writer.abort();
          throw err;
        }
      }
      snap = await w.snapshots.unpackLayer(await w.content.openBlob(l.blob.digest), {
        mediaType: l.blob.mediaType,
        diffID: l.diffID,
        digest: l.blob.digest,
        ...(parent ? { parent } : {}),
      });
    }
    parent = snap;
    out.push({
      snapshot: snap.id,
      diffID: l.diffID,
      blob: l.blob,
      ...(l.producedBy ? { producedBy: l.producedBy } : {}),
      ...(l.created ? { created: l.created } : {}),
    });
  }
  return out;
}
