/**
 * content/root — where polyarch keeps its state: the root directory and the parts under it.
 *
 *     --root DIR  >  $POLYARCH_ROOT  >  /var/lib/polyarch (as root)
 *                                     >  $XDG_DATA_HOME/polyarch  >  ~/.local/share/polyarch
 *
 * Under the root: `content/` (this package's OCI layout), `snapshots/`, `cache/`, `builders/`
 * (owned by other parts). Pure: the environment comes in as arguments.
 */
import { join, resolve } from 'node:path';

export interface RootDirInputs {
  /** the `--root` flag, when given */
  flag?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** effective uid (process.getuid()) */
  uid: number;
  /** the home directory (os.homedir()) */
  home: string;
  /** resolves relative paths (process.cwd()) */
  cwd?: string;
}

/** The root directory, absolute. */
export function resolveRootDir(inputs: RootDirInputs): string {
  const cwd = inputs.cwd ?? '/';
  if (inputs.flag) return resolve(cwd, inputs.flag);
  const fromEnv = inputs.env['POLYARCH_ROOT'];
  if (fromEnv) return resolve(cwd, fromEnv);
  if (inputs.uid === 0) return '/var/lib/polyarch';
  const xdg = inputs.env['XDG_DATA_HOME'];
  if (xdg?.startsWith('/')) return join(xdg, 'polyarch');
  return join(inputs.home, '.local', 'share', 'polyarch');
}

/** The directories of a root. */
export function rootLayout(root: string): {
  content: string;
  snapshots: string;
  cache: string;
  builders: string;
} {
  return {
    content: join(root, 'content'),
    snapshots: join(root, 'snapshots'),
    cache: join(root, 'cache'),
    builders: join(root, 'builders'),
  };
}
