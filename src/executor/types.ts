/**
 * executor/types — what a caller asks the executor to run, and what it gets back.
 *
 * A request names an already-mounted root filesystem (the engine mounts an overlay and passes
 * its merged directory) and the process to run in it. The executor adds what every step gets
 * and never commits: /proc, /dev, /sys, and generated /etc/resolv.conf, /etc/hosts and
 * /etc/hostname. Extra mounts are generic (bind, tmpfs, or a raw OCI mount); the engine decides
 * their sources for `RUN --mount`.
 */

/** `host` shares the host's network namespace (BuildKit's default); `none` gets only loopback. */
export type RuntimeNetwork = 'host' | 'none';

/** `insecure` is `RUN --security=insecure`: all capabilities, no masked or read-only paths. */
export type SecurityMode = 'sandbox' | 'insecure';

/** A bind mount of a host file or directory. */
export interface BindMount {
  type: 'bind';
  /** absolute host path */
  source: string;
  /** absolute path inside the container */
  target: string;
  readonly?: boolean;
  /** extra mount options (`nosuid`, `noexec`, `nodev`, …) */
  options?: readonly string[];
}

/** A fresh tmpfs. */
export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  /** size limit in bytes (`size=`); the kernel default (half of RAM) when absent */
  size?: number;
  /** permission bits of the root of the tmpfs (`mode=`), e.g. 0o1777 */
  mode?: number;
  readonly?: boolean;
}

/** Any other mount, passed to the runtime as written (an OCI runtime-spec mount). */
export interface RawMount {
  type: 'raw';
  /** filesystem type (`overlay`, `proc`, `bind`, …) */
  fsType: string;
  source: string;
  target: string;
  options?: readonly string[];
}

export type ExecMount = BindMount | TmpfsMount | RawMount;

/** An `--add-host` entry: `host` resolves to `ip` inside the container. */
export interface HostEntry {
  host: string;
  ip: string;
}

/** A resource limit (`--ulimit nofile=1024:2048`): `name` without the RLIMIT_ prefix. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** One process to run in a root filesystem. */
export interface ExecRequest {
  /** the mounted root filesystem (an overlay's merged directory) */
  rootfs: string;
  /** argv; args[0] is looked up in the container's PATH */
  args: readonly string[];
  /** `KEY=value` entries; PATH gets BuildKit's default when absent */
  env?: readonly string[];
  /** working directory inside the container, created when missing (default `/`) */
  cwd?: string;
  /** `name`, `uid`, `name:group`, `uid:gid` …, resolved against the rootfs's /etc/passwd and /etc/group */
  user?: string;
  /** the container's hostname (default `buildkitsandbox`, as BuildKit) */
  hostname?: string;
  mounts?: readonly ExecMount[];
  network?: RuntimeNetwork;
  security?: SecurityMode;
  /** extra /etc/hosts entries */
  extraHosts?: readonly HostEntry[];
  readonlyRootfs?: boolean;
  /** rlimits; none means the runtime's own limits are inherited (as BuildKit) */
  ulimits?: readonly Ulimit[];
  /** the platform the rootfs is for, only to name it when an emulator is missing */
  platform?: string;
  /** the process's standard input (`polyarch run -i`); a step gets none */
  stdin?: NodeJS.ReadableStream;
  /** receives the process's stdout as it comes */
  stdout?: (chunk: Buffer) => void;
  /** receives the process's stderr as it comes */
  stderr?: (chunk: Buffer) => void;
  /** aborting kills the container; `run` then rejects with a CancelledError */
  signal?: AbortSignal;
}

export interface ExecResult {
  /** the container id used (unique per run) */
  id: string;
  /** the process's exit code; 128+N when it was killed by signal N */
  exitCode: number;
  /** wall time from spawning the runtime to its exit, in milliseconds */
  durationMs: number;
}
