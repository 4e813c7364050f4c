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

/** Runs `fn` over `items` with at most `limit` in flight, keeping results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const hashConcurrency = 16;

/**
 * The digest of everything `sources` select in `fs`. Throws NotFoundError
 * (`"/missing.txt": not found`) for a missing literal source, as BuildKit does when it
 * computes the cache key.
 */
export async function checksumSources(
  fs: SourceFS,
  sources: readonly string[],
  opts: ChecksumOptions = {},
): Promise<Digest> {
  const selected = await selectSources(fs, sources, opts);
  const lines: string[] = [];
  const files: { index: number; path: string; entry: SourceEntry }[] = [];
  for (const s of selected) {
    // only what is selected counts: `app` and `app/`, or `*.json` and `pkg.json` when they
    // select the same files, copy the same thing
    lines.push('source');
    for (const m of s.matches) {
      lines.push(`match ${JSON.stringify(m.path)} ${JSON.stringify(m.name)}`);
      for await (const item of walkMatch(fs, m, s.include, s.exclude)) {
        if (item.entry.type === 'file')
          files.push({ index: lines.length, path: item.path, entry: item.entry });
        lines.push(`${JSON.stringify(item.rel)} ${entryHeader(item.entry)}`);
      }
    }
  }
  const digests = await mapLimit(files, hashConcurrency, (f) => fs.contentDigest(f.path, f.entry));
  files.forEach((f, i) => {
    lines[f.index] += ` ${digests[i]}`;
  });
  const h = createHash('sha256');
  h.update('polyarch/copy-sources/v1\n');
  for (const line of lines) h.update(`${line}\n`);
  return `sha256:${h.digest('hex')}` as Digest;
}
