/**
 * fileop/xattrs — best-effort copy of extended attributes (file capabilities such as
 * `security.capability` on `ping`, `user.*` attributes, POSIX ACLs) for what a COPY wrote.
 *
 * Node has no xattr API, so this reads a copied source tree's attributes at once before the copy
 * and one `setfattr --restore` for the destination after it, per copied match (never per file), with the
 * snapshotter's dump format and runner (`snapshot/xattr`, `snapshot/tools`). Failures are
 * ignored, as BuildKit's copy logs and skips xattr errors; without the `attr` tools nothing
 * is copied. The host's `security.selinux` and overlayfs' own attributes are never copied.
 */
import { bstr, showPath } from '../snapshot/paths.js';
import { defaultTools, run, type Tools } from '../snapshot/tools.js';
import { isInternalXattr } from '../snapshot/unpack.js';
import { dumpTreeXattrs, formatXattrRestore, parseXattrDump, type Xattrs } from '../snapshot/xattr.js';

/**
 * The attributes worth copying under a source tree (read at once: `dumpTreeXattrs`): source host path
 * → attributes, only for paths that have some; 'unavailable' when getfattr cannot run.
 * Read before the copy, so that the copy keeps only the few paths that have any.
 */
export async function readSourceXattrs(
  root: string,
  tools: Tools = defaultTools,
): Promise<Map<string, Xattrs> | 'unavailable'> {
  let out: string;
  try {
    out = (await dumpTreeXattrs(tools, root)).dump;
  } catch {
    return 'unavailable'; // it rejects only when getfattr cannot be started
  }
  let dump: Map<string, Xattrs>;
  try {
    dump = parseXattrDump(out);
  } catch {
    return new Map();
  }
  const kept = new Map<string, Xattrs>();
  for (const [path, attrs] of dump) {
    const x: Xattrs = new Map([...attrs].filter(([name]) => !isInternalXattr(name)));
    if (x.size > 0) kept.set(showPath(path), x);
  }
  return kept;
}

/**
 * Sets attributes on copied paths (destination host path → attributes), with one
 * `setfattr --restore`. Returns how many paths received some, or 'unavailable'.
 */
export async function writeCopiedXattrs(
  records: readonly (readonly [string, Xattrs])[],
  tools: Tools = defaultTools,
): Promise<number | 'unavailable'> {
  if (records.length === 0) return 0;
  try {
    await run(tools.setfattr, ['--no-dereference', '--restore=-'], {
      input: formatXattrRestore(records.map(([dst, x]) => [bstr(Buffer.from(dst, 'utf8')), x] as const)),
      captureStdout: false,
    });
  } catch {
    return 'unavailable';
  }
  return records.length;
}
