/**
 * context/source — a source filesystem for COPY/ADD: the build context (filtered by
 * `.dockerignore`, owned by 0:0) or another stage's / image's root filesystem.
 *
 * A `SourceFS` answers `lstat`, `readdir` and `contentDigest` for slash-rooted paths inside
 * it (`/`, `/src/main.go`); file contents are read from `root` on disk. Paths never leave
 * the source: `resolveInRoot` follows symlinks the way containerd's `fs.RootPath` does,
 * treating the source's root as `/`, so `link -> ../../etc/passwd` resolves to `/etc/passwd`
 * *inside* the source.
 */
import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, messageOf } from '../errors.js';
import { cleanPath } from './patternmatcher.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';

/** What `lstat` tells about one path of a source. */
export interface SourceEntry {
  readonly type: EntryType;
  /** st_mode: file type bits, permissions, setuid/setgid/sticky */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
  readonly nlink: number;
  readonly rdev: number;
  /** the target of a symlink, as stored */
  readonly linkTarget?: string;
}

/** A read-only view of a source tree. Paths are slash-rooted and clean (`/a/b`). */
export interface SourceFS {
  /** for messages: `build context /home/me/app`, `stage builder` */
  readonly description: string;
  /** the directory on disk that holds the files */
  readonly root: string;
  /** undefined when the path does not exist in this view */
  lstat(path: string): Promise<SourceEntry | undefined>;
  /** child names of a directory in this view, sorted by code unit like Go's ReadDir */
  readdir(path: string): Promise<string[]>;
  /** sha256 of a regular file's content, as lower-case hex */
  contentDigest(path: string, entry: SourceEntry): Promise<string>;
}

/** Permission and special bits of a mode (07777). */
export const permBits = 0o7777;

export function entryTypeOf(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    case 0o140000:
      return 'socket';
    default:
      return 'file';
  }
}

/** A SourceEntry from a `bigint: true` lstat result. */
export function entryFromStats(st: BigIntStats, linkTarget?: string): SourceEntry {
  const mode = Number(st.mode);
  const e: SourceEntry = {
    type: entryTypeOf(mode),
    mode,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
    rdev: Number(st.rdev),
  };
  return linkTarget === undefined ? e : { ...e, linkTarget };
}

/** Host path of a slash-rooted source path. */
export function hostPath(root: string, path: string): string {
  if (path === '/') return root;
  // both already clean (the usual case, once per file of a walk): what join gives, without
  // the garbage of normalising them again
  return isCleanAbsolute(root) && isCleanAbsolute(path) ? root + path : join(root, path);
}

/** `/a/b`: absolute, no empty, `.` or `..` component, no trailing slash (so not `/`). */
function isCleanAbsolute(p: string): boolean {
  return (
    p.charCodeAt(0) === 0x2f &&
    p.charCodeAt(p.length - 1) !== 0x2f &&
    !p.includes('//') &&
    !dotComponent.test(p)
  );
}

const dotComponent = /\/\.\.?(?:\/|$)/;

// Small files are read synchronously: with the data in the page cache (the usual case for a
// build context) that is ~3x faster than a round trip through libuv's thread pool per file,
// and each read blocks only for microseconds. Large files are streamed.
const smallFile = 256 * 1024;
const readBuffer = Buffer.allocUnsafe(smallFile);

/** sha256 hex of a file's content. */
export async function hashFile(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  if (size <= smallFile) {
    const fd = openSync(path, 'r');
    try {
      for (;;) {
        const n = readSync(fd, readBuffer, 0, readBuffer.length, null);
        if (n <= 0) break;
        h.update(readBuffer.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    return h.digest('hex');
  }
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A source over a real directory with nothing filtered and ownership as on disk: another
 * stage's or image's root filesystem for `COPY --from`. Nothing is cached, so it also
 * serves for the destination side while it changes.
 */
export function dirSource(root: string, description = root): SourceFS {
  const memo = new Map<string, string>();
  return {
    description,
    root,
    async lstat(path) {
      const hp = hostPath(root, path);
      let st: BigIntStats;
      try {
        st = await lstat(hp, { bigint: true });
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw new BuildError(`reading ${path} in ${description}: ${messageOf(err)}`, { cause: err });
      }
      const link = st.isSymbolicLink() ? await readlink(hp) : undefined;
      return entryFromStats(st, link);
    },
    async readdir(path) {
      try {
        const names = await readdir(hostPath(root, path));
        return names.sort(compareNames);
      } catch (err) {
        throw new BuildError(`reading directory ${path} in ${description}: ${messageOf(err)}`, {
          cause: err,
        });
      }
    },
    async contentDigest(path, entry) {
      const key = `${path}\0${entry.ino}\0${entry.size}\0${entry.mtimeNs}\0${entry.ctimeNs}`;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      const d = await hashFile(hostPath(root, path), entry.size);
      memo.set(key, d);
      return d;
    },
  };
}

const highChars = /[\uD800-\uFFFF]/;

/**
 * Go sorts names by their UTF-8 bytes. UTF-16 code-unit order agrees except between
 * surrogate pairs and characters from U+E000 up, which take the slow path.
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  if (!highChars.test(a) && !highChars.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Joins a slash-rooted directory and a child name. */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

const maxLinks = 255;

/**
 * Resolves `path` inside the source the way containerd's `fs.RootPath` does: every symlink
 * along the way is followed with the source's root as `/` (absolute targets restart at the
 * root, `..` stops at it), so the result never leaves the source. With `followFinal` false
 * the last component is left as is (it may itself be a symlink). Below a missing component
 * nothing is looked up until a `..` leads back out of it. Returns a clean slash-rooted path.
 */
export async function resolveInRoot(fs: SourceFS, path: string, followFinal: boolean): Promise<string> {
  let pending = cleanPath(`/${path}`)
    .split('/')
    .filter((c) => c !== '');
  let current = '/';
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      current = current === '/' ? '/' : current.slice(0, current.lastIndexOf('/')) || '/';
      missing = false; // back in what exists: look again (as securejoin does)
      continue;
    }
    const next = childPath(current, c);
    if (missing || (pending.length === 0 && !followFinal)) {
      current = next;
      continue;
    }
    const e = await fs.lstat(next);
    if (e === undefined) {
      missing = true;
      current = next;
      continue;
    }
    if (e.type !== 'symlink') {
      current = next;
      continue;
    }
    if (++links > maxLinks) throw new BuildError(`resolving ${path} in ${fs.description}: too many links`);
    const target = e.linkTarget ?? '';
    if (target.startsWith('/')) current = '/';
    pending = [...target.split('/').filter((p) => p !== ''), ...pending];
  }
  return current;
}
