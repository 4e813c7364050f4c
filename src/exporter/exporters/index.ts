/** exporter/exporters — the exporter of each output type, looked up by type. */
import type { Output } from '../outputs.js';
import { localExporter, tarExporter } from './files.js';
import { imageExporter, loadExporter } from './image.js';
import { dockerExporter, ociExporter } from './layout.js';
import type { Exporter } from './types.js';

const cacheOnlyExporter: Exporter<Output & { type: 'cacheonly' }> = {
  stepName: 'exporting cache',
  async export() {
    return {};
  },
};

const exporters: { [T in Output['type']]: Exporter<Extract<Output, { type: T }>> } = {
  image: imageExporter,
  load: loadExporter,
  oci: ociExporter,
  docker: dockerExporter,
  local: localExporter,
  tar: tarExporter,
  cacheonly: cacheOnlyExporter,
};

/** The exporter for an output. */
export function exporterFor<O extends Output>(out: O): Exporter<O> {
  return exporters[out.type] as unknown as Exporter<O>;
}

export * from './types.js';
