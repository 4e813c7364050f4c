/**
 * cache/transfer — a build's side of `--cache-from` and `--cache-to` (local directories and
 * registries): the imported caches read before solving (one that is missing or unreadable is a
 * warning and the build goes on without it, as with buildx),
 * and the solved steps written as a cache after the outputs (mode=min: the final images'
 * layer chains; mode=max: every step's), with the layer blobs the images have.
 */
import type { ContentStore } from '../content/index.js';
import { PolyarchError, StoreError } from '../errors.js';
import {
  type ExportLayersOptions,
  exportLayers,
  type PlatformBuild,
  type SolvedStep,
} from '../exporter/assemble.js';
import type { ExportLayer } from '../exporter/image.js';
import type { Descriptor } from '../oci/types.js';
import { formatReference } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import type { SnapshotStore } from '../snapshot/index.js';
import { type ChainLayer, cacheConfig } from './format.js';
import { lazyOrigins } from './lazy.js';
import { readLocalCache, writeLocalCache } from './local.js';
import { pushRegistryCache, readRegistryCache } from './registry.js';
import { CacheImports, type CacheSource } from './source.js';
import type { CacheExport, CacheImport } from './spec.js';

export async function loadCacheImports(
  imports: readonly CacheImport[],
  opts: { registry: RegistryClient; sourceDateEpoch?: number; warn?: (m: string) => void },
): Promise<CacheImports> {
  const sources: CacheSource[] = [];
  for (const im of imports) {
    let source: CacheSource | undefined;
    try {
      source =
        im.type === 'local'
          ? await readLocalCache(im.src, im.name, im.digest)
          : await readRegistryCache(opts.registry, im.ref, im.name);
    } catch (err) {
      opts.warn?.(`cache ${im.name} not used: ${(err as Error).message}`);
      continue;
    }
    if (!source) {
      const where =
        im.type === 'local' ? `${im.src} holds no cache` : `${formatReference(im.ref)} does not exist`;
      opts.warn?.(`cache ${im.name} not found: ${where}`);
      continue;
    }
    if (source.config.sourceDateEpoch !== opts.sourceDateEpoch) {
      const said = (e: number | undefined) => (e === undefined ? 'none' : String(e));
      opts.warn?.(
        `cache ${im.name} not used: it was exported with SOURCE_DATE_EPOCH ${said(source.config.sourceDateEpoch)}, this build has ${said(opts.sourceDateEpoch)}`,
      );
      continue;
    }
    sources.push(source);
  }
  return new CacheImports(sources);
}

export interface CacheExportOptions extends ExportLayersOptions {
  registry: RegistryClient;
  content: ContentStore;
  snapshots: SnapshotStore;
  warn?: (m: string) => void;
}

/** The steps a cache of `mode` records for these builds. */
export function stepsToExport(builds: readonly PlatformBuild[], mode: 'min' | 'max'): SolvedStep[] {
  const out = new Map<string, SolvedStep>();
  for (const b of builds) {
    if (b.key && b.layers.length) out.set(b.key, { key: b.key, description: '', layers: b.layers });
    if (mode === 'max') for (const s of b.steps ?? []) if (s.layers.length) out.set(s.key, s);
  }
  // a final step's description is its own when the solve reported it
  for (const b of builds) {
    const s = b.steps?.find((x) => x.key === b.key);
    if (s && out.has(s.key)) out.set(s.key, { ...out.get(s.key)!, description: s.description });
  }
  return [...out.values()];
}

/** Writes every `--cache-to`; a failure is an error, or a warning with `ignore-error=true`. */
export async function exportCaches(
  targets: readonly CacheExport[],
  builds: readonly PlatformBuild[],
  opts: CacheExportOptions,
): Promise<Descriptor[]> {
  const memo = new Map<string, Promise<ExportLayer>>();
  const written: Descriptor[] = [];
  for (const t of targets) {
    if (t.type === 'inline') continue; // written into the images' configs by the exporter
    try {
      const steps = stepsToExport(builds, t.mode);
      const records = await Promise.all(
        steps.map(async (s) => {
          const format = { compression: t.compression, forceCompression: t.forceCompression };
          const exported = await exportLayers({ ...opts, ...format }, s.layers, memo);
          const layers: ChainLayer[] = s.layers.map((l, i) => ({
            blob: exported[i]!.blob,
            diffID: exported[i]!.diffID,
            ...(l.producedBy ? { producedBy: l.producedBy } : {}),
            ...(l.created ? { created: l.created } : {}),
          }));
          return { key: s.key, description: s.description, layers };
        }),
      );
      const cfg = cacheConfig(records, opts.sourceDateEpoch);
      const lazy = lazyOrigins(steps.map((s) => s.layers));
      written.push(
        t.type === 'local'
          ? await writeLocalCache(t.dest, cfg, opts.content, lazy)
          : await pushRegistryCache(opts.registry, t.ref, cfg, opts.content, lazy),
      );
    } catch (err) {
      const message = `exporting cache ${t.name}: ${(err as Error).message}`;
      if (!t.ignoreError) throw err instanceof PolyarchError ? err : new StoreError(message, { cause: err });
      opts.warn?.(message);
    }
  }
  return written;
}
