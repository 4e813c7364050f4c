/**
 * exporter/export — a solved build to every output it asked for. Each output type is one
 * exporter (exporter/exporters); this runs them: `prepareExports` before the build (every
 * destination can be written, each registry takes a push with the credentials at hand, the
 * Docker engine `--load` needs answers, the annotations fit the platforms), then
 * `runExports`, which assembles the image once per format (media types, annotations,
 * compression level; layers compressed once for all), runs each exporter in its progress step,
 * and then what they left for later, phase by phase: registries, the Docker engine, and the
 * local store's names last, so that a failed output leaves the names as they were.
 */

import { messageOf } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { digestOf } from '../oci/digest.js';
import type { VertexHandle } from '../progress/writer.js';
import { type AnnotationSet, resolveAnnotations } from './annotations.js';
import { type Assembled, assembleImages, type PlatformBuild } from './assemble.js';
import type { DockerEngine } from './docker-engine.js';
import {
  type ExportContext,
  type Exported,
  exporterFor,
  type PrepareContext,
  type PrepareOptions,
  phases,
  type RunExportsOptions,
} from './exporters/index.js';
import type { ExportLayer } from './image.js';
import type { ExportResponse } from './metadata.js';
import { formatKey, type ImageFormat, type Output } from './outputs.js';

export type { PrepareOptions, RunExportsOptions } from './exporters/index.js';

/** Outputs checked against the world, ready to run. */
export interface PreparedExports {
  outputs: Output[];
  /** the engine a load goes to; absent when there is none (an automatic load then stays local) */
  docker?: DockerEngine;
}

/** Checks every output before the build (see the module comment). */
export async function prepareExports(outputs: Output[], o: PrepareOptions): Promise<PreparedExports> {
  for (const out of outputs) if ('format' in out) resolveAnnotations(out.format.annotations, o.platforms);
  const ctx: PrepareContext = { ...o, checkedRepos: new Set() };
  for (const out of outputs) await exporterFor(out).prepare?.(out, ctx);
  return { outputs, ...(ctx.docker ? { docker: ctx.docker } : {}) };
}

/** Runs the prepared outputs for the solved platforms; answers what buildx's metadata needs. */
export async function runExports(
  prepared: PreparedExports,
  builds: readonly PlatformBuild[],
  o: RunExportsOptions,
): Promise<ExportResponse> {
  const open = new Set<VertexHandle>();
  try {
    const ctx = exportContext(prepared, builds, o, open);
    const results: Exported[] = [];
    for (const out of prepared.outputs) results.push(await exporterFor(out).export(out, ctx));
    for (const phase of phases) {
      for (const r of results) for (const l of r.later ?? []) if (l.phase === phase) await l.run();
    }
    for (const v of open) v.complete();
    return response(results);
  } catch (err) {
    for (const v of open) v.fail(messageOf(err));
    throw err;
  }
}

function exportContext(
  prepared: PreparedExports,
  builds: readonly PlatformBuild[],
  o: RunExportsOptions,
  open: Set<VertexHandle>,
): ExportContext {
  const layerMemo = new Map<string, Promise<ExportLayer>>();
  const assemblies = new Map<string, Promise<Assembled>>();
  const platforms = builds.map((b) => b.platform);
  const annotations = (format: ImageFormat): AnnotationSet =>
    resolveAnnotations(format.annotations, platforms);
  let steps = 0;
  return {
    o,
    builds,
    ...(prepared.docker ? { docker: prepared.docker } : {}),
    trees: builds.map((b) => ({
      platform: b.platform,
      ...(b.layers.length ? { top: b.layers[b.layers.length - 1]!.snapshot } : {}),
    })),
    annotations,
    assemble(format, progress) {
      const key = formatKey(format);
      let a = assemblies.get(key);
      if (!a) {
        const set = annotations(format);
        a = assembleImages(builds, {
          content: o.content,
          snapshots: o.snapshots,
          oci: format.oci,
          annotations: set.index,
          platformAnnotations: (p) => ({ manifest: set.manifest(p), descriptor: set.manifestDescriptor(p) }),
          ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
          compression: format.compression,
          forceCompression: format.forceCompression,
          ...(o.compressor ? { compressor: o.compressor } : {}),
          layerMemo,
          exportsDir: o.exportsDir,
          ...(o.inlineCache ? { inlineCache: true } : {}),
          ...(o.attestations ? { attestations: o.attestations } : {}),
          ...(format.ociArtifact ? { attestationArtifacts: true } : {}),
          ...(format.referrers ? { attestationReferrers: true } : {}),
          progress,
        });
        assemblies.set(key, a);
      }
      return a;
    },
    step(name) {
      const v = o.progress.vertex(digestOf(`${name} ${steps++}`), name);
      v.start();
      open.add(v);
      return v;
    },
    done(v) {
      v.complete();
      open.delete(v);
    },
  };
}

/** The build's result for `--metadata-file` and the image ID: the first output's image. */
function response(results: readonly Exported[]): ExportResponse {
  const names: string[] = [];
  for (const r of results) for (const n of r.names ?? []) if (!names.includes(n)) names.push(n);
  const primary = results.find((r) => r.image)?.image;
  if (!primary) return { names };
  const top = primary.top;
  const single = primary.images.length === 1 ? primary.images[0] : undefined;
  return {
    descriptor: {
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.size,
      ...(single ? { platform: single.platform } : {}),
    },
    ...(single ? { configDigest: single.config.digest as Digest } : {}),
    names,
  };
}
