/**
 * fileop/xattrs — best-effort copy of extended attributes (file capabilities such as
 * `security.capability` on `ping`, `user.*` attributes, POSIX ACLs) for what a COPY wrote.
 *
 * Node has no xattr API, so this runs one `getfattr` over the copied source trees and one
 * `setfattr --restore` for the destination, per copied match (never per file), with the
 * snapshotter's dump format and runner (`snapshot/xattr`, `snapshot/tools`). Failures are
 * ignored, as BuildKit's copy logs and skips xattr errors; without the `attr` tools nothing
 * is copied. The host's `security.selinux` and overlayfs' own attributes are never copied.
 */
import { bstr, showPath } from '../snapshot/paths.js';
import { defaultTools, run, type Tools } from '../snapshot/tools.js';
import { isInternalXattr } from '../snapshot/unpack.js';
import { formatXattrRestore, parseXattrDump, type Xattrs, xattrDumpArgs } from '../snapshot/xattr.js';

/**
 * Copies the xattrs of `pairs` (source host path → destination host path); `roots` are the
 * source trees to scan. Returns how many destination paths received attributes, or
 * 'unavailable' when getfattr/setfattr cannot run.
 */
export async function copyXattrs(
  pairs: ReadonlyMap<string, string>,
  roots: readonly string[],
  tools: Tools = defaultTools,
): Promise<number | 'unavailable'> {
  if (pairs.size === 0 || roots.length === 0) return 0;
  let out: Buffer;
  try {
    const r = await run(tools.getfattr, xattrDumpArgs(roots, { recursive: true }));
    out = r.stdout;
  } catch {
    return 'unavailable'; // `run` rejects only when the program cannot be started
  }
  let dump: Map<string, Xattrs>;
  try {
    dump = parseXattrDump(out.toString('latin1'));
  } catch {
    return 0;
  }
  const records: [string, Xattrs][] = [];
  for (const [path, attrs] of dump) {
    const dst = pairs.get(showPath(path));
    if (dst === undefined) continue;
    const kept: Xattrs = new Map([...attrs].filter(([name]) => !isInternalXattr(name)));
    if (kept.size > 0) records.push([bstr(Buffer.from(dst, 'utf8')), kept]);
  }
  if (records.length === 0) return 0;
  try {
    await run(tools.setfattr, ['--no-dereference', '--restore=-'], {
      input: formatXattrRestore(records),
      captureStdout: false,
    });
  } catch {
    return 'unavailable';
  }
  return records.length;
}
