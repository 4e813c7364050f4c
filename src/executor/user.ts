/**
 * executor/user — resolve a `USER` value (`name`, `uid`, `name:group`, `uid:gid`, …) to the uid,
 * gid and supplementary gids the process runs with, against the root filesystem's /etc/passwd
 * and /etc/group.
 *
 * The rules are BuildKit's `oci.GetUser` over runc's `user.GetExecUser`:
 *  - `uid:gid` with both numeric (or `root`) is taken as is, without reading any file;
 *  - otherwise the user is looked up by name, or by uid when numeric (a numeric uid without an
 *    entry is fine, a name without one is an error); its primary gid comes from passwd;
 *  - an explicit `:group` is looked up by name or gid (a numeric gid without an entry is fine);
 *  - without an explicit group, the groups that list the user as a member become the
 *    supplementary groups;
 *  - an empty user means root, and never fails.
 * The primary gid always leads the additional gids (containerd's `ensureAdditionalGids`).
 *
 * Parsing and resolution are pure; `readExecUser` does the file reading.
 */
import { readFileSync } from 'node:fs';
import { ExecError, messageOf } from '../errors.js';
import { resolveInRoot } from './rootpath.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The identity a process runs with. */
export interface ExecUser {
  uid: number;
  gid: number;
  /** supplementary groups, the primary gid first */
  additionalGids: number[];
  /** the home directory from passwd, `/` when unknown */
  home: string;
}

const maxId = 2 ** 31 - 1;

/** runc parses numeric fields with Atoi and keeps 0 on failure. */
function atoi(s: string | undefined): number {
  if (s === undefined || !/^[+-]?\d+$/.test(s.trim())) return 0;
  return Number.parseInt(s.trim(), 10);
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(':'));
}

/** /etc/passwd: `name:password:uid:gid:gecos:home:shell`. */
export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    uid: atoi(f[2]),
    gid: atoi(f[3]),
    home: f[5] ?? '',
    shell: f[6] ?? '',
  }));
}

/** /etc/group: `name:password:gid:member,member`. */
export function parseGroup(text: string): GroupEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    gid: atoi(f[2]),
    members: (f[3] ?? '').split(',').filter((m) => m !== ''),
  }));
}

/** A numeric id or `root`, as BuildKit's fast path reads it; undefined otherwise. */
function fastId(s: string): number | undefined {
  if (s === 'root') return 0;
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

function numeric(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : undefined;
}

function withPrimary(gid: number, sgids: readonly number[]): number[] {
  return sgids.includes(gid) ? [...sgids] : [gid, ...sgids];
}

/**
 * Resolves `spec` (a USER value) against parsed passwd and group files; `undefined` files are
 * missing ones. Throws an Error whose message is runc's (`unable to find user x: …`).
 */
export function resolveUser(
  spec: string,
  passwd: readonly PasswdEntry[] | undefined,
  group: readonly GroupEntry[] | undefined,
): ExecUser {
  const isDefault = spec === '';
  const value = isDefault ? '0' : spec;
  const colon = value.indexOf(':');
  if (colon >= 0) {
    const uid = fastId(value.slice(0, colon));
    const gid = fastId(value.slice(colon + 1));
    if (uid !== undefined && gid !== undefined) {
      return { uid, gid, additionalGids: [gid], home: homeOf(uid, passwd) };
    }
  }
  try {
    const u = execUser(value, passwd, group);
    return { ...u, additionalGids: withPrimary(u.gid, u.additionalGids) };
  } catch (err) {
    if (isDefault) return { uid: 0, gid: 0, additionalGids: [0], home: '/' };
    throw err;
  }
}

function homeOf(uid: number, passwd: readonly PasswdEntry[] | undefined): string {
  return passwd?.find((p) => p.uid === uid)?.home || '/';
}

/** runc's `user.GetExecUser` with defaults uid 0, gid 0, home `/`. */
function execUser(
  value: string,
  passwd: readonly PasswdEntry[] | undefined,
  group: readonly GroupEntry[] | undefined,
): ExecUser {
  const colon = value.indexOf(':');
  const userArg = colon >= 0 ? value.slice(0, colon) : value;
  const groupArg = colon >= 0 ? value.slice(colon + 1) : '';
  const uidArg = numeric(userArg);
  const gidArg = numeric(groupArg);
  const out: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };

  const matched = (passwd ?? []).find((u) => (uidArg === undefined ? u.name === userArg : u.uid === uidArg));
  let matchedName = '';
  if (matched) {
    matchedName = matched.name;
    out.uid = matched.uid;
    out.gid = matched.gid;
    out.home = matched.home;
  } else if (userArg !== '') {
    if (uidArg === undefined) {
      throw new Error(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
    if (uidArg < 0 || uidArg > maxId) throw new Error(`uid ${uidArg} is out of range`);
    out.uid = uidArg;
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = (group ?? []).filter((g) => {
      if (groupArg === '') return g.members.includes(matchedName);
      return gidArg !== undefined ? g.gid === gidArg : g.name === groupArg;
    });
    if (groupArg !== '') {
      if (groups.length > 0) out.gid = groups[0]!.gid;
      else {
        if (gidArg === undefined) {
          throw new Error(`unable to find group ${groupArg}: no matching entries in group file`);
        }
        if (gidArg < 0 || gidArg > maxId) throw new Error(`gid ${gidArg} is out of range`);
        out.gid = gidArg;
      }
    } else {
      out.additionalGids = groups.map((g) => g.gid);
    }
  }
  return out;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The text of a root filesystem's user database files. */
export interface UserDb {
  /** `/etc/passwd` text, undefined when the file is missing */
  readonly passwd: string | undefined;
  /** `/etc/group` text, undefined when the file is missing */
  readonly group: string | undefined;
}

/** Reads `<rootfs>/etc/passwd` and `<rootfs>/etc/group` (symlinks kept inside the root). */
export function readUserDb(rootfs: string): UserDb {
  return {
    passwd: readOptional(resolveInRoot(rootfs, '/etc/passwd')),
    group: readOptional(resolveInRoot(rootfs, '/etc/group')),
  };
}

/** Resolves `spec` against `<rootfs>/etc/passwd` and `<rootfs>/etc/group` (symlinks kept inside). */
export function readExecUser(rootfs: string, spec: string): ExecUser {
  try {
    const colon = spec.indexOf(':');
    if (
      colon >= 0 &&
      fastId(spec.slice(0, colon)) !== undefined &&
      fastId(spec.slice(colon + 1)) !== undefined
    ) {
      return resolveUser(spec, undefined, undefined); // uid:gid needs no file
    }
    const { passwd, group } = readUserDb(rootfs);
    return resolveUser(
      spec,
      passwd === undefined ? undefined : parsePasswd(passwd),
      group === undefined ? undefined : parseGroup(group),
    );
  } catch (err) {
    throw new ExecError(`resolving user "${spec}": ${messageOf(err)}`, { cause: err });
  }
}
