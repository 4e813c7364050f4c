/**
 * api/build — the library entry point for a build: `BuildOptions` (every `buildx build` flag
 * as a typed value) and `runBuild`, which the build engine implements.
 */
import { PolyarchError } from '../errors.js';
import type { Platform } from '../platforms/index.js';

/** `-o` / `--output`, `--cache-from`, `--cache-to`: a type and its attributes. */
export interface ExportSpec {
  /** `image`, `registry` (normalised to `image` with push=true), `local`, `tar`, `oci`, `docker`, … */
  type: string;
  /** `dest=` value, when given */
  destination?: string;
  attrs: Record<string, string>;
}

export interface CacheSpec {
  type: string;
  attrs: Record<string, string>;
}

/** `--secret id=x[,src=path|,env=VAR][,type=file|env]`. */
export interface SecretSpec {
  id: string;
  /** file to read */
  src?: string;
  /** environment variable to read */
  env?: string;
}

/** `--ssh default|<id>[=<socket>|<key>[,<key>]]`. */
export interface SSHSpec {
  id: string;
  paths: string[];
}

/** `--annotation [type[,type…][platform]:]key=value`. */
export interface AnnotationSpec {
  /** `manifest`, `index`, `manifest-descriptor`, `index-descriptor`; empty = default (manifest) */
  types: string[];
  platform?: Platform;
  key: string;
  value: string;
}

/** `--attest type=…,…`, `--sbom`, `--provenance`. */
export interface AttestSpec {
  type: string;
  disabled: boolean;
  attrs: Record<string, string>;
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** `--call`: what to do with the Dockerfile instead of (or before) building it. */
export interface CallSpec {
  name: 'build' | 'check' | 'outline' | 'targets';
  /** `format=json` */
  format: 'text' | 'json';
  /** `ignorestatus=true`: exit 0 even when checks warn */
  ignoreStatus: boolean;
}

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'quiet' | 'rawjson';
export type NetworkMode = 'default' | 'none' | 'host';

export interface BuildOptions {
  /** PATH, URL or `-` (build context from stdin) */
  contextPath: string;
  /** `-f`: the Dockerfile, default `PATH/Dockerfile`; `-` reads stdin */
  file?: string;
  tags: string[];
  /** target platforms; empty = the host platform */
  platforms: Platform[];
  /** `--build-arg`, bare names resolved from the environment */
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** `--no-cache-filter`: stages not to cache */
  noCacheFilter: string[];
  pull: boolean;
  outputs: ExportSpec[];
  push: boolean;
  load: boolean;
  progress: ProgressMode;
  quiet: boolean;
  labels: Record<string, string>;
  annotations: AnnotationSpec[];
  metadataFile?: string;
  iidfile?: string;
  network: NetworkMode;
  secrets: SecretSpec[];
  ssh: SSHSpec[];
  cacheFrom: CacheSpec[];
  cacheTo: CacheSpec[];
  /** `--build-context name=path|image|url` */
  buildContexts: Record<string, string>;
  attests: AttestSpec[];
  /** `--allow network.host,security.insecure` */
  allow: string[];
  /** `--add-host host:ip` */
  addHosts: { host: string; ip: string }[];
  /** `--shm-size` in bytes, 0 = default */
  shmSize: number;
  ulimits: Ulimit[];
  cgroupParent?: string;
  call: CallSpec;
  /** the global `--builder` */
  builder?: string;
}

/** What a build needs from its caller: streams, environment and cancellation. */
export interface BuildRunContext {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  /** the global `--root` directory, when given */
  root?: string;
  debug?: boolean;
}

/** The outcome of a build. */
export interface BuildResult {
  /** the image (or index) digest, when an image was produced */
  digest?: string;
}

/** Runs a build. The build engine replaces this placeholder. */
export async function runBuild(_ctx: BuildRunContext, _options: BuildOptions): Promise<BuildResult> {
  throw new PolyarchError('UNSUPPORTED', 'the build engine is not wired yet');
}
