/**
 * context/load — the build context of `polyarch build <context>`: which `.dockerignore`
 * applies, and a `SourceFS` view (context/view, read on demand) that COPY/ADD and the cache keys
 * read, with content digests from the persistent stat cache.
 *
 *     const ctx = await loadContext({ dir: '.', dockerfile: 'Dockerfile', statCacheDir });
 *     const key = await checksumSources(ctx.source, ['src/', 'package.json'], {});
 *     await ctx.flush();  // persist the stat cache
 *
 * The ignore file is, in BuildKit's order: an explicit `ignoreFile`; else
 * `<Dockerfile path>.dockerignore` next to the Dockerfile; else `<context>/.dockerignore`.
 * As BuildKit's local source does, every context entry is owned by 0:0 in the view.
 *
 * A context argument may also be `-` (a tar or a Dockerfile on stdin) or a URL; `parseContextArg`
 * recognises them, `loadContext` only loads directories for now.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BuildError, InvalidArgumentError, messageOf, NotFoundError, UnsupportedError } from '../errors.js';
import { parseDockerignore } from './dockerignore.js';
import { PatternMatcher } from './patternmatcher.js';
import { hashFile, hostPath, type SourceFS } from './source.js';
import { nowNs, StatCache } from './statcache.js';
import { contextView } from './view.js';

/** Where a build context comes from. */
export type ContextInput =
  | { readonly kind: 'dir'; readonly dir: string }
  /** `-`: a tar archive (the context) or a plain Dockerfile (no context) on stdin */
  | { readonly kind: 'stdin' }
  /** a remote context: a git repository or a tarball URL */
  | { readonly kind: 'url'; readonly url: string };

/** Classifies the context argument of `polyarch build` (no I/O). */
export function parseContextArg(arg: string): ContextInput {
  if (arg === '') throw new InvalidArgumentError('build context must not be empty');
  if (arg === '-') return { kind: 'stdin' };
  if (/^(https?|git|ssh):\/\//.test(arg) || /^git@[^:]+:/.test(arg) || arg.startsWith('github.com/')) {
    return { kind: 'url', url: arg };
  }
  return { kind: 'dir', dir: arg };
}

export interface LoadContextOptions {
  /** the context directory */
  dir: string;
  /** the Dockerfile in use (absolute, or relative to the working directory), for `<Dockerfile>.dockerignore` */
  dockerfile?: string;
  /** an explicit ignore file, overriding both defaults; it must exist */
  ignoreFile?: string;
  /** a directory for the persistent stat → digest cache; without it nothing is persisted */
  statCacheDir?: string;
  signal?: AbortSignal;
}

export interface HashStats {
  /** digests served from memory or the persistent stat cache */
  readonly cached: number;
  /** files actually read and hashed */
  readonly hashed: number;
  readonly hashedBytes: number;
}

export interface BuildContext {
  readonly kind: 'dir';
  /** the real path of the context directory */
  readonly dir: string;
  /** the ignore file that applied, if any */
  readonly ignoreFile: string | undefined;
  readonly ignorePatterns: readonly string[];
  /** the filtered view COPY/ADD read: ignored paths absent, everything owned by 0:0 (context/view) */
  readonly source: SourceFS;
  /** how many content digests were computed vs. reused so far */
  hashStats(): HashStats;
  /** Persists newly computed digests to the stat cache (no-op without `statCacheDir`). */
  flush(): Promise<void>;
}

/** Finds the ignore file BuildKit would use; undefined when there is none. */
export async function findIgnoreFile(
  dir: string,
  dockerfile: string | undefined,
  explicit: string | undefined,
): Promise<string | undefined> {
  if (explicit !== undefined) {
    const p = resolve(explicit);
    if (!(await isFile(p))) throw new NotFoundError(`ignore file ${explicit} not found`);
    return p;
  }
  if (dockerfile !== undefined) {
    const p = `${resolve(dockerfile)}.dockerignore`;
    if (await isFile(p)) return p;
  }
  const p = resolve(dir, '.dockerignore');
  return (await isFile(p)) ? p : undefined;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function loadContext(opts: LoadContextOptions): Promise<BuildContext> {
  let dir: string;
  try {
    dir = await realpath(resolve(opts.dir));
  } catch (err) {
    throw new NotFoundError(`build context ${opts.dir}: ${messageOf(err)}`, { cause: err });
  }
  if (!(await isDir(dir))) throw new BuildError(`build context ${dir} is not a directory`);
  const ignoreFile = await findIgnoreFile(dir, opts.dockerfile, opts.ignoreFile);
  let ignorePatterns: string[] = [];
  let matcher: PatternMatcher | undefined;
  if (ignoreFile !== undefined) {
    try {
      ignorePatterns = parseDockerignore(await readFile(ignoreFile, 'utf8'));
      matcher = ignorePatterns.length > 0 ? new PatternMatcher(ignorePatterns) : undefined;
    } catch (err) {
      throw new InvalidArgumentError(`failed parsing ${ignoreFile}: ${messageOf(err)}`, { cause: err });
    }
  }
  opts.signal?.throwIfAborted();
  const view = contextView(dir, matcher);
  const statCache =
    opts.statCacheDir !== undefined ? await StatCache.open(opts.statCacheDir, dir) : undefined;
  const hashing = new Map<string, Promise<string>>(); // in flight only
  const counts = { cached: 0, hashed: 0, hashedBytes: 0 };
  const description = `build context ${dir}`;
  const source: SourceFS = {
    description,
    root: dir,
    async lstat(path) {
      return view.lstat(path);
    },
    async readdir(path) {
      return view.readdir(path);
    },
    contentDigest(path, entry) {
      const running = hashing.get(path);
      if (running !== undefined) return running;
      const hit = statCache?.lookup(path, entry);
      if (hit !== undefined) {
        counts.cached++;
        return Promise.resolve(hit);
      }
      const p = (async () => {
        const start = nowNs();
        const hex = await hashFile(hostPath(dir, path), entry.size);
        counts.hashed++;
        counts.hashedBytes += entry.size;
        statCache?.record(path, entry, hex, start);
        return hex;
      })();
      hashing.set(path, p);
      const done = () => hashing.delete(path);
      p.then(done, done);
      return p;
    },
  };

  return {
    kind: 'dir',
    dir,
    ignoreFile,
    ignorePatterns,
    source,
    hashStats: () => ({ ...counts }),
    async flush() {
      await statCache?.save();
    },
  };
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The same as loadContext, from a classified context argument. */
export async function loadContextInput(
  input: ContextInput,
  opts: Omit<LoadContextOptions, 'dir'>,
): Promise<BuildContext> {
  switch (input.kind) {
    case 'dir':
      return loadContext({ ...opts, dir: input.dir });
    case 'stdin':
      throw new UnsupportedError('a build context from stdin (-) is not supported yet');
    case 'url':
      throw new UnsupportedError(`a remote build context (${input.url}) is not supported yet`);
  }
}
