/**
 * context/statcache — a persistent map from a context file's stat to its content digest, so
 * that a rebuild hashes only the files that changed (the same idea as git's index).
 *
 * One file per context directory in a caller-given cache directory, keyed by the context's
 * real path: a header line, then a line per file (`size:mtimeNs:ino:ctimeNs:sha256hex`, a tab,
 * the path escaped as in `linefile`), in walk order (`comparePreorder`). The file is never
 * held in memory: lookups come in walk order (a checksum walks the context in that order), so
 * a few cursors read it forward alongside them (one per interleaved walk: several COPYs or
 * platforms at once); a lookup behind every cursor starts one from the top. Digests computed
 * in this run go to a journal file beside it (the last few also stay in memory) until `save`
 * merges them into a new file in one pass; a journal that a killed build left is removed by
 * the next `open`.
 *
 * An entry is trusted when size, mtime (ns), inode and ctime (ns) are all unchanged. Entries
 * whose mtime or ctime were too close to the moment of hashing are not persisted ("racily
 * clean" in git's words): a write in the same clock tick could have changed the content
 * without changing the times. The file is replaced atomically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { writeStreamDurably } from '../durable.js';
import { messageOf, StoreError } from '../errors.js';
import { processAlive } from '../proc.js';
import { comparePreorder, escapePath, LineReader, LineWriter, unescapePath } from './linefile.js';

/** The stat fields that decide whether a cached digest is still valid. */
export interface StatKey {
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
}

const magic = 'polyarch-statcache-v3';

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

interface Entry {
  /** `size:mtimeNs:ino:ctimeNs:hex` */
  readonly value: string;
  readonly path: string;
}

function parseEntry(line: string): Entry | undefined {
  const tab = line.indexOf('\t');
  return tab > 0 ? { value: line.slice(0, tab), path: unescapePath(line.slice(tab + 1)) } : undefined;
}

/** What this run learnt of each line of the file: looked up, or passed over by a walk. */
class LineStates {
  private states = new Uint8Array(1024);

  /** A walk looked the line's path up. */
  hit(i: number): void {
    this.grow(i);
    this.states[i] = 1;
  }

  /** A walk went past the line's path without looking it up: the file left the context. */
  passed(i: number): void {
    this.grow(i);
    if (this.states[i] === 0) this.states[i] = 2;
  }

  gone(i: number): boolean {
    return i < this.states.length && this.states[i] === 2;
  }

  private grow(i: number): void {
    if (i < this.states.length) return;
    let n = this.states.length;
    while (n <= i) n *= 2;
    const next = new Uint8Array(n);
    next.set(this.states);
    this.states = next;
  }
}

/** Reads the entries of a cache file forward; undefined `current` at the end. */
class Cursor {
  private readonly reader: LineReader;
  current: Entry | undefined;
  /** the path of the last entry once the cursor is at the end (undefined: the file had none) */
  last: string | undefined;
  /** the entry number of `current` */
  index = -1;
  private started = false;

  constructor(file: string, header: string) {
    this.reader = new LineReader(file);
    if (this.reader.next() !== header) this.reader.close(); // another's, old or unreadable
    this.advance();
  }

  advance(): void {
    for (let line = this.reader.next(); line !== undefined; line = this.reader.next()) {
      const e = parseEntry(line);
      if (e !== undefined) {
        this.current = e;
        this.index++;
        return;
      }
    }
    if (this.current !== undefined) this.last = this.current.path;
    this.current = undefined;
  }

  /** Can this cursor answer for `path` (is it not past it)? */
  serves(path: string): boolean {
    const at = this.current?.path ?? this.last;
    return at === undefined || comparePreorder(at, path) <= 0;
  }

  /** How far along the cursor is, to choose the closest one. */
  get position(): string {
    return this.current?.path ?? this.last ?? '';
  }

  /**
   * The entry for `path` if it is at or ahead of this cursor, moving up to it; what it goes
   * past after its first lookup is marked passed (a walk between two of its files skipped it).
   */
  seek(path: string, states: LineStates): Entry | undefined {
    while (this.current !== undefined && comparePreorder(this.current.path, path) < 0) {
      if (this.started) states.passed(this.index);
      this.advance();
    }
    this.started = true;
    if (this.current?.path !== path) return undefined;
    states.hit(this.index);
    return this.current;
  }

  close(): void {
    this.reader.close();
  }
}

/** Entries in walk order, read forward. */
interface EntryStream {
  readonly current: Entry | undefined;
  advance(): void;
  close(): void;
}

/** Sorted entries in memory. */
class ArrayStream implements EntryStream {
  private i = 0;
  constructor(private readonly entries: readonly Entry[]) {}
  get current(): Entry | undefined {
    return this.entries[this.i];
  }
  advance(): void {
    this.i++;
  }
  close(): void {}
}

/** How many of this run's digests stay in memory for a second lookup (several platforms' walks). */
const recentKept = 4096;

/**
 * The digests computed in this run: appended to a journal file as they come (for one walk,
 * in walk order), the last few also in memory. Read back in walk order for `save`.
 */
class Journal {
  private writer: LineWriter | undefined;
  private readonly recent = new Map<string, string>();
  private last: string | undefined;
  private sorted = true;
  private broken = false;
  size = 0;

  constructor(
    readonly file: string,
    private readonly header: string,
  ) {}

  add(path: string, value: string): void {
    if (this.broken) return;
    try {
      if (this.writer === undefined) {
        mkdirSync(dirname(this.file), { recursive: true });
        this.writer = new LineWriter(this.file);
        this.writer.write(this.header);
      }
      this.writer.write(`${value}\t${escapePath(path)}`);
    } catch {
      this.broken = true; // a cache, not a source of truth: nothing is persisted this time
      return;
    }
    if (this.last !== undefined && comparePreorder(this.last, path) >= 0) this.sorted = false;
    this.last = path;
    this.size++;
    this.recent.delete(path);
    this.recent.set(path, value);
    if (this.recent.size > recentKept) this.recent.delete(this.recent.keys().next().value!);
  }

  get(path: string): string | undefined {
    return this.recent.get(path);
  }

  /** True when the journal could not be written. */
  get failed(): boolean {
    return this.broken;
  }

  /** The journal in walk order, one entry per path (the last recorded wins). */
  read(): EntryStream {
    this.writer?.close();
    this.writer = undefined;
    const stream = new Cursor(this.file, this.header);
    if (this.sorted) return stream;
    const all: Entry[] = [];
    for (; stream.current !== undefined; stream.advance()) all.push(stream.current);
    stream.close();
    const order = all.map((e, i) => ({ e, i }));
    order.sort((a, b) => comparePreorder(a.e.path, b.e.path) || b.i - a.i);
    return new ArrayStream(
      order.filter((x, k) => k === 0 || order[k - 1]!.e.path !== x.e.path).map((x) => x.e),
    );
  }

  async discard(): Promise<void> {
    this.writer?.close();
    this.writer = undefined;
    this.recent.clear();
    this.size = 0;
    this.last = undefined;
    this.sorted = true;
    await rm(this.file, { force: true });
  }
}

/** Removes the journals of `file` that processes no longer running left (killed builds). */
async function removeDeadJournals(file: string): Promise<void> {
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return; // no cache directory yet
  }
  for (const n of names) {
    const m = n.startsWith(prefix) ? /^(\d+)-[0-9a-f]+\.journal$/.exec(n.slice(prefix.length)) : null;
    if (m !== null && !processAlive(Number(m[1]))) await rm(join(dirname(file), n), { force: true });
  }
}

/** Cursors kept at once: one per walk that runs at the same time, within reason. */
const maxCursors = 8;

export class StatCache {
  private readonly file: string;
  private readonly header: string;
  private cursors: Cursor[] = [];
  private readonly states = new LineStates();
  private readonly fresh: Journal;

  private constructor(file: string, header: string) {
    this.file = file;
    this.header = header;
    this.fresh = new Journal(`${file}.${process.pid}-${randomBytes(4).toString('hex')}.journal`, header);
  }

  /** Opens (or starts) the cache of `contextDir` in `cacheDir`; an unreadable file is ignored. */
  static async open(cacheDir: string, contextDir: string): Promise<StatCache> {
    const name = createHash('sha256').update(contextDir).digest('hex').slice(0, 32);
    const file = join(cacheDir, `context-${name}.stat`);
    await removeDeadJournals(file);
    return new StatCache(file, `${magic} ${JSON.stringify(contextDir)}`);
  }

  /** The cached sha256 hex for `path` if its stat is unchanged. */
  lookup(path: string, key: StatKey): string | undefined {
    const v = this.fresh.get(path) ?? this.persisted(path);
    if (v === undefined) return undefined;
    const i = v.lastIndexOf(':');
    return v.slice(0, i) === encodeKey(key) ? v.slice(i + 1) : undefined;
  }

  /** The persisted value for `path`, read with the cursor furthest along that is not past it. */
  private persisted(path: string): string | undefined {
    let best: Cursor | undefined;
    for (const c of this.cursors) {
      if (!c.serves(path)) continue;
      if (best === undefined || comparePreorder(c.position, best.position) > 0) best = c;
    }
    if (best === undefined) {
      if (this.cursors.length >= maxCursors) this.cursors.shift()!.close();
      best = new Cursor(this.file, this.header);
      this.cursors.push(best);
    }
    return best.seek(path, this.states)?.value;
  }

  /** Remembers a digest computed at `hashStartNs` (see `safeToPersist`). */
  record(path: string, key: StatKey, hex: string, hashStartNs: bigint): void {
    if (!safeToPersist(key, hashStartNs)) return;
    const value = `${encodeKey(key)}:${hex}`;
    this.fresh.add(path, value);
  }

  /**
   * Writes the cache when something new was recorded: the old entries merged with the new
   * ones, in walk order. Dropped: entries a walk went past (files no longer in the context)
   * and those for paths that `keep` rejects.
   */
  async save(keep: (path: string) => boolean = () => true): Promise<void> {
    if (this.fresh.size === 0 || this.fresh.failed) {
      await this.fresh.discard();
      return;
    }
    for (const c of this.cursors) c.close();
    this.cursors = [];
    const old = new Cursor(this.file, this.header);
    const fresh = this.fresh.read();
    try {
      await mkdir(join(this.file, '..'), { recursive: true });
      await writeStreamDurably(this.file, (out) => this.merge(old, fresh, keep, out));
      // the JSON file of an old format, replaced by this one
      await rm(this.file.replace(/\.stat$/, '.json'), { force: true });
    } catch (err) {
      throw new StoreError(`saving the context stat cache ${this.file}: ${messageOf(err)}`, { cause: err });
    } finally {
      old.close();
      fresh.close();
      await this.fresh.discard();
    }
  }

  private async merge(
    old: Cursor,
    fresh: EntryStream,
    keep: (path: string) => boolean,
    out: Writable,
  ): Promise<void> {
    let chunk = `${this.header}\n`;
    const put = async (e: Entry) => {
      if (!keep(e.path)) return;
      chunk += `${e.value}\t${escapePath(e.path)}\n`;
      if (chunk.length < 64 * 1024) return;
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    };
    for (; old.current !== undefined; old.advance()) {
      const o = old.current;
      let c = -1;
      for (; fresh.current !== undefined; fresh.advance()) {
        c = comparePreorder(fresh.current.path, o.path);
        if (c > 0) break;
        await put(fresh.current);
        if (c === 0) {
          fresh.advance();
          break;
        }
      }
      if (c !== 0 && !this.states.gone(old.index)) await put(o);
    }
    for (; fresh.current !== undefined; fresh.advance()) await put(fresh.current);
    out.end(chunk);
  }
}
