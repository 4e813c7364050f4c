/**
 * executor/rootpath — resolve a container path to a host path inside a root filesystem, the way
 * the container itself would see it: symlinks are followed relative to the root and `..` never
 * climbs out of it (containerd's `fs.RootPath`, runc's securejoin).
 *
 * Used for the working directory, /etc/passwd and /etc/group, and mount stubs. The resolution
 * is the snapshotter's (`snapshot/paths`) over a synchronous view of the disk: a handful of
 * small `lstat`/`readlink` per path, cheaper than thread-pool round trips on the per-run hot
 * path.
 */
import { join } from 'node:path';
import { ExecError } from '../errors.js';
import { bstr, PathResolveError, resolveInRoot as resolveComponents, showPath } from '../snapshot/paths.js';
import { DiskView } from '../snapshot/unpack.js';

/** Text (UTF-8) → the byte string `snapshot/paths` works on. */
function bytes(s: string): string {
  return bstr(Buffer.from(s, 'utf8'));
}

/**
 * The host path of `path` (absolute or relative to `/` of the container) under `root`. Missing
 * components are kept as written; the result is always `root` or below it.
 */
export function resolveInRoot(root: string, path: string): string {
  let resolved: string[];
  try {
    // `..` is applied where it appears, after the symlinks before it (not cleaned away first)
    resolved = resolveComponents(new DiskView(bytes(root)), bytes(path).split('/'));
  } catch (err) {
    if (err instanceof PathResolveError) {
      throw new ExecError(`resolving ${path} in ${root}: too many levels of symbolic links`, { cause: err });
    }
    throw err;
  }
  return resolved.length === 0 ? root : join(root, showPath(resolved.join('/')));
}
