/**
 * buildkit/fssend — the sending side of fsutil's DiffCopy, which a BuildKit daemon calls on the
 * session to read a local directory (`FileSync/DiffCopy`): polyarch sends a STAT packet per
 * path the daemon may see, in walk order, then an empty STAT; the daemon asks for the files it
 * needs by their index (REQ) and polyarch sends their bytes (DATA, then an empty DATA); a FIN
 * from the daemon is answered with a FIN. Only what the daemon's patterns let through is sent:
 * `exclude-patterns` as `.dockerignore` (context/walk), `include-patterns` keeping only
 * matching paths and their parents, `followpaths` adding the targets of symlinks it names.
 */
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PatternMatcher } from '../context/patternmatcher.js';
import type { SourceEntry } from '../context/source.js';
import { walkContext } from '../context/walk.js';
import { InvalidArgumentError } from '../errors.js';
import type { ServerCall } from './grpc.js';
import { decodePacket, encodePacket, type FsStat, PacketType } from './wire.js';

/** What the daemon asked for, from the call's metadata. */
export interface SyncOptions {
  includes: string[];
  excludes: string[];
  followPaths: string[];
}

/** Go's os.FileMode bits for an lstat mode (fsutil sends those, not st_mode). */
export function goFileMode(e: SourceEntry): number {
  let m = e.mode & 0o777;
  if (e.mode & 0o4000) m |= 1 << 23;
  if (e.mode & 0o2000) m |= 1 << 22;
  if (e.mode & 0o1000) m |= 1 << 20;
  switch (e.type) {
    case 'dir':
      m |= 1 << 31;
      break;
    case 'symlink':
      m |= 1 << 27;
      break;
    case 'fifo':
      m |= 1 << 25;
      break;
    case 'char':
      m |= (1 << 26) | (1 << 21);
      break;
    case 'block':
      m |= 1 << 26;
      break;
    default:
      break;
  }
  return m >>> 0;
}

function statOf(path: string, e: SourceEntry): FsStat {
  const device = e.type === 'char' || e.type === 'block';
  return {
    path,
    mode: goFileMode(e),
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'dir' ? 0 : e.size,
    modTime: e.mtimeNs,
    linkname: e.linkTarget ?? '',
    devmajor: device ? Math.floor(e.rdev / 256) & 0xfff : 0,
    devminor: device ? (e.rdev & 0xff) | ((e.rdev >> 12) & 0xfff00) : 0,
  };
}

/** The paths to send, in fsutil's walk order (depth first, names sorted), relative. */
async function pathsToSend(dir: string, o: SyncOptions): Promise<{ path: string; entry: SourceEntry }[]> {
  const walk = await walkContext(dir, o.excludes.length ? new PatternMatcher(o.excludes) : undefined);
  const includes = [...o.includes];
  for (const f of o.followPaths) {
    const e = walk.entries.get(`/${f.replace(/^\/+/, '')}`);
    if (e?.type === 'symlink' && e.linkTarget) {
      includes.push(posix.normalize(posix.join(posix.dirname(f), e.linkTarget)).replace(/^\/+/, ''));
    }
  }
  // fsutil adds the follow paths to the include patterns
  const all = [...includes, ...o.followPaths];
  const include = all.length ? new PatternMatcher(all) : undefined;
  const out: { path: string; entry: SourceEntry }[] = [];
  const visit = (abs: string): boolean => {
    const rel = abs.slice(1);
    const entry = walk.entries.get(abs)!;
    const wanted = !include || include.matchesOrParentMatches(rel);
    const at = out.length;
    if (abs !== '/') out.push({ path: rel, entry });
    let any = false;
    for (const name of walk.children.get(abs) ?? []) {
      if (visit(abs === '/' ? `/${name}` : `${abs}/${name}`)) any = true;
    }
    if (!wanted && !any && abs !== '/') out.splice(at, 1);
    return wanted || any;
  };
  visit('/');
  return out;
}

/** Serves one DiffCopy call for `dir`. */
export async function sendDir(call: ServerCall, dir: string, o: SyncOptions): Promise<void> {
  const paths = await pathsToSend(dir, o);
  const files = new Map<number, string>();
  const walked = (async () => {
    for (const [i, { path, entry }] of paths.entries()) {
      if (entry.type === 'file') files.set(i, path);
      await call.send(encodePacket({ type: PacketType.stat, id: 0, stat: statOf(path, entry) }));
    }
    await call.send(encodePacket({ type: PacketType.stat, id: 0 }));
  })();
  let sending = Promise.resolve();
  for await (const bytes of call.messages) {
    const p = decodePacket(bytes);
    if (p.type === PacketType.err)
      throw new Error(`error from receiver: ${Buffer.from(p.data ?? []).toString()}`);
    if (p.type === PacketType.req) {
      await walked;
      const path = files.get(p.id);
      if (path === undefined) throw new InvalidArgumentError(`invalid file id ${p.id}`);
      files.delete(p.id);
      sending = sending.then(() => sendFile(call, join(dir, path), p.id));
    } else if (p.type === PacketType.fin) {
      await walked;
      await sending;
      await call.send(encodePacket({ type: PacketType.fin, id: 0 }));
      return;
    }
  }
  await walked;
  await sending;
}

async function sendFile(call: ServerCall, path: string, id: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(32 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await call.send(encodePacket({ type: PacketType.data, id, data: buf.subarray(0, bytesRead) }));
    }
  } finally {
    await fh.close();
  }
  await call.send(encodePacket({ type: PacketType.data, id }));
}
