/**
 * dirs — listing a directory that may not exist, synchronously: the stores' directories hold
 * names only, and reading them through node:fs/promises would wait on the thread pool for each
 * (and load that module, which `du` and `images` otherwise do without).
 */
import { readdirSync } from 'node:fs';

/** The names in `dir`, or none when it does not exist or cannot be read. */
export function readdirOrNone(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
