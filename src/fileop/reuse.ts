/**
 * fileop/reuse — a COPY that rebuilds its layer from the previous build's one: when a COPY of
 * the build context runs again on the same parent with the same definition (a "lineage") and
 * only a few source files changed, the unchanged files are hard links to the previous
 * snapshot's immutable files instead of fresh copies of their bytes.
 *
 * Each COPY with reuse writes a record beside its upper dir, one line per regular file in copy
 * order: `L|C <tab> identity <tab> destination path` (`L`: left to link, `C`: copied), the
 * identity being the source file's `dev:ino:size:mtimeNs:ctimeNs` (any change to content,
 * mode, owner or xattrs moves ctime) and the mode, owner, size and mtime the copy gave the file.
 * The next COPY of the lineage reads that record as a stream, merged with its own walk (both in
 * pre-order, names sorted), and leaves a file to be linked only when all of these hold: the
 * donor wrote the same source file to the same path with exactly the metadata this copy would
 * give it (a committed snapshot never changes, so its record stays true); nothing is at the
 * destination in the merged view; its directory is already in the upper dir; and the source
 * has no other hard links. Anything else is copied as usual, so a wrong guess costs time,
 * never a different result.
 *
 * The links are made after the overlay is unmounted (overlayfs forbids changing an upper dir
 * under a mount), straight into the upper dir, and each directory's times are put back as the
 * copy left them, so the layer is byte for byte what a full copy gives. A later step that
 * changes such a file changes its own copy-up: the snapshots stay immutable.
 *
 *     const reuse = openCopyReuse({ record: join(upper, '../copy-record'), upper, donor });
 *     await copy({ ...opts, reuse });
 *     await reuse.close();
 *     // unmount the overlay
 *     await reuse.link();
 */
import { lstatSync, lutimesSync, unlinkSync } from 'node:fs';
import { link } from 'node:fs/promises';
import { comparePreorder, escapePath, LineReader, LineWriter, unescapePath } from '../context/linefile.js';
import { hostPath, type SourceEntry } from '../context/source.js';
import { BuildError, isErrno, messageOf } from '../errors.js';

/** What the copy would give a file: checked against the donor's file before linking it. */
export interface WantedFile {
  readonly perm: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** mtime in microseconds */
  readonly mtimeUs: number;
}

/** The copy's side of a reuse (see the module comment). */
export interface CopyReuse {
  /**
   * Called for a regular file the copy is about to write at `dest` (a path in the destination
   * root, nothing there yet). True when the file is left to be linked from the donor.
   */
  offer(dest: string, source: SourceEntry, want: WantedFile): boolean;
  /** Records a file that was written by copying, with what the copy gave it. */
  copied(dest: string, source: SourceEntry, want: WantedFile): void;
}

export interface CopyReuseOptions {
  /** where this copy's record is written */
  record: string;
  /** the new upper dir */
  upper: string;
  /** the previous snapshot of the lineage: its layer dir and its record */
  donor?: { readonly dir: string; readonly record: string };
}

export interface LinkStats {
  linked: number;
}

/** The reuse of one COPY: offered to `copy`, then closed, then linked after the unmount. */
export interface CopyReuseSession extends CopyReuse {
  /** Flushes the record. */
  close(): void;
  /** Makes the links (the overlay must be unmounted); returns how many. */
  link(): Promise<LinkStats>;
}

/** The source file (any change moves ctime) and the metadata the copy gives it. */
const identity = (e: SourceEntry, w: WantedFile) =>
  `${e.dev}:${e.ino}:${e.size}:${e.mtimeNs}:${e.ctimeNs} ${w.perm}:${w.uid}:${w.gid}:${w.size}:${w.mtimeUs}`;

interface RecordLine {
  readonly flag: string;
  readonly key: string;
  readonly path: string;
}

function parseLine(line: string): RecordLine | undefined {
  const t1 = line.indexOf('\t');
  const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
  if (t2 < 0) return undefined;
  return { flag: line.slice(0, t1), key: line.slice(t1 + 1, t2), path: unescapePath(line.slice(t2 + 1)) };
}

/** The donor's record, walked forward as the copy's walk goes. */
class DonorCursor {
  private readonly reader: LineReader;
  private current: RecordLine | undefined;

  constructor(record: string) {
    this.reader = new LineReader(record);
    this.advance();
  }

  private advance(): void {
    for (;;) {
      const line = this.reader.next();
      if (line === undefined) {
        this.current = undefined;
        return;
      }
      const r = parseLine(line);
      if (r !== undefined) {
        this.current = r;
        return;
      }
    }
  }

  /** The donor's identity for `path` (see `identity`), skipping what the copy has passed. */
  keyOf(path: string): string | undefined {
    while (this.current !== undefined && comparePreorder(this.current.path, path) < 0) this.advance();
    return this.current?.path === path ? this.current.key : undefined;
  }

  close(): void {
    this.reader.close();
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Opens the reuse of one COPY (see the module comment). */
export function openCopyReuse(opts: CopyReuseOptions): CopyReuseSession {
  const out = new LineWriter(opts.record);
  const cursor = opts.donor !== undefined ? new DonorCursor(opts.donor.record) : undefined;
  let lastDir = '';
  let lastDirInUpper = false;
  let closed = false;

  const dirInUpper = (dest: string): boolean => {
    const dir = parentOf(dest);
    if (dir !== lastDir) {
      lastDir = dir;
      lastDirInUpper =
        lstatSync(hostPath(opts.upper, dir), { throwIfNoEntry: false })?.isDirectory() === true;
    }
    return lastDirInUpper;
  };

  const matches = (dest: string, id: string, source: SourceEntry): boolean =>
    cursor !== undefined && source.nlink <= 1 && cursor.keyOf(dest) === id && dirInUpper(dest);

  return {
    offer(dest, source, want) {
      const id = identity(source, want);
      if (!matches(dest, id, source)) return false;
      out.write(`L\t${id}\t${escapePath(dest)}`);
      return true;
    },
    copied(dest, source, want) {
      out.write(`C\t${identity(source, want)}\t${escapePath(dest)}`);
    },
    close() {
      if (closed) return;
      closed = true;
      out.close();
      cursor?.close();
    },
    link() {
      return linkAll(opts);
    },
  };
}

/** Links made at once (each a syscall in libuv's pool; links into different files overlap). */
const linkConcurrency = 8;
/** Links of one directory handled as one group at most (its times are put back after each). */
const groupSize = 1024;

interface LinkGroup {
  readonly dir: string;
  readonly links: { from: string; to: string; shown: string }[];
}

/** After the unmount: every `L` line becomes a link, directory times kept. */
async function linkAll(opts: CopyReuseOptions): Promise<LinkStats> {
  const donor = opts.donor;
  if (donor === undefined) return { linked: 0 };
  const reader = new LineReader(opts.record);
  let linked = 0;
  let group: LinkGroup | undefined;
  try {
    for (let line = reader.next(); line !== undefined; line = reader.next()) {
      const r = parseLine(line);
      if (r === undefined || r.flag !== 'L') continue;
      const dir = hostPath(opts.upper, parentOf(r.path));
      if (group !== undefined && (group.dir !== dir || group.links.length >= groupSize)) {
        linked += await linkGroup(group);
        group = undefined;
      }
      group ??= { dir, links: [] };
      group.links.push({
        from: hostPath(donor.dir, r.path),
        to: hostPath(opts.upper, r.path),
        shown: r.path,
      });
    }
    if (group !== undefined) linked += await linkGroup(group);
  } finally {
    reader.close();
  }
  return { linked };
}

/** The links of one directory, then its times as they were. */
async function linkGroup(g: LinkGroup): Promise<number> {
  const st = lstatSync(g.dir, { bigint: true });
  let next = 0;
  const worker = async () => {
    while (next < g.links.length) {
      const l = g.links[next++]!;
      await linkOne(l.from, l.to, l.shown);
    }
  };
  await Promise.all(Array.from({ length: Math.min(linkConcurrency, g.links.length) }, worker));
  lutimesSync(g.dir, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
  return g.links.length;
}

/** Float seconds for utimes, biased half a microsecond so libuv's truncation keeps the microsecond. */
export function utimeSeconds(ns: bigint): number {
  const us = ns / 1000n;
  return (Number(us) + (ns % 1000n === 0n && us % 1000000n === 0n ? 0 : 0.5)) / 1e6;
}

async function linkOne(from: string, to: string, shown: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    // a whiteout left by an unlink in the merged view is replaced, as a copy would have;
    // a file written later by the copy itself wins, as it would have
    if (!isErrno(err, 'EEXIST')) throw linkError(shown, err);
    const st = lstatSync(to);
    if (!(st.isCharacterDevice() && st.rdev === 0)) return;
    try {
      unlinkSync(to);
      await link(from, to);
    } catch (err2) {
      throw linkError(shown, err2);
    }
  }
}

function linkError(path: string, err: unknown): BuildError {
  return new BuildError(`linking the unchanged file ${path} from the previous layer: ${messageOf(err)}`, {
    cause: err,
  });
}
