/**
 * smallfiles — the stores' small metadata reads, synchronous: a directory that holds names
 * only, a lock or lease file of a few bytes. Each costs microseconds; through node:fs/promises
 * each would wait for a turn of the thread pool (and load that module, which `ls`, `images`
 * and `du` otherwise do without).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The names in `dir`, or none when it does not exist or cannot be read. */
export function readdirOrNone(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A small file's text, or '' when it cannot be read (removed meanwhile by its owner). */
export function readFileOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
