/**
 * context/statcache — a persistent map from a context file's stat to its content digest, so
 * that a rebuild hashes only the files that changed (the same idea as git's index).
 *
 * One file per context directory in a caller-given cache directory, keyed by the context's
 * real path: a header line, then a line per file (`size:mtimeNs:ino:ctimeNs:sha256hex`, a tab,
 * the path with `\` and newlines escaped) — lines, not one JSON object, so that 100,000 files
 * are read without building a 100,000-property object on the way. An entry is trusted when size, mtime (ns), inode and ctime (ns) are
 * all unchanged. Entries whose mtime or ctime were too close to the moment of hashing are
 * not persisted ("racily clean" in git's words): a write in the same clock tick could have
 * changed the content without changing the times. The file is replaced atomically.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../durable.js';
import { messageOf, StoreError } from '../errors.js';

/** The stat fields that decide whether a cached digest is still valid. */
export interface StatKey {
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
}

const magic = 'polyarch-statcache-v2';

const escapePath = (p: string) => p.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const unescapePath = (p: string) =>
  p.includes('\\') ? p.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : p;

/** The entries of a cache file for `context`; empty when it is another's, old or unreadable. */
function parseCacheFile(text: string, context: string): Map<string, string> {
  const entries = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[0] !== `${magic} ${JSON.stringify(context)}`) return entries;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const tab = line.indexOf('\t');
    if (tab > 0) entries.set(unescapePath(line.slice(tab + 1)), line.slice(0, tab));
  }
  return entries;
}

const fineMarginNs = 50_000_000n; // a few clock ticks of a nanosecond filesystem
const coarseMarginNs = 2_000_000_000n; // filesystems with 1 s or 2 s timestamps

function encodeKey(k: StatKey): string {
  return `${k.size}:${k.mtimeNs}:${k.ino}:${k.ctimeNs}`;
}

/** The current time in ns since the epoch, comparable with file times. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * True when a digest computed at `hashStartNs` for a file with these times may be persisted:
 * both times are safely older than the moment hashing began.
 */
export function safeToPersist(k: StatKey, hashStartNs: bigint): boolean {
  const coarse = k.mtimeNs % 1_000_000_000n === 0n && k.ctimeNs % 1_000_000_000n === 0n;
  const limit = hashStartNs - (coarse ? coarseMarginNs : fineMarginNs);
  return k.mtimeNs < limit && k.ctimeNs < limit;
}

export class StatCache {
  private readonly file: string;
  private readonly context: string;
  private readonly loaded: Map<string, string>;
  private readonly fresh = new Map<string, string>();
  private dirty = false;

  private constructor(file: string, context: string, loaded: Map<string, string>) {
    this.file = file;
    this.context = context;
    this.loaded = loaded;
  }

  /** Opens (or starts) the cache of `contextDir` in `cacheDir`; an unreadable file is ignored. */
  static async open(cacheDir: string, contextDir: string): Promise<StatCache> {
    const name = createHash('sha256').update(contextDir).digest('hex').slice(0, 32);
    const file = join(cacheDir, `context-${name}.stat`);
    let loaded = new Map<string, string>();
    try {
      loaded = parseCacheFile(await readFile(file, 'utf8'), contextDir);
    } catch {
      // missing or unreadable: start empty (a cache, not a source of truth)
    }
    return new StatCache(file, contextDir, loaded);
  }

  /** The cached sha256 hex for `path` if its stat is unchanged. */
  lookup(path: string, key: StatKey): string | undefined {
    const v = this.fresh.get(path) ?? this.loaded.get(path);
    if (v === undefined) return undefined;
    const i = v.lastIndexOf(':');
    return v.slice(0, i) === encodeKey(key) ? v.slice(i + 1) : undefined;
  }

  /** Remembers a digest computed at `hashStartNs` (see `safeToPersist`). */
  record(path: string, key: StatKey, hex: string, hashStartNs: bigint): void {
    if (!safeToPersist(key, hashStartNs)) return;
    this.fresh.set(path, `${encodeKey(key)}:${hex}`);
    this.dirty = true;
  }

  /**
   * Writes the cache when something new was recorded. Entries for paths that `keep` rejects
   * (files no longer in the context) are dropped.
   */
  async save(keep: (path: string) => boolean): Promise<void> {
    if (!this.dirty) return;
    const lines = [`${magic} ${JSON.stringify(this.context)}`];
    for (const [k, v] of this.loaded) if (!this.fresh.has(k) && keep(k)) lines.push(`${v}\t${escapePath(k)}`);
    for (const [k, v] of this.fresh) if (keep(k)) lines.push(`${v}\t${escapePath(k)}`);
    try {
      await mkdir(join(this.file, '..'), { recursive: true });
      await writeFileDurably(this.file, `${lines.join('\n')}\n`);
      this.dirty = false;
      // the JSON file of the previous format, replaced by this one
      await rm(this.file.replace(/\.stat$/, '.json'), { force: true });
    } catch (err) {
      throw new StoreError(`saving the context stat cache ${this.file}: ${messageOf(err)}`, { cause: err });
    }
  }
}
