/**
 * context/select — which files a COPY/ADD source selects, with BuildKit's rules (the
 * fsutil `copy` package and dockerfile2llb's dispatchCopy). Both the copy itself and the
 * cache-key checksum walk this selection, so the key covers exactly what is copied.
 *
 * - A source is a path inside the source root; it is cleaned and cannot leave the root.
 * - Wildcards (`*`, `?`, `[…]`, Go `filepath.Match` syntax, `**` not special) may appear in
 *   any component; the part before the first wildcard component is resolved, the rest is
 *   matched component by component. A wildcard that matches nothing selects nothing.
 * - With `followSymlinks` (the Dockerfile default) a symlink named as a source, or matched by
 *   a wildcard, is followed inside the root; symlinks inside copied directories never are.
 * - `exclude` patterns (`COPY --exclude`, patternmatcher syntax) apply to paths relative to
 *   each matched source; a file (not a directory) that a wildcard matched is also left out
 *   when its path relative to the wildcard's directory matches.
 * - `parents` (`COPY --parents`): `a/b/./c/d` copies `c/d` keeping that path under the
 *   destination, from the pivot `a/b` (without `/./` the whole path is kept, from `/`); the
 *   kept part may use patternmatcher syntax (`**`).
 */
import { NotFoundError } from '../errors.js';
import {
  BadPatternError,
  cleanPath,
  containsWildcards,
  emptyMatchInfo,
  exceptionsMayMatchUnder,
  goMatch,
  type MatchInfo,
  PatternMatcher,
} from './patternmatcher.js';
import { childPath, resolveInRoot, type SourceEntry, type SourceFS } from './source.js';

export interface SelectOptions {
  /** follow a symlink named as a source (default true, as Dockerfile COPY/ADD do) */
  followSymlinks?: boolean;
  /** `--exclude` patterns */
  exclude?: readonly string[];
  /** `--parents` */
  parents?: boolean;
}

/** One path a source resolved to. */
export interface SelectedMatch {
  /** the matched path before a final symlink was followed (`/src/link`) */
  readonly path: string;
  /** where it resolved to inside the root (`/data/real`) */
  readonly real: string;
  readonly entry: SourceEntry;
  /** the name it takes inside a destination directory (the base of `path`) */
  readonly name: string;
}

export interface SelectedSource {
  /** the source as written */
  readonly spec: string;
  /** true when the spec contained wildcards (several or no matches are fine) */
  readonly wildcard: boolean;
  readonly matches: readonly SelectedMatch[];
  /** `--parents`: what to keep under each match (relative paths) */
  readonly include: PatternMatcher | undefined;
  readonly exclude: PatternMatcher | undefined;
}

/** An entry to copy, relative to the match it belongs to. */
export interface TreeItem {
  /** `''` for the match itself, else `dir/file` */
  readonly rel: string;
  /** the path in the source */
  readonly path: string;
  readonly entry: SourceEntry;
}

/** The error BuildKit reports for a missing source: `"/missing.txt": not found`. */
export function sourceNotFound(path: string): NotFoundError {
  return new NotFoundError(`"${path}": not found`);
}

/** Splits a `--parents` source at its `/./` pivot into the copy root and the kept pattern. */
export function splitParents(spec: string): { root: string; keep: string; required: boolean } {
  const i = spec.indexOf('/./');
  let root: string;
  let keep: string;
  if (i < 0) {
    root = '/';
    keep = spec;
  } else {
    root = spec.slice(0, i);
    keep = spec.slice(i + 3);
  }
  keep = cleanPath(`/${keep}`).slice(1);
  const cleanRoot = cleanPath(`/${root}`);
  return {
    root: cleanRoot,
    keep,
    required: !containsWildcards(cleanRoot) && !containsWildcards(keep),
  };
}

/** Splits a cleaned slash-rooted path before its first component with a wildcard. */
export function splitWildcards(path: string): { dir: string; pattern: string } {
  const parts = path.split('/').filter((p) => p !== '');
  const i = parts.findIndex((p) => containsWildcards(p));
  if (i < 0) return { dir: path, pattern: '' };
  return { dir: `/${parts.slice(0, i).join('/')}`, pattern: parts.slice(i).join('/') };
}

function baseName(path: string): string {
  if (path === '/') return '/';
  return path.slice(path.lastIndexOf('/') + 1);
}

function relTo(dir: string, path: string): string {
  return dir === '/' ? path.slice(1) : path.slice(dir.length + 1);
}

/** Resolves every source of one COPY/ADD to its matches, failing on a missing literal path. */
export async function selectSources(
  fs: SourceFS,
  specs: readonly string[],
  opts: SelectOptions = {},
): Promise<SelectedSource[]> {
  const follow = opts.followSymlinks ?? true;
  const exclude =
    opts.exclude !== undefined && opts.exclude.length > 0 ? new PatternMatcher(opts.exclude) : undefined;
  const out: SelectedSource[] = [];
  for (const spec of specs) {
    let srcPath = cleanPath(`/${spec}`);
    let include: PatternMatcher | undefined;
    if (opts.parents) {
      const p = splitParents(spec);
      srcPath = p.root;
      include = new PatternMatcher([p.keep === '' ? '**' : p.keep]);
      if (p.required) {
        const required = p.root === '/' ? `/${p.keep}` : `${p.root}/${p.keep}`;
        const real = await resolveInRoot(fs, required, follow);
        if ((await fs.lstat(real)) === undefined) throw sourceNotFound(cleanPath(required));
      }
    }
    const { dir, pattern } = splitWildcards(srcPath);
    const matches: SelectedMatch[] = [];
    if (pattern === '') {
      const real = await resolveInRoot(fs, srcPath, follow);
      const entry = await fs.lstat(real);
      if (entry === undefined) throw sourceNotFound(srcPath);
      matches.push({ path: srcPath, real, entry, name: baseName(srcPath) });
    } else {
      const base = await resolveInRoot(fs, dir, true);
      for (const m of await matchWildcard(fs, base, pattern)) {
        const real = follow ? await resolveInRoot(fs, m, true) : m;
        const entry = await fs.lstat(real);
        if (entry === undefined) throw sourceNotFound(m);
        // `COPY --exclude=*.txt hom* /d/` leaves out a matched home.txt (as documented); a
        // matched directory itself is kept and only filtered inside (BuildKit's tests).
        if (entry.type !== 'dir' && exclude?.matchesOrParentMatches(relTo(base, m))) continue;
        matches.push({ path: m, real, entry, name: baseName(m) });
      }
    }
    out.push({ spec, wildcard: pattern !== '', matches, include, exclude });
  }
  return out;
}

/**
 * The paths under `base` whose relative path matches `pattern` (filepath.Match per
 * component), in walk order; a matched directory is not searched further.
 */
async function matchWildcard(fs: SourceFS, base: string, pattern: string): Promise<string[]> {
  const baseEntry = await fs.lstat(base);
  if (baseEntry?.type !== 'dir') return [];
  const comps = pattern.split('/');
  const out: string[] = [];
  const match = (pat: string, name: string) => {
    try {
      return goMatch(pat, name);
    } catch (err) {
      if (err instanceof BadPatternError) throw new BadPatternError(pattern);
      throw err;
    }
  };
  const visit = async (dir: string, depth: number) => {
    for (const name of await fs.readdir(dir)) {
      const p = childPath(dir, name);
      const rel = relTo(base, p);
      if (depth === comps.length - 1) {
        if (match(pattern, rel)) out.push(p);
        continue;
      }
      // A shallower path can only match if the pattern has no more components; it can only
      // lead to matches if its components match so far.
      if (!match(comps[depth]!, name)) continue;
      const e = await fs.lstat(p);
      if (e?.type === 'dir') await visit(p, depth + 1);
    }
  };
  await visit(base, 0);
  return out;
}

/** Could a path below `dir` (relative) match the include pattern? A conservative test. */
function includeMayMatchUnder(include: PatternMatcher, dir: string): boolean {
  const dirComps = dir.split('/');
  for (const p of include.patterns) {
    if (p.exclusion) continue;
    const comps = p.text.split('/');
    let possible = true;
    for (let i = 0; i < dirComps.length; i++) {
      const c = comps[i];
      if (c === undefined) {
        possible = false;
        break;
      }
      if (c.includes('**')) break;
      let ok: boolean;
      try {
        ok = goMatch(c, dirComps[i]!);
      } catch {
        ok = true;
      }
      if (!ok) {
        possible = false;
        break;
      }
    }
    if (possible) return true;
  }
  return false;
}

interface PendingDir {
  item: TreeItem;
  emitted: boolean;
}

/**
 * The entries a match contributes, in pre-order: the match itself first (rel `''`), then
 * what include/exclude keep below it. A directory that is not kept itself but holds kept
 * entries is yielded just before the first of them (it must exist to hold them).
 */
export async function* walkMatch(
  fs: SourceFS,
  match: SelectedMatch,
  include: PatternMatcher | undefined,
  exclude: PatternMatcher | undefined,
): AsyncGenerator<TreeItem> {
  yield { rel: '', path: match.real, entry: match.entry };
  if (match.entry.type !== 'dir') return;
  const pending: PendingDir[] = [];
  async function* visit(
    dir: string,
    rel: string,
    incInfo: MatchInfo,
    excInfo: MatchInfo,
  ): AsyncGenerator<TreeItem> {
    for (const name of await fs.readdir(dir)) {
      const p = childPath(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const entry = await fs.lstat(p);
      if (entry === undefined) continue;
      let keep = true;
      let descend = entry.type === 'dir';
      let inc = emptyMatchInfo;
      let exc = emptyMatchInfo;
      if (include !== undefined) {
        const m = include.matchesUsingParentResults(r, incInfo);
        inc = m.info;
        if (!m.matched) {
          keep = false;
          if (descend && !includeMayMatchUnder(include, r)) descend = false;
        }
      }
      if (exclude !== undefined) {
        const m = exclude.matchesUsingParentResults(r, excInfo);
        exc = m.info;
        if (m.matched) {
          keep = false;
          if (descend && !exceptionsMayMatchUnder(exclude, r)) descend = false;
        }
      }
      const item: TreeItem = { rel: r, path: p, entry };
      if (keep) {
        for (const pd of pending) {
          if (!pd.emitted) {
            pd.emitted = true;
            yield pd.item;
          }
        }
        yield item;
        if (descend) yield* visit(p, r, inc, exc);
      } else if (descend) {
        pending.push({ item, emitted: false });
        yield* visit(p, r, inc, exc);
        pending.pop();
      }
    }
  }
  yield* visit(match.real, '', emptyMatchInfo, emptyMatchInfo);
}
