/**
 * exporter/exporters/types — the one interface every output type implements (as BuildKit's
 * exporters do): a check before the build, and an export after it that does its part at once
 * (files are written, images assembled) and leaves the rest to later phases, which run for all
 * outputs in an order that keeps failures cheap: registries, then the Docker engine, then the
 * local store's names last, so that a failed output leaves the names as they were.
 */

import type { Compressor } from '../../compress/compressor.js';
import type { ContentStore } from '../../content/interfaces.js';
import type { Platform } from '../../oci/types.js';
import type { Progress, VertexHandle } from '../../progress/writer.js';
import type { RegistryClient } from '../../registry/client.js';
import type { SnapshotStore } from '../../snapshot/index.js';
import type { AnnotationSet } from '../annotations.js';
import type { Assembled, AttestationSource, PlatformBuild } from '../assemble.js';
import type { DockerEngine } from '../docker-engine.js';
import type { PlatformTree } from '../filesystem.js';
import type { ImageFormat, Output } from '../outputs.js';

export interface PrepareOptions {
  /** the platforms being built */
  platforms: readonly Platform[];
  registry: RegistryClient;
  env: NodeJS.ProcessEnv;
  /** a warning for the user (an automatic load skipped) */
  warn: (message: string) => void;
  /** for tests: whether a path exists (the default Docker socket) */
  exists?: (path: string) => boolean;
}

/** What the checks of one build share. */
export interface PrepareContext extends PrepareOptions {
  /** repositories whose push access was checked (one check per repository) */
  checkedRepos: Set<string>;
  /** the engine a load goes to, once found */
  docker?: DockerEngine;
}

export interface RunExportsOptions {
  content: ContentStore;
  snapshots: SnapshotStore;
  registry: RegistryClient;
  progress: Progress;
  host: Platform;
  /** scratch space for tarballs of file trees */
  tmpDir: string;
  /** where layers exported with SOURCE_DATE_EPOCH are remembered */
  exportsDir: string;
  /** `dest=-` */
  stdout: NodeJS.WritableStream;
  sourceDateEpoch?: number;
  /** `--cache-to type=inline`: each image config carries the cache description of its image */
  inlineCache?: boolean;
  /** `--provenance`/`--sbom`: what each platform's image gets attached */
  attestations?: AttestationSource;
  /** who compresses layers (the worker's thread pool); default the calling thread */
  compressor?: Compressor;
}

/** What the exports of one build share. */
export interface ExportContext {
  o: RunExportsOptions;
  builds: readonly PlatformBuild[];
  /** the engine `--load` goes to, when there is one */
  docker?: DockerEngine;
  /** each platform's final filesystem */
  trees: PlatformTree[];
  /** the images in a format, assembled once per format for all outputs */
  assemble(format: ImageFormat, step: VertexHandle): Promise<Assembled>;
  /** the annotations of a format, resolved for the built platforms */
  annotations(format: ImageFormat): AnnotationSet;
  /** the output's progress step, started; complete it with `done`, or it completes at the end */
  step(name: string): VertexHandle;
  done(step: VertexHandle): void;
}

/** The phases after every output's export, in order. */
export type Phase = 'registry' | 'engine' | 'names';
export const phases: readonly Phase[] = ['registry', 'engine', 'names'];

/** What an export leaves for later, and what it made. */
export interface Exported {
  later?: { phase: Phase; run: () => Promise<void> }[];
  /** the image the output holds (the first one answers the build's metadata) */
  image?: Assembled;
  /** the names it gives the image */
  names?: readonly string[];
}

export interface Exporter<O extends Output = Output> {
  /** the progress step's name, as BuildKit names it */
  stepName: string;
  /** checks against the world before the build (destinations, registries, engines) */
  prepare?(out: O, ctx: PrepareContext): Promise<void>;
  export(out: O, ctx: ExportContext): Promise<Exported>;
}
