/**
 * fileop/copy — COPY into a destination root directory (in practice the merged view of an
 * overlay mount; its upper directory becomes the layer), with BuildKit's semantics (fsutil's
 * `copy` package as the file-op backend drives it):
 *
 * - sources are selected as in `context/select` (wildcards, symlinks followed inside the
 *   source root, `--exclude`, `--parents`); a missing one fails with `"/x": not found`;
 * - the destination is resolved against the WORKDIR; it is a directory when it ends in `/`
 *   (or `/.`) or when several sources/matches are copied, else a file is created or replaced;
 *   symlinks along the destination path are followed *inside* the destination root;
 * - a directory source copies its contents; an existing destination directory is merged into
 *   (its own metadata kept, nested directories take the source's);
 * - missing parents are created 0755, owned by the `--chown` user when one is given;
 * - ownership comes from the source (0:0 for the build context) unless `--chown`; modes from
 *   the source unless `--chmod` (applied to files and copied directories, not symlinks);
 *   mtimes from the source (µs precision) unless `createdTime` (SOURCE_DATE_EPOCH);
 * - hard links between files of one copy stay hard links; xattrs are copied best effort;
 * - with `reuse` (a rebuild of the same COPY), unchanged files are left to be hard-linked
 *   from the previous build's layer instead of copied (fileop/reuse).
 *
 *     await copy({ source: ctx.source, sources: ['src/', 'package.json'], destRoot: merged,
 *                  dest: './', workdir: '/app', chown: 'node:node', chmod: 'go-w' });
 */
import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { chmodSync, lchownSync, lstatSync, lutimesSync, mkdirSync, unlinkSync } from 'node:fs';
import { copyFile, link, symlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { PatternMatcher } from '../context/patternmatcher.js';
import { cleanPath } from '../context/patternmatcher.js';
import { type SelectedMatch, type SelectedSource, selectSources, walkMatch } from '../context/select.js';
import {
  dirSource,
  hostPath,
  permBits,
  resolveInRoot,
  type SourceEntry,
  type SourceFS,
} from '../context/source.js';
import { BuildError, messageOf } from '../errors.js';
import type { Xattrs } from '../snapshot/xattr.js';
import { applyChmod, type ChmodSpec, parseChmod } from './chmod.js';
import { type Owner, parseChown } from './chown.js';
import { asDirDest, destParentToCreate, isDirDest, joinPath, normalizeDest, parentPath } from './paths.js';
import { type CopyReuse, utimeSeconds, type WantedFile } from './reuse.js';
import { resolveChownIn } from './users.js';
import { readSourceXattrs, writeCopiedXattrs } from './xattrs.js';

const execFileAsync = promisify(execFile);

export type { Owner } from './chown.js';

export interface CopyOptions {
  /**
   * where sources are read: a build context's `source`, or another stage's / image's root
   * filesystem (a directory, or `dirSource(dir)`) for `--from`
   */
  source: SourceFS | string;
  /** the sources as written (after variable expansion) */
  sources: readonly string[];
  /** the destination root filesystem (a directory on disk) */
  destRoot: string;
  /** the destination as written */
  dest: string;
  /** the WORKDIR that a relative `dest` is resolved against; default `/` */
  workdir?: string;
  /** `--chown` as written (`user[:group]`, names or numbers) or already resolved */
  chown?: string | Owner;
  /** `--chmod` as written (octal or symbolic) */
  chmod?: string;
  /** `--exclude` patterns */
  exclude?: readonly string[];
  /** `--parents` */
  parents?: boolean;
  /** follow symlinks named as sources (default true, as Dockerfile COPY) */
  followSymlinks?: boolean;
  /** where `/etc/passwd` and `/etc/group` for `--chown` names are read; default `destRoot` */
  userDbRoot?: string;
  /** timestamp for everything written (SOURCE_DATE_EPOCH); default: keep source mtimes */
  createdTime?: Date;
  /** copy extended attributes, best effort (default true) */
  xattrs?: boolean;
  /** link unchanged files from the previous build's layer instead of copying them (fileop/reuse) */
  reuse?: CopyReuse;
  signal?: AbortSignal;
}

export interface CopyStats {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** fifos and device nodes */
  special: number;
  /** entries that cannot be recreated (sockets) */
  skipped: number;
  bytes: number;
  /** paths that received xattrs, or 'unavailable' without getfattr/setfattr */
  xattrs: number | 'unavailable';
  /** tar archives unpacked (ADD) */
  unpacked: number;
  /** files left to be linked from the previous layer (fileop/reuse) */
  reused: number;
}

function emptyStats(): CopyStats {
  return {
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    special: 0,
    skipped: 0,
    bytes: 0,
    xattrs: 0,
    unpacked: 0,
    reused: 0,
  };
}

const copyConcurrency = 16;

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    // throwIfNoEntry: a missing path is the common case and exceptions are slow
    return lstatSync(p, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Linux dev_t → major/minor (glibc's gnu_dev_major/minor). */
function devNumbers(rdev: number): { major: number; minor: number } {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { major, minor };
}

/** Options every copy of one COPY/ADD shares, resolved once. */
export interface CopyContext {
  readonly destRoot: string;
  readonly destFs: SourceFS;
  readonly owner: Owner | undefined;
  readonly chmod: ChmodSpec | undefined;
  readonly time: number | undefined;
  readonly xattrs: boolean;
  readonly reuse: CopyReuse | undefined;
  readonly signal: AbortSignal | undefined;
  readonly stats: CopyStats;
  /** directories created as parents, in creation order (their times are set at the end) */
  readonly createdDirs: string[];
}

/** Resolves the shared options (parses --chmod first so bad input fails before any I/O). */
export async function copyContext(opts: {
  destRoot: string;
  chown?: string | Owner;
  chmod?: string;
  userDbRoot?: string;
  createdTime?: Date;
  xattrs?: boolean;
  reuse?: CopyReuse;
  signal?: AbortSignal;
}): Promise<CopyContext> {
  const chmod = opts.chmod !== undefined && opts.chmod !== '' ? parseChmod(opts.chmod) : undefined;
  let owner: Owner | undefined;
  if (typeof opts.chown === 'string') {
    if (opts.chown !== '')
      owner = await resolveChownIn(parseChown(opts.chown), opts.userDbRoot ?? opts.destRoot);
  } else owner = opts.chown;
  return {
    destRoot: opts.destRoot,
    destFs: dirSource(opts.destRoot, `destination ${opts.destRoot}`),
    owner,
    chmod,
    time: opts.createdTime !== undefined ? opts.createdTime.getTime() / 1000 : undefined,
    xattrs: opts.xattrs ?? true,
    reuse: opts.reuse,
    signal: opts.signal,
    stats: emptyStats(),
    createdDirs: [],
  };
}

/**
 * With `createdTime`, gives the parent directories this copy created that time once nothing
 * more is written into them (creating a child changes a directory's mtime).
 */
export function finishCopy(cc: CopyContext): void {
  if (cc.time === undefined) return;
  for (let i = cc.createdDirs.length - 1; i >= 0; i--) lutimesSync(cc.createdDirs[i]!, cc.time, cc.time);
}

/**
 * The mode of a directory the copy creates: a numeric --chmod's (BuildKit v0.24, fsutil's
 * MkdirAll with CopyInfo.Mode; moby/buildkit#4945), else 0755 (a symbolic --chmod too).
 */
function createdDirMode(cc: CopyContext): number {
  return cc.chmod?.kind === 'octal' ? cc.chmod.mode : 0o755;
}

/**
 * `mkdir -p` inside the destination root: symlinks on the way are followed within the root,
 * created directories get `createdDirMode` and the --chown user (fsutil's MkdirAll).
 */
export async function ensureDestDir(cc: CopyContext, path: string): Promise<string> {
  const clean = cleanPath(`/${path}`);
  const real = await resolveInRoot(cc.destFs, clean, true);
  let cur = '/';
  for (const comp of real.split('/').filter((c) => c !== '')) {
    cur = joinPath(cur, comp);
    const host = hostPath(cc.destRoot, cur);
    const st = lstatOrUndefined(host);
    if (st === undefined) {
      try {
        mkdirSync(host);
        chmodSync(host, createdDirMode(cc));
        if (cc.owner !== undefined) lchownSync(host, cc.owner.uid, cc.owner.gid);
        cc.createdDirs.push(host);
      } catch (err) {
        throw new BuildError(`creating directory ${cur}: ${messageOf(err)}`, { cause: err });
      }
    } else if (!st.isDirectory()) {
      throw new BuildError(`cannot create directory ${clean}: ${cur} is not a directory`);
    }
  }
  return real;
}

/**
 * Where one match goes (fsutil's prepareTargetDir): a non-directory into an existing
 * directory keeps its name; a directory's contents go to the destination itself. Creates
 * what must exist first.
 */
async function prepareTarget(cc: CopyContext, match: SelectedMatch, target: string): Promise<string> {
  const st = lstatOrUndefined(hostPath(cc.destRoot, target));
  const srcIsDir = match.entry.type === 'dir';
  let t = target;
  if (!srcIsDir && st?.isDirectory()) t = joinPath(target, match.name);
  await ensureDestDir(cc, srcIsDir && st === undefined ? t : parentPath(t));
  return t;
}

/** What `applyMetadata` gives a regular file copied from `e`. */
function wantedFile(cc: CopyContext, e: SourceEntry): WantedFile {
  const perm = e.mode & permBits;
  return {
    perm: cc.chmod !== undefined ? applyChmod(cc.chmod, perm, false) : perm,
    uid: cc.owner?.uid ?? e.uid,
    gid: cc.owner?.gid ?? e.gid,
    size: e.size,
    mtimeUs: cc.time !== undefined ? Math.round(cc.time * 1e6) : Number(e.mtimeNs / 1000n),
  };
}

/** True when the reuse takes the file: it is linked from the previous layer after the copy. */
function offerReuse(cc: CopyContext, dst: string, e: SourceEntry, exists: boolean): boolean {
  if (cc.reuse === undefined || exists) return false;
  if (!cc.reuse.offer(dst, e, wantedFile(cc, e))) return false;
  cc.stats.files++;
  cc.stats.reused++;
  cc.stats.bytes += e.size;
  return true;
}

function applyMetadata(cc: CopyContext, host: string, e: SourceEntry): void {
  const uid = cc.owner?.uid ?? e.uid;
  const gid = cc.owner?.gid ?? e.gid;
  lchownSync(host, uid, gid);
  if (e.type !== 'symlink') {
    const perm = e.mode & permBits;
    chmodSync(host, cc.chmod !== undefined ? applyChmod(cc.chmod, perm, e.type === 'dir') : perm);
  }
  const t = cc.time ?? utimeSeconds(e.mtimeNs);
  lutimesSync(host, t, t);
}

/** Copies one match (a file, symlink, or a directory's selected tree) to `target`. */
async function copyMatch(
  cc: CopyContext,
  fs: SourceFS,
  match: SelectedMatch,
  include: PatternMatcher | undefined,
  exclude: PatternMatcher | undefined,
  target: string,
  hardlinks: Map<string, Promise<string>>,
): Promise<void> {
  const finish: { host: string; entry: SourceEntry }[] = [];
  const xattrs = cc.xattrs ? await readSourceXattrs(hostPath(fs.root, match.real)) : undefined;
  const xattrRecords: [string, Xattrs][] = [];
  const keepXattrs = (srcHost: string, host: string) => {
    const x = xattrs !== undefined && xattrs !== 'unavailable' ? xattrs.get(srcHost) : undefined;
    if (x !== undefined) xattrRecords.push([host, x]);
  };
  const running = new Set<Promise<void>>();
  let failure: unknown;
  const schedule = async (task: () => Promise<void>) => {
    while (running.size >= copyConcurrency) await Promise.race(running);
    if (failure !== undefined) throw failure;
    const p = task().catch((err) => {
      failure ??= err;
    });
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
  };

  const created = new Set<string>(); // directories this walk made (each path comes once)
  for await (const item of walkMatch(fs, match, include, exclude)) {
    cc.signal?.throwIfAborted();
    if (failure !== undefined) break;
    const top = item.rel === '';
    const dst = joinPath(target, item.rel);
    const host = hostPath(cc.destRoot, dst);
    const srcHost = hostPath(fs.root, item.path);
    const e = item.entry;
    // in a directory this walk created, nothing can be there yet: no lstat through the overlay
    const st = !top && created.has(parentPath(dst)) ? undefined : lstatOrUndefined(host);
    if (e.type === 'dir') {
      if (st === undefined) {
        mkdirSync(host);
        created.add(dst);
        cc.stats.dirs++;
        finish.push({ host, entry: e });
        keepXattrs(srcHost, host);
      } else if (!st.isDirectory()) {
        throw new BuildError(`cannot copy to non-directory: ${dst}`);
      } else if (!top) {
        finish.push({ host, entry: e });
        keepXattrs(srcHost, host);
      }
      continue;
    }
    if (st?.isDirectory()) throw new BuildError(`cannot replace to directory ${dst} with file`);
    if (e.type === 'file' && e.nlink <= 1 && offerReuse(cc, dst, e, st !== undefined)) continue;
    if (st !== undefined) unlinkSync(host);
    if (e.type !== 'socket') keepXattrs(srcHost, host);
    switch (e.type) {
      case 'file': {
        const key = e.nlink > 1 ? `${e.dev}:${e.ino}` : undefined;
        const first = key !== undefined ? hardlinks.get(key) : undefined;
        if (first !== undefined) {
          await schedule(async () => {
            await link(await first, host);
            cc.stats.hardlinks++;
          });
          break;
        }
        let done!: (p: string) => void;
        let failed!: (err: unknown) => void;
        if (key === undefined) cc.reuse?.copied(dst, e, wantedFile(cc, e)); // in walk order, as the next build reads it
        if (key !== undefined) {
          const first = new Promise<string>((res, rej) => {
            done = res;
            failed = rej;
          });
          first.catch(() => {}); // the copy's own failure is reported; links just stop
          hardlinks.set(key, first);
        }
        await schedule(async () => {
          try {
            await copyFile(srcHost, host);
            applyMetadata(cc, host, e);
            cc.stats.files++;
            cc.stats.bytes += e.size;
            if (key !== undefined) done(host);
          } catch (err) {
            if (key !== undefined) failed(err);
            throw new BuildError(`copying ${item.path} to ${dst}: ${messageOf(err)}`, { cause: err });
          }
        });
        break;
      }
      case 'symlink':
        await symlink(e.linkTarget ?? '', host);
        applyMetadata(cc, host, e);
        cc.stats.symlinks++;
        break;
      case 'fifo':
      case 'char':
      case 'block': {
        const mode = (e.mode & 0o777).toString(8);
        const args = e.type === 'fifo' ? [host, 'p'] : [host, e.type === 'char' ? 'c' : 'b'];
        if (e.type !== 'fifo') {
          const { major, minor } = devNumbers(e.rdev);
          args.push(String(major), String(minor));
        }
        try {
          await execFileAsync('mknod', ['-m', mode, ...args]);
        } catch (err) {
          throw new BuildError(`creating ${e.type} ${dst}: ${messageOf(err)}`, { cause: err });
        }
        applyMetadata(cc, host, e);
        cc.stats.special++;
        break;
      }
      case 'socket':
        cc.stats.skipped++;
        break;
    }
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  for (let i = finish.length - 1; i >= 0; i--) applyMetadata(cc, finish[i]!.host, finish[i]!.entry);
  if (xattrs !== undefined) {
    const n = xattrs === 'unavailable' ? xattrs : await writeCopiedXattrs(xattrRecords);
    if (n === 'unavailable') cc.stats.xattrs = 'unavailable';
    else if (cc.stats.xattrs !== 'unavailable') cc.stats.xattrs += n;
  }
}

/** The destination of a whole COPY: normalized, and a directory when several things go there. */
export function effectiveDest(
  workdir: string,
  dest: string,
  sourceCount: number,
  matchCount: number,
): string {
  const d = normalizeDest(workdir, dest);
  return !isDirDest(d) && (sourceCount > 1 || matchCount > 1) ? asDirDest(d) : d;
}

/** Hook for ADD: return true when the match was handled (an archive was unpacked). */
export type MatchHook = (match: SelectedMatch, destPath: string) => Promise<boolean>;

/** Copies already-selected sources; shared by COPY and ADD. */
export async function copySelected(
  cc: CopyContext,
  fs: SourceFS,
  selected: readonly SelectedSource[],
  dest: string,
  hook?: MatchHook,
): Promise<void> {
  for (const s of selected) {
    // a wildcard that matched nothing copies nothing, and creates nothing (BuildKit)
    if (s.matches.length === 0) continue;
    await ensureDestDir(cc, destParentToCreate(dest));
    const target = await resolveInRoot(cc.destFs, cleanPath(dest), true);
    const hardlinks = new Map<string, Promise<string>>();
    for (const m of s.matches) {
      cc.signal?.throwIfAborted();
      if (hook !== undefined && (await hook(m, dest))) continue;
      const t = await prepareTarget(cc, m, target);
      await copyMatch(cc, fs, m, s.include, s.exclude, t, hardlinks);
    }
  }
}

/** A source given as a directory is a root filesystem, read as is. */
export function asSource(source: SourceFS | string): SourceFS {
  return typeof source === 'string' ? dirSource(source) : source;
}

/** COPY: see the module comment. Returns what was written. */
export async function copy(opts: CopyOptions): Promise<CopyStats> {
  const source = asSource(opts.source);
  const cc = await copyContext(opts);
  const selected = await selectSources(source, opts.sources, {
    followSymlinks: opts.followSymlinks ?? true,
    ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
    ...(opts.parents !== undefined ? { parents: opts.parents } : {}),
  });
  const matchCount = selected.reduce((n, s) => n + s.matches.length, 0);
  const dest = effectiveDest(opts.workdir ?? '/', opts.dest, opts.sources.length, matchCount);
  await copySelected(cc, source, selected, dest);
  finishCopy(cc);
  return cc.stats;
}
