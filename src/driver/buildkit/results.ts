/**
 * driver/buildkit/results — a node's image as a platform result of the build: its layers
 * unpacked as snapshots here (as a base image's are, so `run`, `-o type=local` and `--load`
 * work on it) and its config and history taken as the node made them (with its inline cache,
 * `--cache-to type=inline`, which the assembled config keeps). The exporters then
 * treat it as they treat an image polyarch built itself.
 */
import type { PlatformBuild } from '../../exporter/assemble.js';
import type { VertexHandle } from '../../progress/writer.js';
import { ensureImageLayers } from '../../worker/layers.js';
import type { Worker } from '../../worker/worker.js';
import type { ArchivedImage } from './archive.js';

/** The config field of BuildKit's inline cache (`--cache-to type=inline`), kept in the image. */
const BuildkitInlineCacheField = 'moby.buildkit.cache.v0';

export async function platformBuildOf(
  w: Worker,
  image: ArchivedImage,
  opts: { progress?: VertexHandle; signal?: AbortSignal } = {},
): Promise<PlatformBuild> {
  const { layers } = await ensureImageLayers(w, {
    manifest: image.manifest,
    manifestDescriptor: image.manifestDescriptor,
    config: image.config,
    platform: image.platform,
    ...opts,
  });
  const c = image.config;
  const inline = (c as unknown as Record<string, unknown>)[BuildkitInlineCacheField];
  return {
    platform: image.platform,
    config: c.config ?? {},
    ...(c.author ? { author: c.author } : {}),
    history: (c.history ?? []).map((entry) => ({ entry })),
    stepKeys: new Map(),
    layers,
    ...(c.created ? { baseCreated: c.created } : {}),
    ...(inline !== undefined ? { configFields: { [BuildkitInlineCacheField]: inline } } : {}),
  };
}
