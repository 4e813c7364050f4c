/**
 * tar/header — the tar header block and PAX records: types, decoding and encoding. Pure.
 *
 * One 512-byte block per header (ustar layout, also read in its GNU and v7 variants); numeric
 * fields in octal or, when too large, GNU base-256; PAX extended records (`%d key=value\n`)
 * for what the block cannot hold (long paths, sub-second mtimes, large ids, xattrs with binary
 * values as `SCHILY.xattr.*`). Paths are kept as raw bytes: names in real archives are not
 * always UTF-8, and a faithful unpack must write back the same bytes.
 */

export const BLOCK_SIZE = 512;

/** The kinds of entry a layer can contain. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** A point in time as seconds and nanoseconds since the epoch (exact, unlike a float). */
export interface Timespec {
  sec: number;
  nsec: number;
}

/** A decoded entry header: every field resolved (PAX > GNU long name/link > ustar block). */
export interface TarHeader {
  type: TarEntryType;
  /** The path exactly as archived (raw bytes; a directory may end in `/`). */
  path: Buffer;
  /** `path` as UTF-8 text, for messages and simple callers. */
  name: string;
  /** Target of a symlink or hardlink (raw bytes); empty for other types. */
  linkpath: Buffer;
  /** Permission bits with setuid, setgid and sticky (the low 12 bits of st_mode). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Bytes of content that follow (0 for every type but `file`). */
  size: number;
  mtime: Timespec;
  devmajor: number;
  devminor: number;
  /** Extended attributes (`SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`), values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

/** What a writer needs to encode an entry; omitted fields take the usual defaults. */
export interface TarHeaderInit {
  type: TarEntryType;
  /** UTF-8 text or raw bytes. A `/` is appended for directories when missing. */
  path: string | Uint8Array;
  linkpath?: string | Uint8Array;
  /** Default 0o644 for files, 0o755 for directories, 0o777 for symlinks, 0o644 otherwise. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Content length; required (and only allowed non-zero) for `file`. */
  size?: number;
  /** A Timespec, or seconds since the epoch (fractions kept to the nanosecond). Default 0. */
  mtime?: Timespec | number;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

/** A decoding error; the reader adds the archive offset. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

// ---- numeric fields -------------------------------------------------------------------------

/** Parses an octal or base-256 numeric field (Go's archive/tar rules). */
export function parseNumeric(b: Uint8Array, field: string): number {
  if (b.length > 0 && (b[0]! & 0x80) !== 0) {
    // base-256, two's complement when the second-highest bit of the first byte is set
    const negative = (b[0]! & 0x40) !== 0;
    let x = 0;
    for (let i = 0; i < b.length; i++) {
      let c = negative ? b[i]! ^ 0xff : b[i]!;
      if (i === 0) c &= 0x7f;
      x = x * 256 + c;
      if (x > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field}: base-256 value too large`);
    }
    return negative ? -x - 1 : x;
  }
  return parseOctal(b, field);
}

function parseOctal(b: Uint8Array, field: string): number {
  // Unused fields are NUL-filled; values may be padded with spaces or NULs on either side.
  let start = 0;
  let end = b.length;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  // stop at the first NUL inside (C string)
  let x = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0) break;
    if (c < 0x30 || c > 0x37) {
      throw new TarFormatError(`${field}: invalid octal digit ${JSON.stringify(String.fromCharCode(c))}`);
    }
    x = x * 8 + (c - 0x30);
  }
  if (x > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field}: octal value too large`);
  return x;
}

/** True when `n` fits in an octal field of `width` bytes (width-1 digits and a NUL). */
function fitsOctal(n: number, width: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 8 ** (width - 1);
}

/** Writes `n` into `b` as zero-padded octal with a trailing NUL, or as base-256 when too large. */
export function formatNumeric(b: Buffer, offset: number, width: number, n: number): void {
  if (fitsOctal(n, width)) {
    const s = n.toString(8).padStart(width - 1, '0');
    b.write(s, offset, width - 1, 'latin1');
    b[offset + width - 1] = 0;
    return;
  }
  // GNU base-256: big-endian two's complement with the top bit of the first byte set
  let v = BigInt(n);
  if (v < 0n) v = (1n << BigInt(width * 8)) + v;
  for (let i = width - 1; i >= 0; i--) {
    b[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[offset] = b[offset]! | 0x80;
}

// ---- strings ---------------------------------------------------------------------------------

/** The bytes of a NUL-terminated field (a copy: header blocks are reused). */
function cString(b: Buffer, start: number, end: number): Buffer {
  const nul = b.indexOf(0, start);
  return Buffer.from(b.subarray(start, nul === -1 || nul > end ? end : nul));
}

/** Encodes a path given as text (UTF-8) or bytes. */
function pathBytes(p: string | Uint8Array): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

// ---- PAX records -----------------------------------------------------------------------------

/** Parses the body of a PAX extended header into key → raw value (later keys win). */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    // trailing NUL padding is tolerated (some writers pad the body)
    if (data[pos] === 0) break;
    const sp = data.indexOf(0x20, pos);
    if (sp === -1 || sp - pos > 20) throw new TarFormatError('PAX record: missing length');
    const lenText = data.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenText)) throw new TarFormatError(`PAX record: invalid length "${lenText}"`);
    const len = Number(lenText);
    if (len <= sp - pos + 1 || pos + len > data.length) {
      throw new TarFormatError(`PAX record: length ${len} out of range`);
    }
    const end = pos + len;
    if (data[end - 1] !== 0x0a) throw new TarFormatError('PAX record: missing trailing newline');
    const eq = data.indexOf(0x3d, sp + 1);
    if (eq === -1 || eq >= end) throw new TarFormatError('PAX record: missing "="');
    const key = data.toString('utf8', sp + 1, eq);
    if (key === '') throw new TarFormatError('PAX record: empty key');
    out.set(key, data.subarray(eq + 1, end - 1));
    pos = end;
  }
  return out;
}

/** Encodes one PAX record; its length prefix counts itself. */
export function formatPaxRecord(key: string, value: Uint8Array | string): Buffer {
  const k = Buffer.from(key, 'utf8');
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const rest = k.length + v.length + 3; // ' ' '=' '\n'
  let size = rest + String(rest).length;
  // adding the length's own digits may have added a digit
  if (rest + String(size).length !== size) size = rest + String(size).length;
  return Buffer.concat([Buffer.from(`${size} ${key}=`, 'utf8'), v, Buffer.from('\n')]);
}

/** Formats a Timespec as a PAX time value (`sec[.fraction]`, trailing zeros dropped). */
export function formatPaxTime(t: Timespec): string {
  if (t.nsec === 0) return String(t.sec);
  if (t.sec < 0) {
    // -1.25 is sec=-2, nsec=750000000
    const total = -(BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec));
    const s = total / 1_000_000_000n;
    const ns = total % 1_000_000_000n;
    return `-${s}.${ns.toString().padStart(9, '0').replace(/0+$/, '')}`;
  }
  return `${t.sec}.${String(t.nsec).padStart(9, '0').replace(/0+$/, '')}`;
}

/** Parses a PAX time value (`-?sec(.fraction)?`); digits past nanoseconds are truncated. */
export function parsePaxTime(s: string): Timespec {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw new TarFormatError(`PAX time: invalid value "${s}"`);
  const sec = Number(m[2]);
  const nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (!Number.isSafeInteger(sec)) throw new TarFormatError(`PAX time: value out of range "${s}"`);
  if (m[1] !== '-') return { sec, nsec };
  return nsec === 0 ? { sec: -sec, nsec: 0 } : { sec: -sec - 1, nsec: 1_000_000_000 - nsec };
}

function parsePaxInt(v: Buffer, key: string): number {
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s)) throw new TarFormatError(`PAX ${key}: invalid number "${s}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`PAX ${key}: number out of range "${s}"`);
  return n;
}

// ---- decoding a header block -----------------------------------------------------------------

/** The raw content of a header block, before PAX and GNU long names are applied. */
export interface RawHeader {
  typeflag: string;
  path: Buffer;
  linkpath: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/** True when the block is all zeros (an end-of-archive marker). */
export function isZeroBlock(b: Buffer, offset = 0): boolean {
  for (let i = offset; i < offset + BLOCK_SIZE; i++) if (b[i] !== 0) return false;
  return true;
}

function checksumOK(b: Buffer, offset: number): boolean {
  const stored = parseOctal(b.subarray(offset + 148, offset + 156), 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[offset + i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** Decodes one 512-byte header block at `offset`. */
export function decodeHeaderBlock(block: Buffer, offset = 0): RawHeader {
  const b = offset === 0 && block.length === BLOCK_SIZE ? block : block.subarray(offset, offset + BLOCK_SIZE);
  if (!checksumOK(b, 0)) throw new TarFormatError('invalid header checksum');
  const magic = b.toString('latin1', 257, 263);
  const version = b.toString('latin1', 263, 265);
  const isUstar = magic === 'ustar\0';
  const isGnu = magic === 'ustar ' && version === ' \0';
  let path = cString(b, 0, 100);
  if (isUstar) {
    // star puts "tar\0" at 508 and shortens the prefix to 131 bytes
    const prefixEnd = b.toString('latin1', 508, 512) === 'tar\0' ? 345 + 131 : 500;
    const prefix = cString(b, 345, prefixEnd);
    if (prefix.length > 0) path = Buffer.concat([prefix, Buffer.from('/'), path]);
  }
  const n = (start: number, len: number, field: string) =>
    parseNumeric(b.subarray(start, start + len), field);
  const hasDev = isUstar || isGnu;
  return {
    typeflag: String.fromCharCode(b[156]!),
    path,
    linkpath: cString(b, 157, 257),
    mode: n(100, 8, 'mode'),
    uid: n(108, 8, 'uid'),
    gid: n(116, 8, 'gid'),
    size: n(124, 12, 'size'),
    mtime: n(136, 12, 'mtime'),
    uname: hasDev ? cString(b, 265, 297).toString('utf8') : '',
    gname: hasDev ? cString(b, 297, 329).toString('utf8') : '',
    devmajor: hasDev ? n(329, 8, 'devmajor') : 0,
    devminor: hasDev ? n(337, 8, 'devminor') : 0,
  };
}

const typeByFlag: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere that matters
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  D: 'dir', // GNU dumpdir: a directory whose body lists its contents
};

/** The entry type for a typeflag, or undefined for meta and unsupported ones. */
export function entryTypeOf(typeflag: string, path: Buffer): TarEntryType | undefined {
  const t = typeByFlag[typeflag];
  // old (v7) archives mark directories only by the trailing slash
  if (t === 'file' && typeflag === '\0' && path.length > 0 && path[path.length - 1] === 0x2f) return 'dir';
  return t;
}

/** Entry types that never carry content, whatever their size field says (as Go's reader). */
function isHeaderOnly(t: TarEntryType): boolean {
  return t !== 'file';
}

/** PAX keys that a global header may not set for every later entry. */
const perEntryOnly = new Set(['path', 'linkpath', 'size']);

/**
 * Resolves the final header from the block, GNU long name/link and PAX records (global first,
 * then local; an empty local value unsets the global one).
 */
export function resolveHeader(
  raw: RawHeader,
  type: TarEntryType,
  longName: Buffer | undefined,
  longLink: Buffer | undefined,
  globalPax: ReadonlyMap<string, Buffer>,
  localPax: ReadonlyMap<string, Buffer> | undefined,
): TarHeader {
  const h: TarHeader = {
    type,
    path: longName ?? raw.path,
    name: '',
    linkpath: longLink ?? raw.linkpath,
    mode: raw.mode & 0o7777,
    uid: raw.uid,
    gid: raw.gid,
    uname: raw.uname,
    gname: raw.gname,
    size: isHeaderOnly(type) ? 0 : raw.size,
    mtime: { sec: raw.mtime, nsec: 0 },
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs: new Map(),
  };
  const apply = (key: string, v: Buffer) => {
    if (key.startsWith('SCHILY.xattr.')) {
      h.xattrs.set(key.slice('SCHILY.xattr.'.length), v);
      return;
    }
    if (key.startsWith('LIBARCHIVE.xattr.')) {
      h.xattrs.set(
        decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)),
        Buffer.from(v.toString('latin1'), 'base64'),
      );
      return;
    }
    if (key.startsWith('GNU.sparse.')) {
      throw new TarFormatError('GNU sparse files are not supported');
    }
    switch (key) {
      case 'path':
        h.path = Buffer.from(v);
        break;
      case 'linkpath':
        h.linkpath = Buffer.from(v);
        break;
      case 'size':
        if (!isHeaderOnly(type)) h.size = parsePaxInt(v, key);
        break;
      case 'uid':
        h.uid = parsePaxInt(v, key);
        break;
      case 'gid':
        h.gid = parsePaxInt(v, key);
        break;
      case 'uname':
        h.uname = v.toString('utf8');
        break;
      case 'gname':
        h.gname = v.toString('utf8');
        break;
      case 'mtime':
        h.mtime = parsePaxTime(v.toString('latin1'));
        break;
      case 'SCHILY.devmajor':
        h.devmajor = parsePaxInt(v, key);
        break;
      case 'SCHILY.devminor':
        h.devminor = parsePaxInt(v, key);
        break;
      default:
      // atime, ctime, comment, charset, hdrcharset, SCHILY.acl.*, …: not part of a layer
    }
  };
  for (const [k, v] of globalPax) {
    if (perEntryOnly.has(k) || v.length === 0) continue;
    if (localPax?.has(k)) continue;
    apply(k, v);
  }
  if (localPax) {
    for (const [k, v] of localPax) {
      if (v.length === 0) continue; // an empty value means "use the header field"
      apply(k, v);
    }
  }
  h.name = h.path.toString('utf8');
  return h;
}

// ---- encoding --------------------------------------------------------------------------------

const NAME_SIZE = 100;
const PREFIX_SIZE = 155;

/** Splits a long path into ustar prefix and name (as Go's splitUSTARPath); undefined if impossible. */
export function splitUstarPath(p: Buffer): [Buffer, Buffer] | undefined {
  if (p.length <= NAME_SIZE) return undefined;
  let length = p.length;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (p[length - 1] === 0x2f) length--;
  const i = p.subarray(0, length).lastIndexOf(0x2f);
  const nlen = p.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined;
  return [p.subarray(0, i), p.subarray(i + 1)];
}

const flagByType: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

function defaultMode(t: TarEntryType): number {
  return t === 'dir' ? 0o755 : t === 'symlink' ? 0o777 : 0o644;
}

function toTimespec(t: Timespec | number | undefined): Timespec {
  if (t === undefined) return { sec: 0, nsec: 0 };
  if (typeof t !== 'number') return t;
  const sec = Math.floor(t);
  return { sec, nsec: Math.round((t - sec) * 1e9) % 1_000_000_000 };
}

function writeBytes(b: Buffer, offset: number, width: number, v: Uint8Array): void {
  b.set(v.subarray(0, width), offset);
}

function writeChecksum(b: Buffer, offset: number): void {
  b.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += b[offset + i]!;
  b.write(sum.toString(8).padStart(6, '0'), offset + 148, 6, 'latin1');
  b[offset + 154] = 0;
  b[offset + 155] = 0x20;
}

interface BlockFields {
  typeflag: string;
  name: Buffer;
  prefix: Buffer;
  linkname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: Buffer;
  gname: Buffer;
  devmajor: number;
  devminor: number;
}

function encodeBlock(out: Buffer, offset: number, f: BlockFields): void {
  out.fill(0, offset, offset + BLOCK_SIZE);
  writeBytes(out, offset, 100, f.name);
  formatNumeric(out, offset + 100, 8, f.mode);
  formatNumeric(out, offset + 108, 8, f.uid);
  formatNumeric(out, offset + 116, 8, f.gid);
  formatNumeric(out, offset + 124, 12, f.size);
  formatNumeric(out, offset + 136, 12, f.mtime);
  out[offset + 156] = f.typeflag.charCodeAt(0);
  writeBytes(out, offset + 157, 100, f.linkname);
  out.write('ustar\x0000', offset + 257, 8, 'latin1');
  writeBytes(out, offset + 265, 32, f.uname);
  writeBytes(out, offset + 297, 32, f.gname);
  formatNumeric(out, offset + 329, 8, f.devmajor);
  formatNumeric(out, offset + 337, 8, f.devminor);
  writeBytes(out, offset + 345, 155, f.prefix);
  writeChecksum(out, offset);
}

/** Only ASCII survives in the name of a PAX header entry (as Go does). */
function asciiOnly(b: Buffer): Buffer {
  const keep: number[] = [];
  for (const c of b) if (c < 0x80) keep.push(c);
  return Buffer.from(keep);
}

/**
 * Encodes the header block(s) for one entry: a PAX extended header first when some field does
 * not fit the ustar block. Deterministic: the same input gives the same bytes (records sorted
 * by key, the PAX entry named `<dir>/PaxHeaders.0/<base>` with zero mode, ids and time).
 */
export function encodeHeader(init: TarHeaderInit): Buffer {
  const type = init.type;
  let path = pathBytes(init.path);
  if (type === 'dir' && (path.length === 0 || path[path.length - 1] !== 0x2f)) {
    path = Buffer.concat([path, Buffer.from('/')]);
  }
  const linkpath = init.linkpath === undefined ? Buffer.alloc(0) : pathBytes(init.linkpath);
  if ((type === 'symlink' || type === 'hardlink') && linkpath.length === 0) {
    throw new TarFormatError(`${type} ${path.toString('utf8')}: missing link target`);
  }
  const size = init.size ?? 0;
  if (type !== 'file' && size !== 0)
    throw new TarFormatError(`${type} ${path.toString('utf8')}: size must be 0`);
  if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`invalid size ${size}`);
  const mode = (init.mode ?? defaultMode(type)) & 0o7777;
  const uid = init.uid ?? 0;
  const gid = init.gid ?? 0;
  const mtime = toTimespec(init.mtime);
  const uname = Buffer.from(init.uname ?? '', 'utf8');
  const gname = Buffer.from(init.gname ?? '', 'utf8');
  const devmajor = init.devmajor ?? 0;
  const devminor = init.devminor ?? 0;

  const pax = new Map<string, Uint8Array | string>();
  let name = path;
  let prefix: Buffer = Buffer.alloc(0);
  if (path.length > NAME_SIZE) {
    const split = splitUstarPath(path);
    if (split) [prefix, name] = split;
    else {
      pax.set('path', path);
      name = path.subarray(0, NAME_SIZE);
    }
  }
  let linkname = linkpath;
  if (linkpath.length > NAME_SIZE) {
    pax.set('linkpath', linkpath);
    linkname = linkpath.subarray(0, NAME_SIZE);
  }
  if (!fitsOctal(size, 12)) pax.set('size', String(size));
  if (!fitsOctal(uid, 8)) pax.set('uid', String(uid));
  if (!fitsOctal(gid, 8)) pax.set('gid', String(gid));
  if (uname.length > 32) pax.set('uname', uname);
  if (gname.length > 32) pax.set('gname', gname);
  if (mtime.nsec !== 0 || !fitsOctal(mtime.sec, 12)) pax.set('mtime', formatPaxTime(mtime));
  if (init.xattrs) for (const [k, v] of init.xattrs) pax.set(`SCHILY.xattr.${k}`, v);

  const fields: BlockFields = {
    typeflag: flagByType[type],
    name,
    prefix,
    linkname,
    mode,
    uid,
    gid,
    size,
    mtime: mtime.sec,
    uname,
    gname,
    devmajor,
    devminor,
  };
  if (pax.size === 0) {
    const out = Buffer.alloc(BLOCK_SIZE);
    encodeBlock(out, 0, fields);
    return out;
  }
  const keys = [...pax.keys()].sort();
  const body = Buffer.concat(keys.map((k) => formatPaxRecord(k, pax.get(k)!)));
  const trimmed = path[path.length - 1] === 0x2f ? path.subarray(0, -1) : path;
  const slash = trimmed.lastIndexOf(0x2f);
  const paxName = asciiOnly(
    Buffer.concat([
      slash === -1 ? Buffer.alloc(0) : trimmed.subarray(0, slash + 1),
      Buffer.from('PaxHeaders.0/'),
      trimmed.subarray(slash + 1),
    ]),
  ).subarray(0, NAME_SIZE);
  const padded = Math.ceil(body.length / BLOCK_SIZE) * BLOCK_SIZE;
  const out = Buffer.alloc(BLOCK_SIZE + padded + BLOCK_SIZE);
  encodeBlock(out, 0, {
    typeflag: 'x',
    name: paxName,
    prefix: Buffer.alloc(0),
    linkname: Buffer.alloc(0),
    mode: 0,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    uname: Buffer.alloc(0),
    gname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  });
  body.copy(out, BLOCK_SIZE);
  encodeBlock(out, BLOCK_SIZE + padded, fields);
  return out;
}

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function paddingFor(size: number): number {
  const r = size % BLOCK_SIZE;
  return r === 0 ? 0 : BLOCK_SIZE - r;
}
