/**
 * build/options — what a build is asked to do: `BuildOptions`, every `buildx build` flag as a
 * typed value (the CLI parses flags into it; a Node program fills it in), and the specs its
 * fields hold. Pure types.
 */
import type { NetworkMode } from '../dockerfile/instructions/types.js';
import type { Annotation } from '../exporter/annotations.js';
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

export type { NetworkMode };

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
  /** `--load`: the local store, and a Docker engine when one is configured or its socket exists */
  load: boolean;
  /** `--load=docker`: a Docker engine must take the image (an error before the build when none answers) */
  loadDocker?: boolean;
  labels: Record<string, string>;
  annotations: Annotation[];
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
  /** the global `--builder` */
  builder?: string;
}
