/**
 * exporter/exporters/files — `type=local` and `type=tar`: the final file trees, one
 * sub-directory per platform when several were built (or as `platform-split` says).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { checkDestination, writeDirAtomic } from '../dest.js';
import { type TreeAttestations, treeTarEntries, writeTrees } from '../filesystem.js';
import type { FilesOutput } from '../outputs.js';
import { sendTar } from './send.js';
import type { ExportContext, Exporter } from './types.js';

/** Each platform's attestations, made for a file tree (no image layers to map steps to). */
function treeAttestations(ctx: ExportContext): TreeAttestations {
  const source = ctx.o.attestations;
  return async (i) => (source ? (await source.of(ctx.builds[i]!, [])).filter((a) => !a.inlineOnly) : []);
}

async function prepare(out: FilesOutput): Promise<void> {
  if (out.dest.kind !== 'stdout')
    await checkDestination(out.dest.path, out.dest.kind, `output type=${out.type}`);
}

export const localExporter: Exporter<FilesOutput> = {
  stepName: 'exporting to client directory',
  prepare,
  async export(out, ctx) {
    const v = ctx.step(this.stepName);
    const s = v.status('copying files');
    if (out.dest.kind !== 'dir') throw new Error('local output without a directory');
    await writeDirAtomic(out.dest.path, (dir) =>
      writeTrees(
        ctx.o.snapshots,
        ctx.trees,
        dir,
        out.platformSplit,
        treeAttestations(ctx),
        ctx.o.sourceDateEpoch,
      ),
    );
    s.done();
    ctx.done(v);
    return {};
  },
};

export const tarExporter: Exporter<FilesOutput> = {
  stepName: 'exporting to client tarball',
  prepare,
  async export(out, ctx) {
    const { o } = ctx;
    const v = ctx.step(this.stepName);
    const s = v.status('sending tarball');
    const scratch = join(o.tmpDir, `tar-output-${randomUUID()}`);
    const entries = treeTarEntries(o.snapshots, ctx.trees, scratch, {
      ...(out.platformSplit !== undefined ? { split: out.platformSplit } : {}),
      ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
      attestations: treeAttestations(ctx),
    });
    await sendTar(entries, out.dest, o.stdout);
    s.done();
    ctx.done(v);
    return {};
  },
};
