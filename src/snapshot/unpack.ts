/**
 * snapshot/unpack — safe, streaming extraction of an OCI/Docker layer into a directory.
 *
 * Two forms: `overlay` (the default) unpacks into an empty directory that overlayfs can stack:
 * a whiteout `.wh.name` becomes a 0/0 character device `name`, `.wh..wh..opq` becomes the
 * directory's `trusted.overlay.opaque=y`. `apply` writes over an existing tree and deletes what
 * whiteouts name (containerd's naive applier).
 *
 * Safety follows containerd (entries are neutralised, not the archive refused): names are
 * cleaned lexically with `..` stopping at the root (`../x` and `/abs/../../x` land at `x`),
 * parent paths are resolved inside the root with symlinks followed as if the root were `/`
 * (securejoin), the final component is never followed (an existing one is removed first, and
 * files are opened `O_EXCL|O_NOFOLLOW`), and a hardlink's target is resolved the same way and
 * must already exist in the tree. Nothing is written outside the root.
 *
 * Speed: the tree is modelled in memory (a fresh root needs no lookups on disk), file systems
 * calls are synchronous and per entry (no thread-pool round trip per file), and what Node
 * cannot do is batched at the end: device nodes and fifos in one `tar` process, all extended
 * attributes in one `setfattr --restore`. Directory times are set last.
 */
import {
  type BigIntStats,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import {
  DigestMismatchError,
  isErrno,
  messageOf,
  PolyarchError,
  StoreError,
  UnsupportedError,
} from '../errors.js';
import { type Digest, newDigester } from '../oci/index.js';
import {
  TarFormatError,
  type TarHeader,
  TarParser,
  type TarSink,
  type TarWriteEntry,
  type Timespec,
  writeTar,
} from '../tar/index.js';
import { openLayer } from './compression.js';
import {
  bstr,
  cleanComponents,
  fsPath,
  joinRoot,
  type PathInfo,
  PathResolveError,
  type PathView,
  resolveInRoot,
  showPath,
} from './paths.js';
import { defaultTools, runChecked, type Tools } from './tools.js';
import { parseXattrDump, writeXattrs, type Xattrs, xattrDumpArgs } from './xattr.js';

export const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Attributes that belong to overlayfs itself (or to the host), never to a layer's content. */
export function isInternalXattr(name: string): boolean {
  return (
    name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.') || name === 'security.selinux'
  );
}

export type WhiteoutMode = 'overlay' | 'apply';

export interface UnpackOptions {
  /** `overlay` (default; the destination must be empty) or `apply` (onto an existing tree). */
  whiteouts?: WhiteoutMode;
  /**
   * Lower layer directories, topmost first (overlay form). A parent directory that the layer
   * does not list takes its owner, mode, times and attributes from the first lower layer
   * that has it, so the merged view does not change it (containerd's `WithParents`).
   */
  parents?: readonly string[];
  /** Keep the unpacking user as owner instead of the archived uid/gid. */
  noSameOwner?: boolean;
  /** Owner for every entry instead of the archived uid/gid (ADD --chown of an archive). */
  owner?: { uid: number; gid: number };
  /** Seconds since the epoch for every entry's mtime (ADD under SOURCE_DATE_EPOCH). */
  mtime?: number;
  tools?: Tools;
}

export interface UnpackStats {
  /** Entries in the archive (meta headers excluded). */
  entries: number;
  /** Bytes of file content written; a hardlinked file counts once. */
  contentBytes: number;
  /** Attributes the file system refused as unsupported, and similar non-fatal notes. */
  warnings: string[];
}

export interface UnpackTarResult extends UnpackStats {
  /** sha256 of the uncompressed tar stream, as read to its end. */
  diffID: Digest;
  /** Length of the uncompressed tar stream. */
  tarSize: number;
}

export interface UnpackBlobOptions extends UnpackOptions {
  mediaType: string;
  /** Verified against the uncompressed stream; a mismatch throws DigestMismatchError. */
  expectedDiffID?: Digest;
  /** Verified against the blob as given (compressed). */
  expectedDigest?: Digest;
  /** Names the layer in messages; defaults to the expected digest. */
  what?: string;
}

export interface UnpackBlobResult extends UnpackTarResult {
  /** sha256 and length of the blob as given. */
  digest: Digest;
  compressedSize: number;
}

type Kind = 'dir' | 'file' | 'symlink' | 'special';
interface Node {
  kind: Kind;
  target?: string;
  /** A device or fifo that will be created in the final batch. */
  pending?: boolean;
}

interface Special {
  type: 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  devmajor: number;
  devminor: number;
  mtime: Timespec;
}

const MISSING: PathInfo = { kind: 'missing' };
const DIR: PathInfo = { kind: 'dir' };
const OTHER: PathInfo = { kind: 'other' };

/** A read-only view of a directory tree on disk, for resolving paths inside a lower layer. */
export class DiskView implements PathView {
  constructor(private readonly root: string) {}
  lookup(rel: string): PathInfo {
    const p = fsPath(joinRoot(this.root, rel));
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) return DIR;
      if (st.isSymbolicLink())
        return { kind: 'symlink', target: bstr(readlinkSync(p, { encoding: 'buffer' })) };
      return OTHER;
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return MISSING;
      throw err;
    }
  }
}

/** A path given as text (UTF-8) → byte string. */
function toBstr(p: string): string {
  return bstr(Buffer.from(p, 'utf8'));
}

/** A byte string as a program argument, or undefined when its bytes are not UTF-8. */
function asArg(s: string): string | undefined {
  const text = showPath(s);
  return Buffer.from(text, 'utf8').equals(fsPath(s)) ? text : undefined;
}

const O_CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The time as the float seconds Node's utimes takes. libuv truncates it to microseconds, and
 * a double near 2e9 s is only good to ~0.24 µs: without the half-microsecond bias, 117 µs
 * could land as 116.999… and be truncated to 116.
 */
function seconds(t: Timespec): number {
  if (t.nsec === 0) return t.sec;
  return t.sec + (Math.floor(t.nsec / 1000) * 1000 + 500) / 1e9;
}

function writeAll(fd: number, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
}

/** The synchronous heart of the unpacker; a TarSink fed by the tar parser. */
class Unpacker implements TarSink, PathView {
  private readonly root: string;
  private readonly mode: WhiteoutMode;
  private readonly parents: readonly string[];
  private readonly sameOwner: boolean;
  private readonly nodes = new Map<string, Node>();
  private readonly parentCache = new Map<string, string>();
  private readonly dirTimes = new Map<string, Timespec>();
  private readonly xattrs = new Map<string, Xattrs>();
  private readonly specials = new Map<string, Special>();
  private readonly specialLinks = new Map<string, string>();
  /** Implicit directories whose attributes are copied from a lower layer: rel → lower path. */
  private readonly inheritXattrs = new Map<string, string>();
  /** apply mode: what this layer created, which an opaque marker must keep. */
  private readonly created = new Set<string>();
  private file: { fd: number; rel: string; h: TarHeader } | undefined;
  private readonly owner: { uid: number; gid: number } | undefined;
  private readonly mtime: number | undefined;
  readonly stats: UnpackStats = { entries: 0, contentBytes: 0, warnings: [] };

  /** `root` and `parents` are byte strings. */
  constructor(root: string, parents: readonly string[], options: UnpackOptions) {
    this.root = root;
    this.mode = options.whiteouts ?? 'overlay';
    this.parents = parents;
    this.sameOwner = !options.noSameOwner;
    this.owner = options.owner;
    this.mtime = options.mtime;
    this.nodes.set('', { kind: 'dir' });
  }

  // ---- the model ----------------------------------------------------------------------------

  lookup(rel: string): PathInfo {
    const n = this.nodes.get(rel);
    if (n) {
      if (n.kind === 'dir') return DIR;
      if (n.kind === 'symlink') return { kind: 'symlink', target: n.target! };
      return OTHER;
    }
    if (this.mode === 'overlay') return MISSING; // a fresh root holds only what we made
    const p = fsPath(this.abs(rel));
    try {
      const st = lstatSync(p);
      let node: Node;
      if (st.isDirectory()) node = { kind: 'dir' };
      else if (st.isSymbolicLink())
        node = { kind: 'symlink', target: bstr(readlinkSync(p, { encoding: 'buffer' })) };
      else node = { kind: st.isFile() ? 'file' : 'special' };
      this.nodes.set(rel, node);
      return this.lookup(rel);
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return MISSING;
      throw err;
    }
  }

  private abs(rel: string): string {
    return joinRoot(this.root, rel);
  }

  private resolveParent(comps: readonly string[]): string {
    const key = comps.join('/');
    const hit = this.parentCache.get(key);
    if (hit !== undefined) return hit;
    const resolved = resolveInRoot(this, comps).join('/');
    this.parentCache.set(key, resolved);
    return resolved;
  }

  /** Creates the missing directories of `rel` (resolved: no symlinks in it). */
  private ensureDir(rel: string): void {
    if (this.nodes.get(rel)?.kind === 'dir') return;
    const parts = rel.split('/');
    let cur = '';
    for (const part of parts) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const info = this.lookup(cur);
      if (info.kind === 'dir') continue;
      if (info.kind !== 'missing') throw new StoreError(`"${showPath(cur)}" is not a directory`);
      mkdirSync(fsPath(this.abs(cur)), 0o755);
      this.nodes.set(cur, { kind: 'dir' });
      this.created.add(cur);
      this.inheritParent(cur);
    }
  }

  /** Gives an implicit directory the metadata of the same directory in the first lower layer. */
  private inheritParent(rel: string): void {
    for (const lower of this.parents) {
      const comps = rel.split('/');
      let resolved: string;
      try {
        resolved = joinRoot(
          lower,
          resolveInRoot(new DiskView(lower), comps.slice(0, -1)).concat(comps.slice(-1)).join('/'),
        );
      } catch (err) {
        if (err instanceof PathResolveError) return;
        throw err;
      }
      let st: BigIntStats;
      try {
        st = lstatSync(fsPath(resolved), { bigint: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) continue;
        throw err;
      }
      if (!st.isDirectory()) return; // replaced below: keep the defaults
      const p = fsPath(this.abs(rel));
      if (this.sameOwner) chownSync(p, Number(st.uid), Number(st.gid));
      chmodSync(p, Number(st.mode) & 0o7777);
      this.dirTimes.set(rel, {
        sec: Number(st.mtimeNs / 1_000_000_000n),
        nsec: Number(st.mtimeNs % 1_000_000_000n),
      });
      this.inheritXattrs.set(rel, resolved);
      return;
    }
  }

  /** Removes a path and everything below it, on disk and from every pending record. */
  private remove(rel: string): void {
    const n = this.nodes.get(rel);
    if (!n?.pending) rmSync(fsPath(this.abs(rel)), { recursive: true, force: true });
    const prefix = `${rel}/`;
    const under = (k: string) => k === rel || k.startsWith(prefix);
    for (const m of [
      this.nodes,
      this.dirTimes,
      this.xattrs,
      this.specials,
      this.specialLinks,
      this.inheritXattrs,
    ]) {
      for (const k of m.keys()) if (under(k)) m.delete(k);
    }
    for (const k of this.created) if (under(k)) this.created.delete(k);
    // a hardlink waiting for a removed device would now point at nothing
    for (const [k, target] of this.specialLinks) {
      if (!under(target)) continue;
      this.specialLinks.delete(k);
      this.nodes.delete(k);
    }
    this.parentCache.clear();
  }

  // ---- entries ------------------------------------------------------------------------------

  entry(archived: TarHeader): void {
    this.stats.entries++;
    let h = archived;
    if (this.owner) h = { ...h, uid: this.owner.uid, gid: this.owner.gid };
    if (this.mtime !== undefined) h = { ...h, mtime: { sec: this.mtime, nsec: 0 } };
    try {
      this.handle(h);
    } catch (err) {
      throw this.wrap(err, h);
    }
  }

  private wrap(err: unknown, h: TarHeader): Error {
    if (err instanceof PolyarchError && err.message.startsWith('entry "')) return err;
    return new StoreError(`entry "${h.name}": ${messageOf(err)}`, { cause: err });
  }

  private handle(h: TarHeader): void {
    const comps = cleanComponents(bstr(h.path));
    if (comps.length === 0) return; // the root itself: its attributes are the snapshot's own
    const base = comps[comps.length - 1]!;
    const parent = this.resolveParent(comps.slice(0, -1));
    if (base.startsWith(WHITEOUT_PREFIX)) {
      this.whiteout(parent, base, h);
      return;
    }
    if (parent !== '') this.ensureDir(parent);
    const rel = parent === '' ? base : `${parent}/${base}`;
    const existing = this.lookup(rel);
    if (existing.kind !== 'missing' && !(existing.kind === 'dir' && h.type === 'dir')) this.remove(rel);
    const p = fsPath(this.abs(rel));
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of h.xattrs) {
      if (isInternalXattr(k)) continue;
      // the kernel allows user.* only on files and directories (containerd skips them too)
      if (k.startsWith('user.') && h.type !== 'file' && h.type !== 'dir') {
        this.stats.warnings.push(`entry "${h.name}": attribute ${k} ignored on a ${h.type}`);
        continue;
      }
      xattrs.set(k, v);
    }
    switch (h.type) {
      case 'dir': {
        if (existing.kind !== 'dir') {
          mkdirSync(p, 0o700);
          this.nodes.set(rel, { kind: 'dir' });
        }
        if (this.sameOwner) chownSync(p, h.uid, h.gid);
        chmodSync(p, h.mode);
        this.dirTimes.set(rel, h.mtime);
        this.inheritXattrs.delete(rel);
        break;
      }
      case 'file': {
        const fd = openSync(p, O_CREATE_FILE, 0o600);
        this.nodes.set(rel, { kind: 'file' });
        this.file = { fd, rel, h };
        this.stats.contentBytes += h.size;
        break;
      }
      case 'symlink': {
        if (h.linkpath.length === 0) throw new StoreError('symlink with an empty target');
        symlinkSync(h.linkpath, p);
        if (this.sameOwner) lchownSync(p, h.uid, h.gid);
        lutimesSync(p, seconds(h.mtime), seconds(h.mtime));
        this.nodes.set(rel, { kind: 'symlink', target: bstr(h.linkpath) });
        this.parentCache.clear();
        break;
      }
      case 'hardlink': {
        this.hardlink(rel, h);
        xattrs.clear(); // attributes belong to the inode, set by its first entry
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        this.addSpecial(rel, {
          type: h.type,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          devmajor: h.devmajor,
          devminor: h.devminor,
          mtime: h.mtime,
        });
        break;
      }
    }
    // an opaque marker may come before its directory's own entry: keep it
    const opaque = h.type === 'dir' ? this.xattrs.get(rel)?.get(OVERLAY_OPAQUE_XATTR) : undefined;
    if (opaque) xattrs.set(OVERLAY_OPAQUE_XATTR, opaque);
    if (xattrs.size > 0) this.xattrs.set(rel, xattrs);
    else this.xattrs.delete(rel);
    this.created.add(rel);
  }

  private addSpecial(rel: string, s: Special): void {
    this.specials.set(rel, s);
    this.nodes.set(rel, { kind: 'special', pending: true });
  }

  private hardlink(rel: string, h: TarHeader): void {
    const comps = cleanComponents(bstr(h.linkpath));
    if (comps.length === 0) throw new StoreError('hardlink to the root directory');
    const tparent = this.resolveParent(comps.slice(0, -1));
    const trel = tparent === '' ? comps[comps.length - 1]! : `${tparent}/${comps[comps.length - 1]}`;
    const target = this.lookup(trel);
    const shown = `"${showPath(comps.join('/'))}"`;
    if (target.kind === 'missing') throw new StoreError(`hardlink target ${shown} is not in the layer`);
    if (target.kind === 'dir') throw new StoreError(`hardlink target ${shown} is a directory`);
    if (trel === rel) throw new StoreError('hardlink to itself');
    const tnode = this.nodes.get(trel)!;
    if (tnode.pending) {
      this.specialLinks.set(rel, trel);
      this.nodes.set(rel, { kind: 'special', pending: true });
      return;
    }
    linkSync(fsPath(this.abs(trel)), fsPath(this.abs(rel)));
    this.nodes.set(rel, { ...tnode });
  }

  private whiteout(parent: string, base: string, h: TarHeader): void {
    if (base === WHITEOUT_OPAQUE) {
      if (parent !== '') this.ensureDir(parent);
      if (this.mode === 'overlay') {
        let x = this.xattrs.get(parent);
        if (!x) {
          x = new Map();
          this.xattrs.set(parent, x);
        }
        x.set(OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
      } else {
        for (const name of readdirSync(fsPath(this.abs(parent)), { encoding: 'buffer' })) {
          const rel = parent === '' ? bstr(name) : `${parent}/${bstr(name)}`;
          if (!this.created.has(rel)) this.remove(rel);
        }
      }
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // AUFS metadata (.wh..wh.plnk, …): no content
    const original = base.slice(WHITEOUT_PREFIX.length);
    if (original === '' || original === '.' || original === '..' || original.includes('/')) {
      throw new StoreError(`invalid whiteout name "${showPath(base)}"`);
    }
    if (parent !== '') this.ensureDir(parent);
    const rel = parent === '' ? original : `${parent}/${original}`;
    if (this.mode === 'apply') {
      if (this.lookup(rel).kind !== 'missing') this.remove(rel);
      return;
    }
    // In one layer, content wins over a whiteout of the same name (it hides the lower one too).
    if (this.lookup(rel).kind !== 'missing') return;
    this.addSpecial(rel, {
      type: 'char',
      mode: 0,
      uid: h.uid,
      gid: h.gid,
      devmajor: 0,
      devminor: 0,
      mtime: h.mtime,
    });
  }

  data(chunk: Buffer): void {
    if (this.file) writeAll(this.file.fd, chunk);
  }

  entryEnd(): void {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    try {
      if (this.sameOwner) fchownSync(f.fd, f.h.uid, f.h.gid);
      fchmodSync(f.fd, f.h.mode); // after chown, which clears setuid and setgid
      futimesSync(f.fd, seconds(f.h.mtime), seconds(f.h.mtime));
    } catch (err) {
      throw this.wrap(err, f.h);
    } finally {
      closeSync(f.fd);
    }
  }

  /** Closes what an interrupted unpack left open. */
  abort(): void {
    if (this.file) {
      closeSync(this.file.fd);
      this.file = undefined;
    }
  }

  // ---- the final batches ----------------------------------------------------------------------

  async finish(tools: Tools): Promise<void> {
    await this.createSpecials(tools);
    await this.inheritLowerXattrs(tools);
    const records: [string, Xattrs][] = [];
    for (const [rel, x] of this.xattrs) records.push([this.abs(rel), x]);
    for (const w of await writeXattrs(tools, records)) this.stats.warnings.push(w.message);
    // deepest first is not needed (a child's time does not touch its parent's), but setting a
    // directory's time must come after everything created in it
    for (const [rel, t] of this.dirTimes) utimesSync(fsPath(this.abs(rel)), seconds(t), seconds(t));
  }

  /** Device nodes, fifos and hardlinks to them, in one `tar -x` (Node has no mknod). */
  private async createSpecials(tools: Tools): Promise<void> {
    if (this.specials.size === 0) return;
    const entries: TarWriteEntry[] = [];
    for (const [rel, s] of this.specials) {
      entries.push({
        header: {
          type: s.type,
          path: fsPath(rel),
          mode: s.mode,
          uid: s.uid,
          gid: s.gid,
          devmajor: s.devmajor,
          devminor: s.devminor,
          mtime: s.mtime,
        },
      });
    }
    for (const [rel, target] of this.specialLinks) {
      entries.push({ header: { type: 'hardlink', path: fsPath(rel), linkpath: fsPath(target) } });
    }
    const args = [
      '--extract',
      '--file=-',
      '--preserve-permissions',
      '--numeric-owner',
      `--directory=${showPath(this.root)}`,
    ];
    if (!this.sameOwner) args.push('--no-same-owner');
    else args.push('--same-owner');
    await runChecked(`creating ${this.specials.size} device node(s) and fifo(s)`, tools.tar, args, {
      input: writeTar(entries),
      captureStdout: false,
    });
  }

  /** Attributes of implicit directories, copied from the lower layer (one getfattr). */
  private async inheritLowerXattrs(tools: Tools): Promise<void> {
    if (this.inheritXattrs.size === 0) return;
    const byLower = new Map<string, string[]>();
    for (const [rel, lower] of this.inheritXattrs) {
      if (asArg(lower) === undefined) {
        this.stats.warnings.push(`attributes of "${showPath(rel)}" not inherited: its name is not UTF-8`);
        continue;
      }
      const list = byLower.get(lower) ?? [];
      list.push(rel);
      byLower.set(lower, list);
    }
    const lowers = [...byLower.keys()];
    for (let i = 0; i < lowers.length; i += 500) {
      const batch = lowers.slice(i, i + 500);
      const r = await runChecked(
        'reading attributes of lower directories',
        tools.getfattr,
        xattrDumpArgs(batch.map((p) => asArg(p)!)),
      );
      for (const [path, attrs] of parseXattrDump(r.stdout.toString('latin1'))) {
        for (const rel of byLower.get(path) ?? []) {
          const mine = this.xattrs.get(rel) ?? new Map<string, Buffer>();
          for (const [k, v] of attrs) if (!isInternalXattr(k) && !mine.has(k)) mine.set(k, v);
          if (mine.size > 0) this.xattrs.set(rel, mine);
        }
      }
    }
  }
}

/** About the longest the unpack works without letting other callbacks run, and its unit of work. */
const yieldEveryMs = 20;
const sliceBytes = 16 * 1024;

/**
 * Unpacks an uncompressed tar stream into `dest` (a byte-string-safe path). In overlay form
 * `dest` must be an empty directory. Returns the diffID of the stream.
 */
export async function unpackTar(
  tar: AsyncIterable<Uint8Array>,
  dest: string,
  options: UnpackOptions = {},
): Promise<UnpackTarResult> {
  const tools = options.tools ?? defaultTools;
  const root = toBstr(dest.replace(/\/+$/, '') || '/');
  const u = new Unpacker(root, (options.parents ?? []).map(toBstr), options);
  const parser = new TarParser(u);
  const hasher = newDigester();
  let tarSize = 0;
  let since = performance.now();
  try {
    for await (const chunk of tar) {
      const b = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      hasher.update(b);
      tarSize += b.length;
      // the files are written with synchronous calls (a 256 KiB chunk of small files takes
      // 100 ms and more): fed in slices, giving timers (the tty's repaint) a turn in between
      for (let off = 0; off < b.length; off += sliceBytes) {
        parser.write(off === 0 && b.length <= sliceBytes ? b : b.subarray(off, off + sliceBytes));
        if (performance.now() - since > yieldEveryMs) {
          await new Promise((resolve) => setImmediate(resolve));
          since = performance.now();
        }
      }
    }
    parser.end();
  } catch (err) {
    u.abort();
    if (err instanceof PolyarchError) throw err;
    if (err instanceof TarFormatError) throw new StoreError(`reading layer: ${err.message}`, { cause: err });
    throw new StoreError(`unpacking layer into ${dest}: ${messageOf(err)}`, { cause: err });
  }
  await u.finish(tools);
  return { ...u.stats, diffID: hasher.digest(), tarSize };
}

/**
 * Unpacks a layer blob (`application/vnd.oci.image.layer.v1.tar[+gzip]` or Docker's) into
 * `dest`, verifying its digests when given. On any error `dest` is left as it is: unpack into
 * a temporary directory and discard it on failure (the snapshot store does).
 */
export async function unpackLayer(
  blob: AsyncIterable<Uint8Array>,
  dest: string,
  options: UnpackBlobOptions,
): Promise<UnpackBlobResult> {
  const what = options.what ?? (options.expectedDigest ? `layer ${options.expectedDigest}` : 'layer');
  const opened = await openLayer(blob, options.mediaType, what);
  let result: UnpackTarResult;
  try {
    result = await unpackTar(opened.tar, dest, options);
  } catch (err) {
    if (err instanceof UnsupportedError || err instanceof DigestMismatchError) throw err;
    throw new StoreError(`unpacking ${what}: ${messageOf(err)}`, { cause: err });
  }
  const c = opened.compressed();
  if (options.expectedDigest && c.digest !== options.expectedDigest) {
    throw new DigestMismatchError(
      `unpacking ${what}: blob digest is ${c.digest}, expected ${options.expectedDigest}`,
    );
  }
  if (options.expectedDiffID && result.diffID !== options.expectedDiffID) {
    throw new DigestMismatchError(
      `unpacking ${what}: uncompressed digest (diffID) is ${result.diffID}, expected ${options.expectedDiffID}`,
    );
  }
  return { ...result, digest: c.digest, compressedSize: c.size };
}
