/**
 * graph/dispatch/sources — the filesystems a conversion reads besides its own stages' results:
 * base images (each resolved once per platform), `--build-context` replacements, and the
 * build context; and, for `COPY --from`/`--mount from=`, the stage, image or context named.
 */
import type { PlannedStage } from '../../dockerfile/index.js';
import type { Platform } from '../../oci/types.js';
import { formatPlatform, normalizePlatform } from '../../platforms/index.js';
import { familiarString, parseReference } from '../../reference/index.js';
import type { Vertex } from '../ops.js';
import type { ConvertOptions, NamedContext, ResolvedImage, StageState } from './types.js';

export const scratchVertex: Vertex = { op: { type: 'scratch' }, inputs: [], name: 'scratch', hidden: true };

/**
 * The key a named context is looked up by, as BuildKit's dockerui does: the familiar name
 * without `:latest` (`FROM alpine` and `FROM docker.io/library/alpine:latest` both find
 * `alpine`; a stage name is its own key).
 */
export function namedContextKey(name: string): string {
  try {
    return familiarString(parseReference(name)).replace(/:latest$/, '');
  } catch {
    return name;
  }
}

/** A resolved image and the vertex that reads it. */
export interface ImageSource {
  vertex: Vertex;
  resolved: ResolvedImage;
}

export class Sources {
  readonly #images = new Map<string, Promise<ImageSource>>();

  constructor(
    private readonly opts: ConvertOptions,
    /** the stages converted so far, by index */
    readonly states: ReadonlyMap<number, StageState>,
  ) {}

  /** The `--build-context` given for a name, if any. */
  named(name: string): NamedContext | undefined {
    return this.opts.namedContexts?.get(namedContextKey(name));
  }

  /** The image a name means (a `--build-context name=docker-image://…` first), resolved. */
  resolve(wanted: string, platform: Platform): Promise<ResolvedImage> {
    const nc = this.named(wanted);
    return this.opts.resolveImage(nc?.kind === 'image' ? nc.ref : wanted, platform);
  }

  /**
   * The vertex reading an image, made once per reference and platform; `name` names it when
   * it is made here (`FROM …@sha256:…` by default).
   */
  image(wanted: string, platform: Platform, name?: (r: ResolvedImage) => string): Promise<ImageSource> {
    const nc = this.named(wanted);
    const ref = nc?.kind === 'image' ? nc.ref : wanted;
    const key = `${ref}\u0000${formatPlatform(platform)}`;
    let hit = this.#images.get(key);
    if (!hit) {
      hit = this.opts.resolveImage(ref, platform).then((resolved) => ({
        vertex: imageVertex(resolved, platform, name ? name(resolved) : `FROM ${resolved.pinned}`),
        resolved,
      }));
      this.#images.set(key, hit);
    }
    return hit;
  }

  /** The filesystem the `which`-th source of a stage's command reads (COPY --from, --mount from=). */
  async read(planned: PlannedStage, command: number, which = 0): Promise<Vertex> {
    const src = planned.sources.get(command)?.[which];
    if (!src) return this.opts.context;
    if (src.kind === 'stage') {
      const st = this.states.get(src.index);
      if (!st) throw new Error(`stage ${src.index} was not converted before stage ${planned.index}`);
      return st.vertex;
    }
    const nc = this.named(src.ref);
    if (nc?.kind === 'local') return nc.vertex;
    return (await this.image(src.ref, this.opts.targetPlatform)).vertex;
  }
}

/** The vertex reading a resolved image (scratch when it has no layers). */
export function imageVertex(resolved: ResolvedImage, platform: Platform, name: string): Vertex {
  if (resolved.config.rootfs.diff_ids.length === 0) return scratchVertex;
  return {
    op: {
      type: 'image',
      ref: resolved.pinned,
      manifest: resolved.manifest,
      platform: normalizePlatform(platform),
      origin: resolved.origin,
    },
    inputs: [],
    name,
  };
}

/** A local named context as a stage's filesystem: its files copied onto scratch. */
export function localRootfs(dir: Vertex, platform: Platform, name: string): Vertex {
  return {
    op: {
      type: 'file',
      actions: [
        {
          action: 'copy',
          input: 1,
          sources: ['.'],
          dest: '/',
          workdir: '/',
          followSymlinks: true,
          unpack: false,
          allowURL: false,
          link: false,
        },
      ],
      platform,
    },
    inputs: [scratchVertex, dir],
    name,
  };
}
