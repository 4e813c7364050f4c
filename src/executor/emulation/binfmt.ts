/**
 * emulation/binfmt — the kernel's binfmt_misc: reading its handlers, and the registration
 * format (`:name:type:offset:magic:mask:interpreter:flags`, Documentation/admin-guide/binfmt-misc.rst).
 *
 * Each handler is a file in the binfmt_misc directory (normally /proc/sys/fs/binfmt_misc):
 *
 *     enabled
 *     interpreter /usr/bin/qemu-aarch64-static
 *     flags: OCF
 *     offset 0
 *     magic 7f454c460201010000000000000000000200b700
 *     mask ffffffffffffff00fffffffffffffffffeffffff
 *
 * Flags: F opens the interpreter at registration, so it works inside containers whose root
 * filesystem does not have it; P preserves argv[0]; O passes an open file descriptor; C
 * computes credentials from the binary (implies O).
 *
 * Parsing and matching are pure; `readBinfmt` reads a directory given as a parameter, and can
 * mount binfmt_misc when the directory is the standard one and nothing is mounted there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmulationError, messageOf } from '../../errors.js';

export const defaultBinfmtDir = '/proc/sys/fs/binfmt_misc';

/** One registered handler. */
export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  /** the flag letters, e.g. `OCF` */
  flags: string;
  /** magic: match bytes at `offset`; extension: match the file name's extension */
  kind: 'magic' | 'extension';
  offset: number;
  magic: Uint8Array;
  /** all 0xff when the handler has none */
  mask: Uint8Array;
  /** for `extension` handlers */
  extension?: string;
}

/** What a binfmt_misc directory holds. */
export interface BinfmtState {
  dir: string;
  /** false when binfmt_misc is not mounted at `dir` (and could not be) */
  mounted: boolean;
  /** the global switch (`status`): when disabled no handler is used */
  enabled: boolean;
  entries: BinfmtEntry[];
  /** why it is not mounted, when a mount was tried and failed */
  mountError?: string;
}

/** A registration line's fields (`:name:type:offset:magic:mask:interpreter:flags`). */
export interface BinfmtRegistration {
  name: string;
  kind: 'magic' | 'extension';
  offset: number;
  /** magic bytes, or the extension's bytes */
  magic: Uint8Array;
  mask?: Uint8Array;
  interpreter: string;
  flags: string;
}

function hexBytes(hex: string): Uint8Array {
  const clean = hex.trim();
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`malformed hex "${hex}"`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/** Parses the content of a handler file (`/proc/sys/fs/binfmt_misc/<name>`). */
export function parseBinfmtEntry(name: string, content: string): BinfmtEntry {
  const entry: BinfmtEntry = {
    name,
    enabled: false,
    interpreter: '',
    flags: '',
    kind: 'magic',
    offset: 0,
    magic: new Uint8Array(),
    mask: new Uint8Array(),
  };
  let mask: Uint8Array | undefined;
  for (const line of content.split('\n')) {
    const l = line.trim();
    if (l === 'enabled') entry.enabled = true;
    else if (l === 'disabled') entry.enabled = false;
    else if (l.startsWith('interpreter ')) entry.interpreter = l.slice('interpreter '.length);
    else if (l.startsWith('flags:')) entry.flags = l.slice('flags:'.length).trim();
    else if (l.startsWith('offset ')) entry.offset = Number.parseInt(l.slice('offset '.length), 10) || 0;
    else if (l.startsWith('magic ')) entry.magic = hexBytes(l.slice('magic '.length));
    else if (l.startsWith('mask ')) mask = hexBytes(l.slice('mask '.length));
    else if (l.startsWith('extension ')) {
      entry.kind = 'extension';
      entry.extension = l.slice('extension '.length).replace(/^\./, '');
    }
  }
  entry.mask = mask ?? new Uint8Array(entry.magic.length).fill(0xff);
  return entry;
}

/** True when a magic handler accepts a file starting with `header`. */
export function matchesHeader(entry: BinfmtEntry, header: Uint8Array): boolean {
  if (entry.kind !== 'magic' || entry.magic.length === 0) return false;
  if (entry.offset + entry.magic.length > header.length) return false;
  for (let i = 0; i < entry.magic.length; i++) {
    const m = entry.mask[i] ?? 0xff;
    if ((header[entry.offset + i]! & m) !== (entry.magic[i]! & m)) return false;
  }
  return true;
}

/** Unescapes a magic or mask field: `\xHH` is a byte, anything else stands for itself. */
export function unescapeField(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out.push(Number.parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      out.push(...Buffer.from(s[i]!, 'utf8'));
    }
  }
  return new Uint8Array(out);
}

/** Parses a registration line as found in /usr/lib/binfmt.d/*.conf. */
export function parseRegistration(line: string): BinfmtRegistration {
  const text = line.trim();
  const delim = text[0];
  if (delim === undefined) throw new Error('empty registration');
  const f = text.slice(1).split(delim);
  if (f.length < 6)
    throw new Error(
      `malformed registration "${text}": expected :name:type:offset:magic:mask:interpreter:flags`,
    );
  const [name, type, offset, magic, mask, interpreter, flags] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (type !== 'M' && type !== 'E') throw new Error(`malformed registration "${text}": type must be M or E`);
  const reg: BinfmtRegistration = {
    name,
    kind: type === 'M' ? 'magic' : 'extension',
    offset: offset === '' ? 0 : Number.parseInt(offset, 10),
    magic: unescapeField(magic),
    interpreter,
    flags: flags ?? '',
  };
  if (mask !== '') reg.mask = unescapeField(mask);
  if (reg.mask && reg.mask.length !== reg.magic.length) {
    throw new Error(`malformed registration "${text}": mask and magic differ in length`);
  }
  return reg;
}

function escapeBytes(b: Uint8Array): string {
  return Array.from(b, (x) => `\\x${x.toString(16).padStart(2, '0')}`).join('');
}

/** The line to write to `register`; every magic and mask byte is escaped. */
export function formatRegistration(r: BinfmtRegistration): string {
  return [
    '',
    r.name,
    r.kind === 'magic' ? 'M' : 'E',
    r.kind === 'magic' ? String(r.offset) : '',
    r.kind === 'magic' ? escapeBytes(r.magic) : Buffer.from(r.magic).toString('utf8'),
    r.mask ? escapeBytes(r.mask) : '',
    r.interpreter,
    r.flags,
  ].join(':');
}

export interface ReadBinfmtOptions {
  /** mount binfmt_misc at `dir` when it is not mounted (default: only for the standard directory) */
  mount?: boolean;
}

/** Mounts binfmt_misc at `dir` (`mount -t binfmt_misc binfmt_misc DIR`); throws an EmulationError. */
function mountBinfmt(dir: string): void {
  const r = process
    .getBuiltinModule('node:child_process')
    .spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    // mount(8) says `mount: DIR: must be superuser to use mount.` and then a dmesg hint
    const first = (r.stderr ?? '')
      .split('\n')[0]!
      .replace(/^mount: /, '')
      .replace(`${dir}: `, '')
      .trim();
    const why = r.error ? messageOf(r.error) : first || `exit status ${r.status}`;
    const hint =
      typeof process.getuid === 'function' && process.getuid() !== 0
        ? 'mounting it needs root'
        : 'is the binfmt_misc kernel module available (modprobe binfmt_misc)?';
    throw new EmulationError(`mount -t binfmt_misc binfmt_misc ${dir} failed: ${why} (${hint})`);
  }
}

/** Reads the handlers in `dir`. Never throws for a missing mount: `mounted` says so. */
export function readBinfmt(dir: string = defaultBinfmtDir, opts: ReadBinfmtOptions = {}): BinfmtState {
  const statusPath = join(dir, 'status');
  let mountError: string | undefined;
  if (!existsSync(statusPath) && (opts.mount ?? dir === defaultBinfmtDir)) {
    try {
      mountBinfmt(dir);
    } catch (err) {
      mountError = messageOf(err);
    }
  }
  let status: string;
  try {
    status = readFileSync(statusPath, 'utf8').trim();
  } catch {
    const state: BinfmtState = { dir, mounted: false, enabled: false, entries: [] };
    if (mountError) state.mountError = mountError;
    return state;
  }
  const entries: BinfmtEntry[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'status' || name === 'register') continue;
    try {
      entries.push(parseBinfmtEntry(name, readFileSync(join(dir, name), 'utf8')));
    } catch {
      // removed while we read, or not a handler file
    }
  }
  return { dir, mounted: true, enabled: status === 'enabled', entries };
}
