/**
 * fileop/users — reads `/etc/passwd` and `/etc/group` of a root filesystem for `--chown`
 * names, resolving symlinks inside that root (an image's `/etc/passwd -> ../x` cannot make
 * us read the host's file).
 */
import { readFile } from 'node:fs/promises';
import { dirSource, hostPath, resolveInRoot } from '../context/source.js';
import { BuildError, messageOf } from '../errors.js';
import { type ChownSpec, type Owner, resolveChown, type UserDb } from './chown.js';

async function readInRoot(root: string, path: string): Promise<string | undefined> {
  const fs = dirSource(root);
  const real = await resolveInRoot(fs, path, true);
  const e = await fs.lstat(real);
  if (e === undefined || e.type !== 'file') return undefined;
  try {
    return await readFile(hostPath(root, real), 'utf8');
  } catch (err) {
    throw new BuildError(`reading ${path} in ${root}: ${messageOf(err)}`, { cause: err });
  }
}

export async function readUserDb(root: string): Promise<UserDb> {
  const [passwd, group] = await Promise.all([
    readInRoot(root, '/etc/passwd'),
    readInRoot(root, '/etc/group'),
  ]);
  return { passwd, group };
}

/** Resolves a --chown spec against `root`'s user database; numeric specs need no files. */
export async function resolveChownIn(spec: ChownSpec, root: string): Promise<Owner> {
  const needsDb = !('id' in spec.user) || (spec.group !== undefined && !('id' in spec.group));
  const db: UserDb = needsDb ? await readUserDb(root) : { passwd: undefined, group: undefined };
  return resolveChown(spec, db, root);
}
