/**
 * context/checksum — the content part of a COPY/ADD cache key: one digest over what the
 * sources select, with BuildKit's contenthash semantics where they matter:
 *
 * - a file counts by its content, type and permission bits (and owner, which is 0:0 for the
 *   build context), never by mtime, atime or ctime;
 * - a directory counts by its whole selected tree (names, and each entry as above);
 * - a symlink counts by its target string, unless it is followed as a named source;
 * - the selection rules (wildcards, exclude, parents) are those of the copy, so a change to an
 *   excluded or ignored file does not change the key.
 *
 *     const d = await checksumSources(ctx.source, ['src/', '*.json'], { exclude: ['*.md'] });
 *
 * File contents are hashed through `SourceFS.contentDigest`, which the build context backs
 * with its persistent stat cache; several files are read at once.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../oci/digest.js';
import { type SelectOptions, selectSources, walkMatch } from './select.js';
import { permBits, type SourceEntry, type SourceFS } from './source.js';

export type ChecksumOptions = SelectOptions;

const typeChar: Record<SourceEntry['type'], string> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  fifo: 'p',
  char: 'c',
  block: 'b',
  socket: 's',
};

/** The metadata of one entry that a copy carries over (not its times). */
export function entryHeader(e: SourceEntry): string {
  const parts = [
    `${typeChar[e.type]}${(e.mode & permBits).toString(8).padStart(4, '0')}`,
    `${e.uid}:${e.gid}`,
  ];
  if (e.type === 'file') parts.push(String(e.size));
  if (e.type === 'symlink') parts.push(JSON.stringify(e.linkTarget ?? ''));
  if (e.type === 'char' || e.type === 'block') parts.push(String(e.rdev));
  return parts.join(' ');
}

/** How many lines (and so file reads) may wait to be hashed in order. */
const window = 32;

/**
 * The digest of everything `sources` select in `fs`. Throws NotFoundError
 * (`"/missing.txt": not found`) for a missing literal source, as BuildKit does when it
 * computes the cache key.
 *
 * Streamed: the lines are hashed in walk order as soon as the files before them are, with at
 * most `window` waiting, so memory stays flat whatever the number of files.
 */
export async function checksumSources(
  fs: SourceFS,
  sources: readonly string[],
  opts: ChecksumOptions = {},
): Promise<Digest> {
  const selected = await selectSources(fs, sources, opts);
  const h = createHash('sha256');
  h.update('polyarch/copy-sources/v1\n');
  const queue: Promise<string>[] = [];
  const add = async (line: string | Promise<string>) => {
    const p = Promise.resolve(line);
    p.catch(() => {}); // a failed read is thrown where it is awaited, in order
    queue.push(p);
    if (queue.length > window) h.update(`${await queue.shift()}\n`);
  };
  for (const s of selected) {
    // only what is selected counts: `app` and `app/`, or `*.json` and `pkg.json` when they
    // select the same files, copy the same thing
    await add('source');
    for (const m of s.matches) {
      await add(`match ${JSON.stringify(m.path)} ${JSON.stringify(m.name)}`);
      for await (const item of walkMatch(fs, m, s.include, s.exclude)) {
        const line = `${JSON.stringify(item.rel)} ${entryHeader(item.entry)}`;
        await add(
          item.entry.type === 'file'
            ? fs.contentDigest(item.path, item.entry).then((d) => `${line} ${d}`)
            : line,
        );
      }
    }
  }
  for (const line of queue) h.update(`${await line}\n`);
  return `sha256:${h.digest('hex')}` as Digest;
}
