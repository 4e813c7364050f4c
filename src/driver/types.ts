/**
 * driver/types — the seam between a build and the nodes that carry it out (buildx's driver,
 * BuildKit's solve request).
 *
 * A builder is a list of nodes. The build hands each node its share of the platforms as a
 * `SolveRequest` — the Dockerfile, the contexts and the frontend options, the same for every
 * kind of node — and the node answers in two steps, so that nothing runs anywhere until every
 * node has accepted its share:
 *
 *     const plan = await node.plan(request, env);   // checked: graphs, entitlements, emulators
 *     const results = await plan.solve();           // one PlatformBuild per request platform
 *
 * polyarch's own engine is the `local` driver (driver/local); BuildKit daemons come in as
 * further drivers behind the same interface.
 */
import type { SBOMRequest } from '../attest/types.js';
import type { CacheSpec, NetworkMode, SecretSpec, Ulimit } from '../build/options.js';
import type { CacheImports } from '../cache/source.js';
import type { Dockerfile } from '../dockerfile/index.js';
import type { PlatformBuild } from '../exporter/assemble.js';
import type { Platform } from '../platforms/index.js';
import type { Progress } from '../progress/writer.js';

/** The Dockerfile a build uses, read and parsed once for every node. */
export interface Definition {
  /** the name errors and progress show (`Dockerfile`, `app.Dockerfile`) */
  name: string;
  /** where it was read from; absent when it came on stdin */
  path?: string;
  source: Buffer;
  parsed: Dockerfile;
}

/** A `--build-context NAME=…` as a node gets it. */
export type NamedContextSource = { kind: 'local'; dir: string } | { kind: 'image'; ref: string };

/** One node's share of a build: BuildKit's frontend inputs and attributes, typed. */
export interface SolveRequest {
  definition: Definition;
  /** the build context directory; absent for `build -` (a Dockerfile on stdin, no context) */
  contextDir?: string;
  /** `--build-context`, by the name given */
  namedContexts: ReadonlyMap<string, NamedContextSource>;
  /** the platforms this node builds, in the build's order */
  platforms: readonly Platform[];
  /** the whole build has several platforms: step names carry the platform */
  multiPlatform: boolean;
  buildArgs: Readonly<Record<string, string>>;
  target?: string;
  labels: Readonly<Record<string, string>>;
  network: NetworkMode;
  addHosts: readonly { host: string; ip: string }[];
  noCache: boolean;
  /** `--no-cache-filter`: stages not to take from the cache */
  noCacheFilter: readonly string[];
  pull: boolean;
  /** `--secret`, file paths absolute */
  secrets: readonly SecretSpec[];
  /** `--allow` entitlements */
  allow: readonly string[];
  /** `--shm-size` in bytes, 0 = default */
  shmSize: number;
  ulimits: readonly Ulimit[];
  sourceDateEpoch?: number;
  /** `--cache-from`: the imported caches (local nodes look keys up in them; BuildKit nodes get none) */
  cacheImports?: CacheImports;
  /**
   * What the outputs need of results taken lazily from `cacheImports` (default `none`): the
   * descriptors alone (`none`: pushes, which mount or copy the blobs from the cache), the blobs
   * in the content store (`blobs`: the local store, tarballs), or the filesystems unpacked
   * (`snapshots`: file trees, scans).
   */
  unlazy?: 'none' | 'blobs' | 'snapshots';
  /**
   * `--cache-to`/`--cache-from` as the user gave them, for BuildKit nodes: they pass them to
   * their own cache export and import (polyarch's engine uses `cacheImports` instead)
   */
  nodeCache?: { exports: readonly CacheSpec[]; imports: readonly CacheSpec[] };
  /** `--sbom`: each platform's image is scanned and its statements returned in PlatformBuild.sbom */
  sbom?: SBOMRequest;
  /** `--provenance`: each platform's graph is captured in PlatformBuild.provenance */
  provenance?: boolean;
}

/** What a node reports and is cancelled through. */
export interface NodeEnv {
  progress: Progress;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

/** A node's accepted share of a build, ready to run. */
export interface NodePlan {
  readonly platforms: readonly Platform[];
  /** Runs the share; one result per platform, in the order of `platforms`. */
  solve(): Promise<PlatformBuild[]>;
}

/** What a node's workers build (BuildKit's ListWorkers). */
export interface WorkerPlatforms {
  /** what they run without emulation */
  native: Platform[];
  /** what they run through emulators */
  emulated: Platform[];
}

/** A node of a builder, opened for one build. */
export interface BuildNode {
  /** the node's name (`default`, `mybuilder0`): errors and reports name it */
  readonly name: string;
  /** platforms given with `create --platform`: those are built here first */
  readonly configured: readonly Platform[];
  /** What its workers build; throws when the node cannot be reached. */
  workers(): Promise<WorkerPlatforms>;
  /** Checks a share of the build (nothing runs); throws what the user must fix. */
  plan(request: SolveRequest, env: NodeEnv): Promise<NodePlan>;
  /** Lets go of the node's connections when the build is over. */
  close?(): void;
}
