/**
 * executor/rootpath — resolve a container path to a host path inside a root filesystem, the way
 * the container itself would see it: symlinks are followed relative to the root and `..` never
 * climbs out of it (containerd's `fs.RootPath`, runc's securejoin).
 *
 * Used for the working directory, /etc/passwd and /etc/group, and mount stubs. The calls are a
 * handful of small `lstat`/`readlink` per path, done synchronously: cheaper than thread-pool
 * round trips on the per-run hot path.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ExecError } from '../errors.js';

const maxSymlinks = 255;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The host path of `path` (absolute or relative to `/` of the container) under `root`. Missing
 * components are kept as written; the result is always `root` or below it.
 */
export function resolveInRoot(root: string, path: string): string {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, c];
    let isLink = false;
    try {
      isLink = lstatSync(join(root, ...candidate)).isSymbolicLink();
    } catch (err) {
      if (!isMissing(err)) throw err;
      // the rest does not exist: join it lexically, still clamped at the root
      const rest = posix.normalize(`/${[...candidate, ...pending].join('/')}`);
      return join(root, rest);
    }
    if (!isLink) {
      resolved = candidate;
      continue;
    }
    if (++links > maxSymlinks) {
      throw new ExecError(`resolving ${path} in ${root}: too many levels of symbolic links`);
    }
    const target = readlinkSync(join(root, ...candidate));
    if (target.startsWith('/')) resolved = [];
    pending = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...pending];
  }
  return resolved.length === 0 ? root : join(root, ...resolved);
}
