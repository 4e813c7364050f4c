/**
 * fileop/chown — `COPY --chown=<user>[:<group>]`: parsing (as BuildKit's `llb.WithUser`) and
 * resolution against a root filesystem's `/etc/passwd` and `/etc/group` text. Pure; reading
 * the files is `users.ts`.
 *
 *     parseChown('1000')          → user #1000, group defaults to 1000
 *     parseChown('app')           → user "app", group defaults to app's primary group
 *     parseChown('app:staff')     → user "app", group "staff"
 *     parseChown('app:')          → as 'app' (BuildKit today picks group 0 here, a known bug:
 *                                   moby/buildkit#3555; we use the primary group)
 *
 * A name that is not in the file is an error that names it (BuildKit silently uses 0; an
 * explicit error is kinder), except `root`, which is 0 even without an `/etc/passwd`. The
 * files are parsed as runc parses them (`executor/user`), as BuildKit's file op does.
 */
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { parseGroup, parsePasswd, type UserDb } from '../executor/user.js';

export type IdOrName = { readonly id: number } | { readonly name: string };

export interface ChownSpec {
  readonly user: IdOrName;
  readonly group: IdOrName | undefined;
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

const maxId = 0xffffffff;

function idOrName(s: string): IdOrName {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n <= maxId) return { id: n };
  }
  return { name: s };
}

export function parseChown(s: string): ChownSpec {
  if (s === '') throw new InvalidArgumentError('invalid --chown value: empty');
  const i = s.indexOf(':');
  const user = i < 0 ? s : s.slice(0, i);
  const group = i < 0 ? '' : s.slice(i + 1);
  return {
    user: user === '' ? { id: 0 } : idOrName(user),
    group: group === '' ? undefined : idOrName(group),
  };
}

export type { UserDb } from '../executor/user.js';

/** Resolves a --chown spec to numbers; `where` names the root filesystem for errors. */
export function resolveChown(spec: ChownSpec, db: UserDb, where = 'the destination'): Owner {
  let uid: number;
  let gid: number;
  if ('id' in spec.user) {
    uid = spec.user.id;
    gid = spec.user.id;
  } else {
    const name = spec.user.name;
    const u = parsePasswd(db.passwd ?? '').find((e) => e.name === name);
    if (u !== undefined) {
      uid = u.uid;
      gid = u.gid;
    } else if (name === 'root') {
      uid = 0;
      gid = 0;
    } else {
      throw new NotFoundError(
        `unable to find user ${name}: ${db.passwd === undefined ? `no /etc/passwd in ${where}` : `no matching entries in /etc/passwd of ${where}`}`,
      );
    }
  }
  if (spec.group !== undefined) {
    if ('id' in spec.group) gid = spec.group.id;
    else {
      const name = spec.group.name;
      const g = parseGroup(db.group ?? '').find((e) => e.name === name);
      if (g !== undefined) gid = g.gid;
      else if (name === 'root') gid = 0;
      else {
        throw new NotFoundError(
          `unable to find group ${name}: ${db.group === undefined ? `no /etc/group in ${where}` : `no matching entries in /etc/group of ${where}`}`,
        );
      }
    }
  }
  return { uid, gid };
}
