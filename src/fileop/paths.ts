/**
 * fileop/paths — where a COPY/ADD lands, by BuildKit's rules (dockerfile2llb's
 * `pathRelativeToWorkingDir` + `system.NormalizePath(…, keepSlash)`, the file backend's
 * `cleanPath`, fsutil `Copy`'s `ensureDstPath`). Pure.
 *
 *     normalizeDest('/app', '.')        → '/app/'     (`.` and `` mean the WORKDIR, as a directory)
 *     normalizeDest('/app', 'bin/')     → '/app/bin/' (a trailing `/` marks a directory)
 *     normalizeDest('/app', '/etc/x')   → '/etc/x'    (absolute paths ignore the WORKDIR)
 *     normalizeDest('/', 'a/b/.')       → '/a/b/.'    (so does a trailing `/.`)
 *     destParentToCreate('/app/bin/')   → '/app/bin/' (created whole)
 *     destParentToCreate('/app/x.txt')  → '/app/'     (only its parent)
 */
import { cleanPath } from '../context/patternmatcher.js';

/** Resolves a COPY/ADD destination against the WORKDIR, keeping a trailing `/` or `/.`. */
export function normalizeDest(workdir: string, dest: string): string {
  let d = dest;
  let base = '/';
  if (!d.startsWith('/')) {
    if (d === '.' || d === '') d = './';
    base = cleanPath(`/${workdir}`);
  }
  let out = cleanPath(`${base}/${d}`);
  if (d.endsWith('/') && !out.endsWith('/')) out += '/';
  else if (d.endsWith('/.')) {
    if (out !== '/') out += '/';
    out += '.';
  }
  return out;
}

/** True when the destination is spelled as a directory (`/x/`, `/x/.`, `/`). */
export function isDirDest(dest: string): boolean {
  return dest.endsWith('/') || dest.endsWith('/.');
}

/** Marks a destination as a directory (several sources are copied *into* it). */
export function asDirDest(dest: string): string {
  return isDirDest(dest) ? dest : `${dest}/`;
}

/**
 * The directory fsutil creates before copying: the destination itself when it names a
 * directory, else its parent.
 */
export function destParentToCreate(dest: string): string {
  const slash = dest.lastIndexOf('/');
  const base = dest.slice(slash + 1);
  if (base !== '' && base !== '.') return dest.slice(0, slash + 1);
  return dest;
}

/** The parent of a clean slash-rooted path (`/a/b` → `/a`, `/a` → `/`). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Joins a clean slash-rooted directory and a relative path. */
export function joinPath(dir: string, rel: string): string {
  if (rel === '') return dir;
  return dir === '/' ? `/${rel}` : `${dir}/${rel}`;
}
