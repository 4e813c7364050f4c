/**
 * Helpers for the tar / snapshot / overlay integration tests: a rich fixture tree made with the
 * system's own tools (mknod, setfattr, ln, touch), and a manifest of a tree (type, mode, owner,
 * size, content hash, link target, device numbers, mtime, hardlink groups, xattrs read by
 * getfattr) to compare trees with.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Readable } from 'node:stream';

export function sh(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Buffer {
  return execFileSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function bash(script: string, cwd?: string): Buffer {
  return sh('bash', ['-euo', 'pipefail', '-c', script], { cwd });
}

/** Fails the test run (never silently skips) when not root: the tests need mknod and mounts. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('these integration tests need root (mknod, mount, chown)');
}

/** A long directory name (120 bytes) and a file name (200 bytes): a path over 255 bytes. */
export const LONG_DIR = 'd'.repeat(120);
export const LONG_FILE = 'f'.repeat(200);

/**
 * Creates the fixture tree in `dir` (which must exist and be empty): setuid/setgid/sticky
 * modes, binary xattrs (also on a symlink, and security.capability), char and block devices,
 * a fifo, hardlinks, long names, a long symlink target, non-UTF-8 and newline names, large
 * ids, sub-second mtimes, an empty and a 1 MiB file.
 */
export function makeFixtureTree(dir: string): void {
  bash(
    `
    cd "$1"
    printf hello > file; chmod 4755 file
    setfattr -n user.bin -v 0x00ff100a3d00 file
    setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 file
    mkdir -p dir/sub sgid sticky
    chmod 2775 sgid; chmod 1777 sticky
    ln file dir/hardlink
    ln -s ../file dir/symlink
    setfattr -h -n trusted.sym -v 0xff00 dir/symlink
    setfattr -n user.dirattr -v dirvalue dir
    mknod dir/char c 1 3; mknod dir/block b 7 0; mkfifo dir/fifo; chmod 0640 dir/fifo
    printf owned > owned; chown 1000:2000 owned
    printf big > bigid; chown 3000000:4000000 bigid
    mkdir "${LONG_DIR}"; printf long > "${LONG_DIR}/${LONG_FILE}"
    ln -s "/${'t'.repeat(150)}/target" longlink
    printf x > $'caf\\xe9'; printf y > $'new\\nline'
    : > empty; head -c 1048576 /dev/urandom > random.bin
    ln random.bin dir/sub/random-link
    touch -h -d '2020-01-02 03:04:05.123456789' file dir/symlink
    touch -d '2019-05-06 07:08:09.5' dir/sub dir
    touch -d '2018-01-01 00:00:00' sgid
    `.replace('"$1"', JSON.stringify(dir)),
  );
}

export type MtimePrecision = 'ns' | 'us' | 's';

export interface ManifestOptions {
  mtime?: MtimePrecision;
  /** Leave directories' mtimes out (an unpacker sets them, a copy through overlay may not). */
  dirMtime?: boolean;
  /** Leave attributes with these prefixes out. */
  skipXattrs?: string[];
  /** Leave these relative paths (and what is below them) out. */
  skip?: string[];
}

/** getfattr's view of the tree: absolute path (latin1 bytes) → `name=0xhex` lines. */
export function treeXattrs(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const text = sh('getfattr', [
    '-R',
    '-h',
    '-P',
    '-d',
    '-m',
    '-',
    '-e',
    'hex',
    '--absolute-names',
    dir,
  ]).toString('latin1');
  let cur: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      // getfattr escapes bytes as \ooo
      const path = line
        .slice(8)
        .replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
      cur = [];
      out.set(path, cur);
    } else if (line !== '' && cur) cur.push(line);
  }
  return out;
}

/** One line per entry, sorted; paths are latin1-decoded bytes. */
export function treeManifest(dir: string, options: ManifestOptions = {}): string[] {
  const precision = options.mtime ?? 'ns';
  const xattrs = treeXattrs(dir);
  const root = Buffer.from(dir).toString('latin1');
  const lines: string[] = [];
  const inodes = new Map<string, string>();
  const skip = new Set(options.skip ?? []);
  const walk = (rel: string) => {
    const abs = rel === '' ? root : `${root}/${rel}`;
    const names = readdirSync(Buffer.from(abs, 'latin1'), { encoding: 'buffer' })
      .map((b) => b.toString('latin1'))
      .sort();
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (skip.has(r)) continue;
      const p = Buffer.from(`${root}/${r}`, 'latin1');
      const st = lstatSync(p, { bigint: true });
      const mode = (Number(st.mode) & 0o7777).toString(8);
      let type = '?';
      let what = '';
      if (st.isDirectory()) type = 'dir';
      else if (st.isFile()) {
        type = 'file';
        what = `sha=${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`;
      } else if (st.isSymbolicLink()) {
        type = 'symlink';
        what = `-> ${readlinkSync(p, { encoding: 'buffer' }).toString('latin1')}`;
      } else if (st.isCharacterDevice()) type = 'char';
      else if (st.isBlockDevice()) type = 'block';
      else if (st.isFIFO()) type = 'fifo';
      if (st.isCharacterDevice() || st.isBlockDevice()) what = `rdev=${st.rdev}`;
      let mtime = '';
      if (!(st.isDirectory() && options.dirMtime === false)) {
        const ns = st.mtimeNs;
        mtime =
          precision === 'ns' ? `${ns}` : precision === 'us' ? `${ns / 1000n}` : `${ns / 1_000_000_000n}`;
      }
      let link = '';
      if (!st.isDirectory() && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first) link = ` hardlink=${first}`;
        else inodes.set(key, r);
      }
      const xa = (xattrs.get(`${root}/${r}`) ?? [])
        .filter((l) => !(options.skipXattrs ?? []).some((pfx) => l.startsWith(pfx)))
        .sort()
        .join(' ');
      lines.push(
        `${JSON.stringify(r)} ${type} ${mode} ${st.uid}:${st.gid} size=${st.isFile() ? st.size : '-'} ${what} mtime=${mtime}${link}${xa ? ` xattrs[${xa}]` : ''}`,
      );
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return lines;
}

/** A readable stream over bytes (for feeding a tar built in memory). */
export function streamOf(data: Buffer): Readable {
  return Readable.from([data]);
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
