/**
 * exporter/exporters/layout — `type=oci` and `type=docker` with a `dest`: the image as an OCI
 * layout (a tarball or, with `tar=false`, a directory) or a `docker load` archive.
 */
import { checkDestination, writeDirAtomic } from '../dest.js';
import { layoutTarEntries, planLayout, writeLayoutDir } from '../layout.js';
import type { ArchiveOutput } from '../outputs.js';
import { sendTar } from './send.js';
import type { Exporter } from './types.js';

function layoutExporter(stepName: string): Exporter<ArchiveOutput> {
  return {
    stepName,
    async prepare(out) {
      if (out.dest.kind !== 'stdout')
        await checkDestination(out.dest.path, out.dest.kind, `output type=${out.type}`);
    },
    async export(out, ctx) {
      const { o } = ctx;
      const v = ctx.step(stepName);
      const image = await ctx.assemble(out.format, v);
      const layout = await planLayout({
        store: o.content,
        top: image.top,
        names: out.names,
        variant: out.type,
        host: o.host,
        descriptorAnnotations: ctx.annotations(out.format).indexDescriptor,
        ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
      });
      const s = v.status('sending tarball');
      if (out.dest.kind === 'dir') {
        await writeDirAtomic(out.dest.path, (dir) => writeLayoutDir(o.content, layout, dir));
      } else {
        await sendTar(layoutTarEntries(o.content, layout, o.sourceDateEpoch ?? 0), out.dest, o.stdout);
      }
      s.done();
      ctx.done(v);
      return { image, names: out.names };
    },
  };
}

export const ociExporter = layoutExporter('exporting to oci image format');
export const dockerExporter = layoutExporter('exporting to docker image format');
