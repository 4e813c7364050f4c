/**
 * executor/stubs — mount stubs clean-up (BuildKit's `executor.MountStubsCleaner`).
 *
 * To mount something at /etc/hosts or /proc, the runtime first creates an empty file or
 * directory there when the root filesystem has none. Such stubs must not reach the layer:
 * before the run we note every mount destination (and missing parent) that does not exist yet;
 * afterwards each one that is still an empty file or an empty directory is removed, deepest
 * first. The directory that received a stub gets its timestamps back: the ones it had before
 * the run when its entries are unchanged (so an overlay upper dir holds it with the lower's
 * metadata), otherwise the ones it had just before the stub was removed (as BuildKit does, for
 * reproducible builds: moby/buildkit#3148).
 */
import { type BigIntStats, lstatSync, readdirSync, rmdirSync, unlinkSync, utimesSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { resolveInRoot } from './rootpath.js';

interface ParentState {
  names: string;
  atimeNs: bigint;
  mtimeNs: bigint;
}

/** What `findMountStubs` saw before the run. */
export interface MountStubs {
  /** host paths that did not exist, deepest first */
  readonly paths: readonly string[];
  /** first existing ancestor of each stub → its state before the run */
  readonly parents: ReadonlyMap<string, ParentState>;
}

function lstatOrUndefined(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function entryNames(dir: string): string {
  return readdirSync(dir).sort().join('\0');
}

function depth(p: string): number {
  return p.split(sep).length;
}

/** Notes which of `destinations` (container paths) and their parents are missing in `rootfs`. */
export function findMountStubs(rootfs: string, destinations: Iterable<string>): MountStubs {
  const paths = new Set<string>();
  const parents = new Map<string, ParentState>();
  const remember = (dir: string) => {
    if (parents.has(dir)) return;
    const st = lstatSync(dir, { bigint: true });
    if (st.isDirectory())
      parents.set(dir, { names: entryNames(dir), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs });
  };
  for (const dest of destinations) {
    let p = resolveInRoot(rootfs, dest);
    let missing = false;
    while (p !== rootfs && p.startsWith(rootfs + sep) && !lstatOrUndefined(p)) {
      paths.add(p);
      missing = true;
      p = dirname(p);
    }
    if (missing) remember(p);
  }
  return { paths: [...paths].sort((a, b) => depth(b) - depth(a)), parents };
}

function seconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

/** Removes the stubs the run left (empty files and empty directories only). */
export function removeMountStubs(stubs: MountStubs): void {
  if (stubs.paths.length === 0) return;
  const beforeRemoval = new Map<string, BigIntStats>();
  for (const parent of stubs.parents.keys()) {
    const st = lstatOrUndefined(parent);
    if (st) beforeRemoval.set(parent, st);
  }
  const touched = new Set<string>();
  for (const p of stubs.paths) {
    const st = lstatOrUndefined(p);
    if (!st) continue;
    try {
      if (st.isDirectory()) {
        if (readdirSync(p).length > 0) continue;
        rmdirSync(p);
      } else if (st.isFile() && st.size === 0n) {
        unlinkSync(p);
      } else continue;
    } catch {
      // best effort, as BuildKit: a stub that cannot go stays
      continue;
    }
    let dir = dirname(p);
    while (!stubs.parents.has(dir) && dir !== dirname(dir)) dir = dirname(dir);
    touched.add(dir);
  }
  // only where a stub went: setting times on an untouched overlay directory would copy it up
  for (const [parent, before] of stubs.parents) {
    const now = beforeRemoval.get(parent);
    if (!now || !touched.has(parent)) continue;
    try {
      const unchanged = entryNames(parent) === before.names;
      const atime = unchanged ? before.atimeNs : now.atimeNs;
      const mtime = unchanged ? before.mtimeNs : now.mtimeNs;
      utimesSync(parent, seconds(atime), seconds(mtime));
    } catch {
      // the directory went away or is read-only: nothing to restore
    }
  }
}
