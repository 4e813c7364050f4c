/**
 * worker/root — the home and root directories of the process a command runs in (`--root`,
 * `$POLYARCH_ROOT`, then the defaults of content/root). Apart from worker/worker so that what
 * only needs the root (`ls`, `images`, `du`) does not load the worker's stores, executor and
 * compression pool.
 */
import { homedir } from 'node:os';
import { resolveRootDir } from '../content/root.js';

/** The home directory whose ~/.docker and XDG directories a command uses. */
export function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

/** The root directory, resolved the way every command does (`--root`, `$POLYARCH_ROOT`, defaults). */
export function polyarchRoot(flag: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return resolveRootDir({
    ...(flag ? { flag } : {}),
    env,
    uid: process.getuid?.() ?? 0,
    home: homeOf(env),
    cwd,
  });
}
