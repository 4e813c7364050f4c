/**
 * executor/spec — the OCI runtime `config.json` of a build step, as BuildKit generates it
 * (`executor/oci.GenerateSpec` over containerd's default Unix spec). Pure: everything that needs
 * the filesystem (user, generated files, capabilities) is resolved by the caller and passed in.
 *
 * What a sandboxed step gets: new mount, pid, ipc and uts namespaces (and a network namespace
 * with only loopback unless networking is `host`); containerd's default capabilities; the
 * default masked and read-only paths; /proc, a tmpfs /dev with pts, shm and mqueue, a read-only
 * /sys and cgroup view; /etc/resolv.conf, /etc/hosts and /etc/hostname bound read-only from
 * generated files; no rlimits unless asked (BuildKit resets containerd's RLIMIT_NOFILE); new
 * privileges allowed (`oci.WithNewPrivileges`). An insecure step gets every capability, a
 * writable /sys and cgroup view, no masked or read-only paths, and all devices.
 */
import { defaultCapabilities } from './capabilities.js';
import type { ExecMount, RuntimeNetwork, SecurityMode, Ulimit } from './types.js';
import type { ExecUser } from './user.js';

/** runtime-spec `Mount`. */
export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** runtime-spec `LinuxCapabilities`. */
export interface SpecCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface SpecDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface SpecDeviceCgroup {
  allow: boolean;
  type?: string;
  access?: string;
}

/** The subset of the OCI runtime spec (v1.0.2) that polyarch writes. */
export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: SpecCapabilities;
    rlimits?: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: SpecMount[];
  linux: {
    cgroupsPath?: string;
    resources: { devices: SpecDeviceCgroup[] };
    namespaces: { type: string; path?: string }[];
    devices?: SpecDevice[];
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** containerd's default masked paths (with /sys/devices/virtual/powercap, as moby and containerd 1.7). */
export const defaultMaskedPaths: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
  '/proc/scsi',
];

export const defaultReadonlyPaths: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** BuildKit's default PATH for Linux steps (`system.DefaultPathEnvUnix`). */
export const defaultPathEnv = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The devices an insecure step additionally gets (BuildKit `WithInsecureSpec`). */
const insecureDevices: readonly SpecDevice[] = [
  { path: '/dev/kmsg', type: 'c', major: 1, minor: 11 },
  { path: '/dev/cuse', type: 'c', major: 10, minor: 203 },
  { path: '/dev/fuse', type: 'c', major: 10, minor: 229 },
  { path: '/dev/kvm', type: 'c', major: 10, minor: 232 },
  { path: '/dev/net/tun', type: 'c', major: 10, minor: 200 },
  { path: '/dev/loop-control', type: 'c', major: 10, minor: 237 },
];

/** Host paths of the generated files bound into the container. */
export interface GeneratedFiles {
  resolvConf: string;
  hosts: string;
  hostname: string;
}

export interface SpecInput {
  rootfs: string;
  args: readonly string[];
  env: readonly string[];
  cwd: string;
  user: ExecUser;
  hostname: string;
  network: RuntimeNetwork;
  security: SecurityMode;
  mounts: readonly ExecMount[];
  files: GeneratedFiles;
  readonlyRootfs: boolean;
  ulimits: readonly Ulimit[];
  /** for `insecure`: every capability the runtime may grant (see `currentCapabilities`) */
  allCapabilities: readonly string[];
  /** for `insecure`: extra devices, e.g. the host's loop devices */
  extraDevices?: readonly SpecDevice[];
  cgroupsPath?: string;
}

/** True when `env` sets `name`. */
function hasEnv(env: readonly string[], name: string): boolean {
  return env.some((e) => e.startsWith(`${name}=`));
}

/** The OCI mounts every step gets (BuildKit `oci.GetMounts` plus its cgroup and file mounts). */
function defaultMounts(files: GeneratedFiles, security: SecurityMode): SpecMount[] {
  const insecure = security === 'insecure';
  const ro = (bind: string, destination: string): SpecMount => ({
    destination,
    type: 'bind',
    source: bind,
    options: ['nosuid', 'noexec', 'nodev', 'rbind', 'ro'],
  });
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', insecure ? 'rw' : 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', insecure ? 'rw' : 'ro'],
    },
    ro(files.resolvConf, '/etc/resolv.conf'),
    ro(files.hosts, '/etc/hosts'),
    ro(files.hostname, '/etc/hostname'),
  ];
}

/** The OCI mount of one requested mount. */
export function specMount(m: ExecMount): SpecMount {
  switch (m.type) {
    case 'bind':
      return {
        destination: m.target,
        type: 'bind',
        source: m.source,
        options: ['rbind', m.readonly ? 'ro' : 'rw', ...(m.options ?? [])],
      };
    case 'tmpfs': {
      const options = ['nosuid', 'nodev'];
      if (m.readonly) options.push('ro');
      if (m.size !== undefined) options.push(`size=${m.size}`);
      if (m.mode !== undefined) options.push(`mode=${m.mode.toString(8).padStart(4, '0')}`);
      return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
    }
    case 'raw':
      return { destination: m.target, type: m.fsType, source: m.source, options: [...(m.options ?? [])] };
  }
}

/** A later mount on the same destination replaces an earlier one in place (BuildKit `dedupMounts`). */
export function dedupMounts(mounts: readonly SpecMount[]): SpecMount[] {
  const out: SpecMount[] = [];
  const at = new Map<string, number>();
  for (const m of mounts) {
    const i = at.get(m.destination);
    if (i === undefined) {
      at.set(m.destination, out.length);
      out.push(m);
    } else out[i] = m;
  }
  return out;
}

/** The runtime spec of a step. */
export function generateSpec(input: SpecInput): RuntimeSpec {
  const insecure = input.security === 'insecure';
  const env = hasEnv(input.env, 'PATH') ? [...input.env] : [defaultPathEnv, ...input.env];
  const caps = insecure ? [...input.allCapabilities] : [...defaultCapabilities];
  const capabilities: SpecCapabilities = { bounding: caps, effective: [...caps], permitted: [...caps] };
  if (insecure) {
    capabilities.inheritable = [...caps];
    capabilities.ambient = [...caps];
  }
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network === 'none') namespaces.push({ type: 'network' });

  const spec: RuntimeSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [...input.user.additionalGids] },
      args: [...input.args],
      env,
      cwd: input.cwd,
      capabilities,
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    hostname: input.hostname,
    mounts: dedupMounts([...defaultMounts(input.files, input.security), ...input.mounts.map(specMount)]),
    linux: {
      resources: {
        devices: insecure
          ? [
              { allow: true, type: 'c', access: 'rwm' },
              { allow: true, type: 'b', access: 'rwm' },
            ]
          : [{ allow: false, access: 'rwm' }],
      },
      namespaces,
      maskedPaths: insecure ? [] : [...defaultMaskedPaths],
      readonlyPaths: insecure ? [] : [...defaultReadonlyPaths],
    },
  };
  if (input.ulimits.length > 0) {
    spec.process.rlimits = input.ulimits.map((u) => ({
      type: `RLIMIT_${u.name.toUpperCase()}`,
      hard: u.hard,
      soft: u.soft,
    }));
  }
  if (input.cgroupsPath) spec.linux.cgroupsPath = input.cgroupsPath;
  if (insecure) spec.linux.devices = [...insecureDevices, ...(input.extraDevices ?? [])];
  return spec;
}
