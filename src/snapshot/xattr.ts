/**
 * snapshot/xattr — extended attributes of whole trees, in one process per tree: Node has no
 * xattr API, so we read with the system call helper (`snapshot/syscalls`) or one
 * `getfattr -R`, and write with one `setfattr --restore`.
 *
 * The dump format (shared by both programs) is text: `# file: <path>` then `name=0s<base64>`
 * lines, a blank line between files; bytes of paths and names outside printable ASCII are
 * escaped as `\ooo`. Parsing and formatting are pure and kept apart from the running.
 */
import { StoreError } from '../errors.js';
import { bstr } from './paths.js';
import { sharedSyscalls } from './syscalls.js';
import { defaultTools, run, type Tools } from './tools.js';

/** Attributes of one file: name → raw value. */
export type Xattrs = Map<string, Buffer>;

/** Decodes `\ooo` escapes into raw bytes (as attr's `unquote`). */
export function unquote(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && i + 3 < s.length && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 4), 8) & 0xff);
      i += 3;
    } else out.push(c & 0xff);
  }
  return Buffer.from(out);
}

/** Escapes every byte outside printable ASCII, and `\` and `=`, as `\ooo`. */
export function quote(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3d) s += `\\${c.toString(8).padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) return unquote(v.slice(1, -1));
  return unquote(v);
}

/**
 * Parses a `getfattr -d -e base64 --absolute-names` dump into path (a byte string) → attributes.
 */
export function parseXattrDump(text: string): Map<string, Xattrs> {
  const out = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  for (const line of text.split('\n')) {
    if (line === '') {
      current = undefined;
      continue;
    }
    if (line.startsWith('# file: ')) {
      const path = bstr(unquote(line.slice('# file: '.length)));
      current = out.get(path);
      if (!current) {
        current = new Map();
        out.set(path, current);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    if (!current) throw new StoreError(`reading extended attributes: unexpected line "${line}"`);
    const eq = line.indexOf('=');
    const name = unquote(eq === -1 ? line : line.slice(0, eq)).toString('latin1');
    current.set(name, eq === -1 ? Buffer.alloc(0) : decodeValue(line.slice(eq + 1)));
  }
  return out;
}

/** Formats attributes as a `setfattr --restore` input; paths are absolute byte strings. */
export function formatXattrRestore(
  records: Iterable<readonly [string, ReadonlyMap<string, Uint8Array>]>,
): Buffer {
  const parts: string[] = [];
  for (const [path, attrs] of records) {
    if (attrs.size === 0) continue;
    parts.push(`# file: ${quote(Buffer.from(path, 'latin1'))}\n`);
    for (const [name, value] of attrs) {
      parts.push(`${quote(Buffer.from(name, 'latin1'))}=0s${Buffer.from(value).toString('base64')}\n`);
    }
    parts.push('\n');
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/**
 * getfattr's arguments for a dump (`parseXattrDump`'s input) of every attribute of `paths`,
 * symlinks themselves, not their targets; `recursive` adds everything below them.
 */
export function xattrDumpArgs(paths: readonly string[], options: { recursive?: boolean } = {}): string[] {
  return [
    ...(options.recursive ? ['--recursive', '--physical'] : []),
    '--no-dereference',
    '--dump',
    '--match=-',
    '--encoding=base64',
    '--absolute-names',
    '--',
    ...paths,
  ];
}

/** A tree's attributes as a getfattr dump (`parseXattrDump`'s input), and why it is short. */
export interface TreeXattrDump {
  dump: string;
  /** what failed, when something did (the dump then holds what was read before) */
  error?: string;
}

/**
 * Every extended attribute under `dir` (symlinks not followed), read by the system call
 * helper (`snapshot/syscalls`) unless `tools` names another getfattr or the helper cannot
 * run, then by getfattr; rejects, as `run` does, only when getfattr cannot be started.
 */
export async function dumpTreeXattrs(tools: Tools, dir: string): Promise<TreeXattrDump> {
  if (tools.getfattr === defaultTools.getfattr) {
    const r = await sharedSyscalls().treeXattrs(dir);
    if (r?.errno === 0) return { dump: r.text ?? '' };
    if (r !== undefined) {
      return { dump: '', error: process.getBuiltinModule('node:util').getSystemErrorName(-r.errno) };
    }
  }
  const out = await run(tools.getfattr, xattrDumpArgs([dir], { recursive: true }));
  const dump = out.stdout.toString('latin1');
  if (out.code === 0) return { dump };
  const detail = out.stderr.trim().split('\n').slice(0, 8).join('; ');
  return { dump, error: `${tools.getfattr} exited with status ${out.code}${detail ? `: ${detail}` : ''}` };
}

/** Reads every extended attribute of every file under `dir` (symlinks not followed). */
export async function readTreeXattrs(tools: Tools, dir: string): Promise<Map<string, Xattrs>> {
  const { dump, error } = await dumpTreeXattrs(tools, dir);
  if (error !== undefined) throw new StoreError(`reading extended attributes under ${dir}: ${error}`);
  return parseXattrDump(dump);
}

/** A failure of one attribute that the caller may accept (see `writeXattrs`). */
export interface XattrWarning {
  message: string;
}

/**
 * Sets the attributes, on symlinks themselves (not their targets). Like containerd, a value
 * the file system does not support (ENOTSUP) is reported as a warning, not an error.
 */
export async function writeXattrs(
  tools: Tools,
  records: Iterable<readonly [string, ReadonlyMap<string, Uint8Array>]>,
): Promise<XattrWarning[]> {
  const input = formatXattrRestore(records);
  if (input.length === 0) return [];
  const r = await run(tools.setfattr, ['--no-dereference', '--restore=-'], { input, captureStdout: false });
  if (r.code === 0) return [];
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l !== '');
  const fatal = lines.filter((l) => !/Operation not supported/.test(l));
  if (fatal.length > 0 || lines.length === 0) {
    throw new StoreError(
      `setting extended attributes: ${tools.setfattr} exited with status ${r.code}: ${fatal.slice(0, 8).join('; ')}`,
    );
  }
  return lines.map((message) => ({ message }));
}
