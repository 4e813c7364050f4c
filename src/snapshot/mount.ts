/**
 * snapshot/mount — overlayfs mounts, and reading the mount table. The mounts are system calls
 * made by a helper process (`snapshot/syscalls`), or runs of mount(8)/umount(8) where that
 * helper cannot run or `Tools` names other programs.
 *
 * `overlayMountData` builds the option string (pure). Layer paths are given relative to a
 * working directory (the snapshots root) so that a long chain fits in the one page that
 * mount(2) accepts for options; `mountOverlay` runs mount(8) in that directory. Upper mounts
 * use `index=off,redirect_dir=off,metacopy=off` so that the upper dir is a complete, exportable
 * diff (no redirects, no metadata-only copies), as Docker's overlay2 does; the snapshot store
 * adds `volatile` where the kernel has it (`volatileOption`).
 */
import { readFileSync } from 'node:fs';
import { StoreError } from '../errors.js';
import { MNT_DETACH, sharedSyscalls } from './syscalls.js';
import { defaultTools, runChecked, type Tools } from './tools.js';

/** Largest option string mount(2) takes: one page, including the terminating NUL. */
export const MOUNT_DATA_MAX = 4095;

export interface OverlayMountSpec {
  /** Lower directories, topmost first; at least one (two without an upper). */
  lowerdirs: readonly string[];
  /** Writable upper and its work directory (same file system); both or neither. */
  upperdir?: string;
  workdir?: string;
  /** Extra options (default for a writable mount: index=off, redirect_dir=off, metacopy=off). */
  options?: readonly string[];
}

/** The options of a writable mount unless told otherwise: the upper dir is a complete diff. */
export const defaultUpperOptions: readonly string[] = ['index=off', 'redirect_dir=off', 'metacopy=off'];

/**
 * overlayfs `volatile` (Linux 5.10): no sync of the upper file system when the mount goes, and
 * fsync/syncfs inside it do nothing. Without it every unmount of a step's overlay syncs the
 * whole file system the upper dir is on, everyone's dirty data with it.
 */
export const volatileOption = 'volatile';

function checkPath(p: string, what: string): void {
  // overlayfs splits lowerdir on ':' and every option on ','; escaping is not portable
  if (p === '' || /[:,\n]/.test(p))
    throw new StoreError(`overlay ${what} "${p}" is empty or contains ':' ',' or a newline`);
}

/** The `-o` string of an overlay mount. */
export function overlayMountData(spec: OverlayMountSpec): string {
  const min = spec.upperdir ? 1 : 2;
  if (spec.lowerdirs.length < min) {
    throw new StoreError(`overlay mount needs at least ${min} lower director${min === 1 ? 'y' : 'ies'}`);
  }
  if ((spec.upperdir === undefined) !== (spec.workdir === undefined)) {
    throw new StoreError('overlay mount: upperdir and workdir go together');
  }
  for (const l of spec.lowerdirs) checkPath(l, 'lowerdir');
  const parts = [`lowerdir=${spec.lowerdirs.join(':')}`];
  if (spec.upperdir !== undefined && spec.workdir !== undefined) {
    checkPath(spec.upperdir, 'upperdir');
    checkPath(spec.workdir, 'workdir');
    parts.push(`upperdir=${spec.upperdir}`, `workdir=${spec.workdir}`);
    parts.push(...(spec.options ?? defaultUpperOptions));
  } else if (spec.options) parts.push(...spec.options);
  return parts.join(',');
}

/** What an errno means for each call, where its name alone would leave the reader guessing. */
const errnoHints: Record<string, Record<string, string>> = {
  'mount(2)': {
    EINVAL: 'a bad option or file system; the kernel log, dmesg, may say which',
    ENOENT: 'a lower, upper or work directory, or the mount point, does not exist',
  },
  'umount2(2)': { EINVAL: 'not a mount point', EBUSY: 'still in use' },
};

/** A failed system call: the call, the error's name and, for the usual ones, what it means. */
function callFailed(what: string, call: string, errno: number): StoreError {
  const name = process.getBuiltinModule('node:util').getSystemErrorName(-errno);
  const hint = errnoHints[call]?.[name];
  return new StoreError(`${what}: ${call} failed: ${name}${hint ? ` (${hint})` : ''}`);
}

/** Mounts an overlay at `target`; relative paths in `spec` are relative to `cwd`. */
export async function mountOverlay(
  tools: Tools,
  spec: OverlayMountSpec,
  target: string,
  cwd?: string,
): Promise<void> {
  const data = overlayMountData(spec);
  if (data.length > MOUNT_DATA_MAX) {
    throw new StoreError(
      `overlay mount options are ${data.length} bytes, more than mount(2) accepts (${MOUNT_DATA_MAX})`,
    );
  }
  if (tools.mount === defaultTools.mount) {
    const req = { source: 'overlay', target, fstype: 'overlay', flags: 0, data, ...(cwd ? { cwd } : {}) };
    const errno = await sharedSyscalls().mount(req);
    if (errno === 0) return;
    if (errno !== undefined) throw callFailed(`mounting overlay at ${target}`, 'mount(2)', errno);
  }
  const opts = cwd !== undefined ? { cwd } : {};
  await runChecked(
    `mounting overlay at ${target}`,
    tools.mount,
    ['-t', 'overlay', 'overlay', '-o', data, target],
    opts,
  );
}

/** Unmounts `target`; `lazy` detaches it even while busy (umount -l). */
export async function unmount(tools: Tools, target: string, options: { lazy?: boolean } = {}): Promise<void> {
  if (tools.umount === defaultTools.umount) {
    const errno = await sharedSyscalls().umount(target, options.lazy ? MNT_DETACH : 0);
    if (errno === 0) return;
    if (errno !== undefined) throw callFailed(`unmounting ${target}`, 'umount2(2)', errno);
  }
  const args = options.lazy ? ['-l', target] : [target];
  await runChecked(`unmounting ${target}`, tools.umount, args);
}

/** One line of /proc/self/mountinfo. */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-mount and super-block options, merged. */
  options: string;
}

/** Decodes the `\ooo` escapes mountinfo uses for space, tab, newline and backslash. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo. Pure. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    out.push({
      mountPoint: unescapeMount(left[4] ?? ''),
      fsType: right[0] ?? '',
      source: unescapeMount(right[1] ?? ''),
      options: [left[5] ?? '', right[2] ?? ''].join(','),
    });
  }
  return out;
}

/** The current mount table of this process's mount namespace. */
export function readMountinfo(): MountInfo[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string, table: readonly MountInfo[] = readMountinfo()): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return table
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** The lowerdir entries of the overlay mounts in the table (as written at mount time). */
export function overlayLowerdirs(table: readonly MountInfo[] = readMountinfo()): string[][] {
  return table
    .filter((m) => m.fsType === 'overlay')
    .map((m) => {
      const opt = m.options.split(',').find((o) => o.startsWith('lowerdir='));
      return opt ? opt.slice('lowerdir='.length).split(':') : [];
    });
}
