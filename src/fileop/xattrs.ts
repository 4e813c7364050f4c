/**
 * fileop/xattrs — best-effort copy of extended attributes (file capabilities such as
 * `security.capability` on `ping`, `user.*` attributes, POSIX ACLs) for what a COPY wrote.
 *
 * Node has no xattr API, so this runs one `getfattr` over the copied source trees and one
 * `setfattr --restore` for the destination, per copied match (never per file). Failures are
 * ignored, as BuildKit's copy logs and skips xattr errors; without the `attr` tools nothing
 * is copied. `security.selinux` and overlayfs' own `trusted.overlay.*` are never copied.
 */
import { spawn } from 'node:child_process';

/** Decodes getfattr's quoting (`\ooo` octal escapes, `\\`) back to bytes. */
export function unquoteAttrPath(s: string): Buffer {
  const out: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x5c && i + 1 < bytes.length) {
      const next = bytes[i + 1]!;
      if (next === 0x5c) {
        out.push(0x5c);
        i++;
        continue;
      }
      const oct = bytes.subarray(i + 1, i + 4).toString('latin1');
      if (/^[0-7]{3}$/.test(oct)) {
        out.push(Number.parseInt(oct, 8));
        i += 3;
        continue;
      }
    }
    out.push(b);
  }
  return Buffer.from(out);
}

/** Quotes a path for setfattr's restore format: bytes outside printable ASCII as `\ooo`. */
export function quoteAttrPath(p: Buffer): string {
  let s = '';
  for (const b of p) {
    if (b === 0x5c) s += '\\\\';
    else if (b <= 0x20 || b >= 0x7f || b === 0x3d) s += `\\${b.toString(8).padStart(3, '0')}`;
    else s += String.fromCharCode(b);
  }
  return s;
}

export interface AttrDumpEntry {
  readonly path: Buffer;
  /** `name=value` lines as getfattr printed them (value hex-encoded) */
  readonly attrs: readonly string[];
}

const skipped = [/^security\.selinux=/, /^trusted\.overlay\./];

/** Parses `getfattr --dump -e hex` output. */
export function parseAttrDump(text: string): AttrDumpEntry[] {
  const out: AttrDumpEntry[] = [];
  let cur: { path: Buffer; attrs: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = { path: unquoteAttrPath(line.slice(8)), attrs: [] };
      out.push(cur);
    } else if (line !== '' && !line.startsWith('#') && cur !== undefined) {
      if (!skipped.some((r) => r.test(line))) cur.attrs.push(line);
    }
  }
  return out.filter((e) => e.attrs.length > 0);
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', () => resolve({ code: -1, stdout: '' }));
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(chunks).toString('utf8') }),
    );
    if (input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

/**
 * Copies the xattrs of `pairs` (source host path → destination host path); `roots` are the
 * source trees to scan. Returns how many destination paths received attributes, or
 * 'unavailable' when getfattr/setfattr cannot run.
 */
export async function copyXattrs(
  pairs: ReadonlyMap<string, string>,
  roots: readonly string[],
): Promise<number | 'unavailable'> {
  if (pairs.size === 0 || roots.length === 0) return 0;
  const dump = await run('getfattr', [
    '--absolute-names',
    '-h',
    '-P',
    '-R',
    '-d',
    '-m',
    '-',
    '-e',
    'hex',
    '--',
    ...roots,
  ]);
  if (dump.code === -1) return 'unavailable';
  let restore = '';
  let n = 0;
  for (const e of parseAttrDump(dump.stdout)) {
    const dst = pairs.get(e.path.toString('utf8'));
    if (dst === undefined) continue;
    restore += `# file: ${quoteAttrPath(Buffer.from(dst, 'utf8'))}\n${e.attrs.join('\n')}\n\n`;
    n++;
  }
  if (n === 0) return 0;
  const res = await run('setfattr', ['-h', '--restore=-'], restore);
  return res.code === -1 ? 'unavailable' : n;
}
