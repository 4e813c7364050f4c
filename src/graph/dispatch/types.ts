/**
 * graph/dispatch/types — what the conversion takes and gives, and the per-stage state the
 * instruction dispatchers change (BuildKit's dispatchState).
 */
import type { Dockerfile, Scope } from '../../dockerfile/index.js';
import type { ContainerConfig, Descriptor, History, ImageConfig, Platform } from '../../oci/types.js';
import type { NetworkMode, Vertex } from '../ops.js';

/** A base image resolved for a platform: what `load metadata for …` finds. */
export interface ResolvedImage {
  /** the reference pinned to the manifest, `localhost:5000/busybox:1.35@sha256:…` */
  pinned: string;
  /** the platform's image manifest */
  manifest: Descriptor;
  config: ImageConfig;
  origin: 'registry' | 'local';
}

/** A `--build-context name=…`: an image instead of the one named, or a local directory. */
export type NamedContext = { kind: 'image'; ref: string } | { kind: 'local'; vertex: Vertex };

export interface ConvertOptions {
  dockerfile: Dockerfile;
  targetPlatform: Platform;
  buildPlatform: Platform;
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  /** several target platforms: step names carry the platform */
  multiPlatform: boolean;
  /** the build context, shared by all platforms */
  context: Vertex;
  resolveImage: (ref: string, platform: Platform) => Promise<ResolvedImage>;
  network: NetworkMode;
  extraHosts: string[];
  /** `--label` */
  labels: Record<string, string>;
  /** `--build-context`, keyed by `namedContextKey` */
  namedContexts?: ReadonlyMap<string, NamedContext>;
}

/** An entry of the image history and, when it may add a layer, the step that makes it. */
export interface HistoryStep {
  entry: History;
  /** the vertex whose result has this entry's layer on top (RUN, COPY, ADD, WORKDIR) */
  step?: Vertex;
}

export interface ConvertResult {
  /** the target stage's filesystem */
  vertex: Vertex;
  /** the image config without rootfs (layers are known after solving) */
  image: Omit<ImageConfig, 'rootfs' | 'history'>;
  history: HistoryStep[];
  /** the platform the image is for (the target's, whatever platform its last stage ran on) */
  platform: Platform;
  /** what an SBOM scan looks at besides `vertex` (BUILDKIT_SBOM_SCAN_CONTEXT / _STAGE) */
  sbom: SBOMTargets;
}

/** BuildKit's SBOMTargets: the extra filesystems scanned with the target, by name. */
export interface SBOMTargets {
  /** the build context as a filesystem, when BUILDKIT_SBOM_SCAN_CONTEXT is on for the target */
  context?: Vertex;
  /** the other stages the target needs with BUILDKIT_SBOM_SCAN_STAGE on, by stage name */
  stages: ReadonlyMap<string, Vertex>;
}

/** One stage as its instructions leave it. */
export interface StageState {
  vertex: Vertex;
  config: ContainerConfig;
  history: HistoryStep[];
  platform: Platform;
  scope: Scope;
  author?: string;
  /** a CMD of this stage came before (an ENTRYPOINT after it keeps it) */
  cmdSet?: boolean;
}
