/**
 * snapshot/diff — an overlay upper directory → an OCI layer, in one streaming pass:
 * tree walk → tar → sha256 (diffID) → gzip or zstd (compress/, in worker threads when the caller
 * passes a pool) → sha256 (blob digest) + size → the caller's sink.
 *
 * The upper dir holds exactly what a step changed (Docker's overlay2 "naive diff"): overlay
 * whiteouts (0/0 character devices, or files marked `trusted.overlay.whiteout`) become `.wh.`
 * entries, opaque directories (`trusted.overlay.opaque=y`, `user.overlay.opaque=y`) get a
 * `.wh..wh..opq` entry, overlay's own attributes (and the host's `security.selinux` label)
 * stay out, every other attribute goes in as PAX `SCHILY.xattr.*`. A directory redirected by
 * `redirect_dir` or a metacopy-only file cannot be exported and fails clearly.
 *
 * Deterministic, like containerd's ChangeWriter: entries in path order (each directory's names
 * sorted bytewise, parents before children), numeric uid/gid with empty names, mtimes truncated
 * to whole seconds and clamped to `sourceDateEpoch`, no atime/ctime, whiteouts with mode 0, ids
 * 0 and time 0, hardlinks to the first path of the inode. Same tree, same bytes.
 */
import {
  type BigIntStats,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import type { Writable } from 'node:stream';
import { type Compressor, InThreadCompressor } from '../compress/compressor.js';
import { type CompressionSpec, defaultCompression, layerMediaType } from '../compress/spec.js';
import { StoreError } from '../errors.js';
import type { Digest } from '../oci/index.js';
import { type TarHeaderInit, type TarWriteEntry, writeTar } from '../tar/index.js';
import { bstr, fsPath, showPath } from './paths.js';
import { defaultTools, type Tools } from './tools.js';
import { isInternalXattr, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './unpack.js';
import { readTreeXattrs, type Xattrs } from './xattr.js';

export interface DiffOptions {
  /** Seconds since the epoch; later mtimes are lowered to it (BuildKit's rewrite-timestamp). */
  sourceDateEpoch?: number;
  tools?: Tools;
}

/** A layer as written: what a manifest's descriptor and a config's `diff_ids` need. */
export interface LayerInfo {
  mediaType: string;
  /** sha256 of the blob as written to the sink */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar */
  diffID: Digest;
}

export interface LayerWriteOptions {
  /** how the blob is compressed; default gzip at level 1 (compress/spec) */
  compression?: CompressionSpec;
  /** who compresses (a build's worker-thread pool); default this thread */
  compressor?: Compressor;
}

const READ_CHUNK = 256 * 1024;
const maxSafeIno = BigInt(Number.MAX_SAFE_INTEGER);

/** Linux's dev_t split (glibc's gnu_dev_major / gnu_dev_minor). */
function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

function isOpaque(x: Xattrs | undefined): boolean {
  if (!x) return false;
  for (const key of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
    const v = x.get(key);
    if (v && v.length === 1 && v[0] === 0x79) return true;
  }
  return false;
}

function isXattrWhiteout(x: Xattrs | undefined): boolean {
  return x !== undefined && (x.has('trusted.overlay.whiteout') || x.has('user.overlay.whiteout'));
}

function exportedXattrs(x: Xattrs | undefined): Map<string, Buffer> | undefined {
  if (!x) return undefined;
  const out = new Map<string, Buffer>();
  for (const k of [...x.keys()].sort()) if (!isInternalXattr(k)) out.set(k, x.get(k)!);
  return out.size > 0 ? out : undefined;
}

function* fileBody(path: Buffer, size: number, shown: string): Generator<Buffer> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let remaining = size;
    while (remaining > 0) {
      const n = Math.min(remaining, READ_CHUNK);
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, null);
        if (r === 0) throw new StoreError(`diff: "${shown}" shrank while being read`);
        got += r;
      }
      remaining -= n;
      yield buf;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The layer entries of an upper directory, in order. Reads the attributes of the whole tree
 * first (one `getfattr`), then walks it; file contents are read as the consumer pulls.
 */
export async function* upperDirEntries(
  upper: string,
  options: DiffOptions = {},
): AsyncGenerator<TarWriteEntry> {
  const tools = options.tools ?? defaultTools;
  const root = bstr(Buffer.from(upper.replace(/\/+$/, ''), 'utf8'));
  const attrs = await readTreeXattrs(tools, upper);
  const epoch = options.sourceDateEpoch;
  // inode → its first path (byte string), for each file with other links: every file of a COPY
  // linked from the previous layer is one, so the key is the inode number alone where it can
  // be (the upper dir's filesystem), not a string per file
  const inodes = new Map<number | string, string>();
  const rootDev = lstatSync(fsPath(root), { bigint: true }).dev;
  const inodeKey = (st: BigIntStats): number | string =>
    st.dev === rootDev && st.ino <= maxSafeIno ? Number(st.ino) : `${st.dev}:${st.ino}`;
  const mtimeOf = (st: BigIntStats): number => {
    const sec =
      Number(st.mtimeNs / 1_000_000_000n) - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1 : 0);
    return epoch !== undefined && sec > epoch ? epoch : sec;
  };
  const whiteout = (rel: string): TarWriteEntry => ({
    header: { type: 'file', path: fsPath(rel), mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 },
  });

  async function* walk(dirRel: string): AsyncGenerator<TarWriteEntry> {
    const dirAbs = dirRel === '' ? root : `${root}/${dirRel}`;
    const names = readdirSync(fsPath(dirAbs), { encoding: 'buffer' });
    // sort by the name each child will have in the layer
    const children = names.map((n) => {
      const name = bstr(n);
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const abs = `${dirAbs}/${name}`;
      const st = lstatSync(fsPath(abs), { bigint: true });
      const x = attrs.get(abs);
      const isWhiteout = (st.isCharacterDevice() && st.rdev === 0n) || (st.isFile() && isXattrWhiteout(x));
      const outName = isWhiteout ? `${WHITEOUT_PREFIX}${name}` : name;
      return { name, rel, abs, st, x, isWhiteout, outName };
    });
    children.sort((a, b) => (a.outName < b.outName ? -1 : a.outName > b.outName ? 1 : 0));
    for (const c of children) {
      const { st, rel, x } = c;
      const shown = showPath(rel);
      if (c.isWhiteout) {
        yield whiteout(dirRel === '' ? c.outName : `${dirRel}/${c.outName}`);
        continue;
      }
      if (x?.has('trusted.overlay.redirect') || x?.has('user.overlay.redirect')) {
        throw new StoreError(
          `diff: "${shown}" is an overlay redirect (redirect_dir): cannot export it as a layer`,
        );
      }
      if (x?.has('trusted.overlay.metacopy') || x?.has('user.overlay.metacopy')) {
        throw new StoreError(`diff: "${shown}" is an overlay metacopy: cannot export it as a layer`);
      }
      const base: Omit<TarHeaderInit, 'type'> = {
        path: fsPath(rel),
        mode: Number(st.mode) & 0o7777,
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtime: mtimeOf(st),
        xattrs: exportedXattrs(x),
      };
      if (st.isDirectory()) {
        yield { header: { ...base, type: 'dir' } };
        if (isOpaque(x)) yield whiteout(`${rel}/${WHITEOUT_OPAQUE}`);
        yield* walk(rel);
        continue;
      }
      if (st.isSocket()) continue; // as containerd: sockets are not content
      if (st.nlink > 1n) {
        const key = inodeKey(st);
        const first = inodes.get(key);
        if (first !== undefined) {
          yield { header: { ...base, type: 'hardlink', linkpath: fsPath(first), xattrs: undefined } };
          continue;
        }
        inodes.set(key, rel);
      }
      if (st.isFile()) {
        const size = Number(st.size);
        yield { header: { ...base, type: 'file', size }, body: fileBody(fsPath(c.abs), size, shown) };
      } else if (st.isSymbolicLink()) {
        yield {
          header: { ...base, type: 'symlink', linkpath: readlinkSync(fsPath(c.abs), { encoding: 'buffer' }) },
        };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield {
          header: {
            ...base,
            type: st.isCharacterDevice() ? 'char' : 'block',
            devmajor: devMajor(st.rdev),
            devminor: devMinor(st.rdev),
          },
        };
      } else if (st.isFIFO()) {
        yield { header: { ...base, type: 'fifo' } };
      }
    }
  }
  yield* walk('');
}

/**
 * Writes a tar stream as a layer blob into `sink`, computing diffID, digest and size on the
 * way. `sink` is ended when the blob is complete.
 */
export async function writeLayer(
  tar: AsyncIterable<Buffer>,
  sink: Writable,
  options: LayerWriteOptions = {},
): Promise<LayerInfo> {
  const spec = options.compression ?? defaultCompression;
  const compressor = options.compressor ?? new InThreadCompressor();
  const t = await compressor.compress(tar, spec, sink);
  return { mediaType: layerMediaType(spec.type), ...t };
}

/** An upper directory → a layer blob in `sink` (see the module comment for the rules). */
export async function diffUpperDir(
  upper: string,
  sink: Writable,
  options: DiffOptions & LayerWriteOptions = {},
): Promise<LayerInfo> {
  try {
    return await writeLayer(writeTar(upperDirEntries(upper, options)), sink, options);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      `writing the layer of ${upper}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}
