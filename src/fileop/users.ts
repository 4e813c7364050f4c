/**
 * fileop/users — resolves a `--chown` spec against a root filesystem's `/etc/passwd` and
 * `/etc/group`, read as a container process's user is (`executor/user`: symlinks resolved
 * inside that root, so an image's `/etc/passwd -> ../x` cannot make us read the host's file).
 */
import { BuildError, messageOf } from '../errors.js';
import { readUserDb, type UserDb } from '../executor/user.js';
import { type ChownSpec, type Owner, resolveChown } from './chown.js';

/** Resolves a --chown spec against `root`'s user database; numeric specs need no files. */
export async function resolveChownIn(spec: ChownSpec, root: string): Promise<Owner> {
  const needsDb = !('id' in spec.user) || (spec.group !== undefined && !('id' in spec.group));
  let db: UserDb = { passwd: undefined, group: undefined };
  if (needsDb) {
    try {
      db = readUserDb(root);
    } catch (err) {
      throw new BuildError(`reading the users and groups of ${root}: ${messageOf(err)}`, { cause: err });
    }
  }
  return resolveChown(spec, db, root);
}
