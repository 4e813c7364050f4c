/**
 * snapshot/paths — paths inside a root directory, as byte strings, and resolution of symlinks
 * without leaving the root (the rule of cyphar/filepath-securejoin and containerd's
 * `fs.RootPath`). Pure: the file system is seen through an injected `PathView`.
 *
 * A *byte string* holds one byte per UTF-16 code unit (latin1), so names that are not UTF-8
 * survive unchanged from a tar header to the file system and back. Convert with `bstr()` and
 * `fsPath()` at the edges; `/` and `.` are the same byte in both worlds.
 */

/** Raw bytes → byte string. */
export function bstr(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Byte string → the Buffer that Node's fs functions take as a path. */
export function fsPath(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A byte string shown as text (UTF-8 decoded) for messages. */
export function showPath(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/**
 * Lexically cleans a path into its components, relative to the root: empty and `.` parts are
 * dropped, `..` removes the previous part and never climbs above the root (so `../x`,
 * `/abs/../../x` and `a/../../x` all become `x`), and a leading `/` means the same root.
 */
export function cleanComponents(p: string): string[] {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/** What a view knows of one path (relative to the root, `/`-joined, `''` for the root). */
export type PathInfo =
  | { kind: 'missing' }
  | { kind: 'dir' }
  | { kind: 'symlink'; target: string }
  | { kind: 'other' };

/** How resolution sees the tree: one lookup per path, without following the last component. */
export interface PathView {
  lookup(rel: string): PathInfo;
}

/** Thrown when resolution cannot finish (a symlink loop). */
export class PathResolveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathResolveError';
  }
}

const MAX_SYMLINKS = 255;

/**
 * Resolves every component of `components` inside the root: symlinks are followed as if the
 * root were `/` (an absolute target restarts at the root, `..` stops at it). The result names
 * only directories and components that do not exist yet, never a symlink; the last component
 * is resolved too, so pass only the parent of what you are about to create.
 */
export function resolveInRoot(view: PathView, components: readonly string[]): string[] {
  const resolved: string[] = [];
  const queue = components.slice().reverse(); // a stack: the next component is at the end
  let links = 0;
  let missing = false; // once a component is missing, everything below it is too
  while (queue.length > 0) {
    const c = queue.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      resolved.pop();
      missing = false;
      continue;
    }
    resolved.push(c);
    if (missing) continue;
    const info = view.lookup(resolved.join('/'));
    if (info.kind === 'missing') {
      missing = true;
    } else if (info.kind === 'symlink') {
      resolved.pop();
      if (++links > MAX_SYMLINKS) {
        throw new PathResolveError(
          `too many levels of symbolic links resolving "${showPath(components.join('/'))}"`,
        );
      }
      if (info.target.startsWith('/')) resolved.length = 0;
      const parts = info.target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) queue.push(parts[i]!);
    }
  }
  return resolved;
}

/** `root/rel` as a byte string (rel may be empty). */
export function joinRoot(root: string, rel: string): string {
  return rel === '' ? root : `${root}/${rel}`;
}
