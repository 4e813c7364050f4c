/**
 * context/patternmatcher — path patterns with the semantics of Go's `path/filepath.Match`,
 * `path.Clean`, and moby/patternmatcher (the matcher behind `.dockerignore`, BuildKit's
 * include/exclude filters and `COPY --exclude`). Pure: no I/O.
 *
 *     goMatch('*.go', 'main.go')                 → true      (filepath.Match: `*` never crosses `/`)
 *     cleanPath('/a/./b/../c/')                  → '/a/c'
 *     const pm = new PatternMatcher(['docs', '!docs/README.md', '**\/*.log']);
 *     pm.matchesOrParentMatches('docs/x.md')     → true      (a directory match covers its contents)
 *     pm.matchesOrParentMatches('docs/README.md') → false    (`!` re-includes)
 *
 * A pattern is cleaned like a path (`./a/` → `a`), `**` matches any number of directories
 * (including none), and a later pattern overrides an earlier one for the same path. Paths
 * given to the matcher are slash-separated and relative (`a/b/c`), as fsutil walks them.
 */
import { InvalidArgumentError } from '../errors.js';

/** Go's `path.Clean` for slash-separated paths: the shortest equivalent lexical path. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Thrown (wrapped) for a syntactically bad pattern, like Go's `filepath.ErrBadPattern`. */
export class BadPatternError extends InvalidArgumentError {
  readonly pattern: string;
  constructor(pattern: string) {
    super(`syntax error in pattern "${pattern}"`);
    this.name = 'BadPatternError';
    this.pattern = pattern;
  }
}

// ---------------------------------------------------------------------------------------------
// Go's path/filepath.Match (Unix flavour: `\` escapes), over code points like Go's runes.

interface ChunkScan {
  star: boolean;
  chunk: string[];
  rest: string[];
}

function scanChunk(pattern: string[]): ChunkScan {
  let star = false;
  let p = pattern;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

const bad = Symbol('bad pattern');
type Bad = typeof bad;

function getEsc(chunk: string[]): { r: string; rest: string[] } | Bad {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') return bad;
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) return bad;
  }
  const r = c[0]!;
  const rest = c.slice(1);
  if (rest.length === 0) return bad;
  return { r, rest };
}

/** Matches `chunk` at the start of `s`; returns the rest of `s`, undefined on no match. */
function matchChunk(chunkIn: string[], sIn: string[]): string[] | undefined | Bad {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0]!;
    if (c === '[') {
      let r = '';
      if (!failed) {
        r = s[0]!;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        if (lo === bad) return bad;
        let hi = lo.r;
        chunk = lo.rest;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          if (h === bad) return bad;
          hi = h.r;
          chunk = h.rest;
        }
        const rc = r.codePointAt(0) ?? -1;
        if (lo.r.codePointAt(0)! <= rc && rc <= hi.codePointAt(0)!) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) return bad;
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? undefined : s;
}

/**
 * Go's `filepath.Match(pattern, name)` on Unix: `*` any run of non-`/` characters, `?` one
 * non-`/` character, `[a-z]`/`[^a-z]` classes, `\` escapes. Throws BadPatternError for a
 * malformed pattern (even when an earlier part already failed to match, as Go does).
 */
export function goMatch(pattern: string, name: string): boolean {
  let pat = Array.from(pattern);
  let nm = Array.from(name);
  outer: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk.length === 0) return !nm.includes('/');
    const t = matchChunk(chunk, nm);
    if (t !== bad && t !== undefined && (t.length === 0 || pat.length > 0)) {
      nm = t;
      continue;
    }
    if (t === bad) throw new BadPatternError(pattern);
    if (star) {
      for (let i = 0; i < nm.length && nm[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, nm.slice(i + 1));
        if (t2 === bad) throw new BadPatternError(pattern);
        if (t2 !== undefined) {
          if (pat.length === 0 && t2.length > 0) continue;
          nm = t2;
          continue outer;
        }
      }
    }
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.rest;
      if (matchChunk(next.chunk, []) === bad) throw new BadPatternError(pattern);
    }
    return false;
  }
  return nm.length === 0;
}

/** True when `name` holds an unescaped `*`, `?` or `[` (fsutil's containsWildcards). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// moby/patternmatcher

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

// Characters that are special in a regular expression but literal in a filepath pattern.
const regexEscapes = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);
// Characters that must be escaped to be literal in a `u`-flag JavaScript regexp.
const jsSyntax = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

/** One cleaned pattern of a PatternMatcher; `exclusion` when it started with `!`. */
export class Pattern {
  /** the cleaned pattern text, without its `!` */
  readonly text: string;
  readonly exclusion: boolean;
  private matchType: MatchType | undefined;
  private regexp: RegExp | undefined;
  private compileFailed = false;

  constructor(text: string, exclusion: boolean) {
    this.text = text;
    this.exclusion = exclusion;
  }

  toString(): string {
    return this.text;
  }

  /** Matches a slash-separated relative path against this one pattern. */
  match(path: string): boolean {
    if (this.matchType === undefined) this.compile();
    if (this.compileFailed) throw new BadPatternError(this.text);
    switch (this.matchType) {
      case 'exact':
        return path === this.text;
      case 'prefix':
        return path.startsWith(this.text.slice(0, -2));
      case 'suffix': {
        const suffix = this.text.slice(2);
        if (path.endsWith(suffix)) return true;
        return suffix[0] === '/' && path === suffix.slice(1);
      }
      default:
        return this.regexp!.test(path);
    }
  }

  // The translation of patternmatcher's compile(): `**` → `(.*/)?` or `.*`, `*` → `[^/]*`,
  // `?` → `[^/]`; a pattern without wildcards is an exact match, `dir/**` a prefix match,
  // `**/x` a suffix match.
  private compile(): void {
    const cps = Array.from(this.text);
    let re = '^';
    let type: MatchType = 'exact';
    let inClass = false;
    let classLen = 0;
    let iteration = 0;
    for (let i = 0; i < cps.length; i++, iteration++) {
      const ch = cps[i]!;
      if (inClass) classLen++;
      if (ch === '*') {
        if (cps[i + 1] === '*') {
          i++;
          if (cps[i + 1] === '/') i++;
          if (i + 1 >= cps.length) {
            if (type === 'exact') type = 'prefix';
            else {
              re += '.*';
              type = 'regexp';
            }
          } else {
            re += '(.*/)?';
            type = 'regexp';
          }
          if (iteration === 0) type = 'suffix';
        } else {
          re += '[^/]*';
          type = 'regexp';
        }
      } else if (ch === '?') {
        re += '[^/]';
        type = 'regexp';
      } else if (regexEscapes.has(ch)) {
        re += `\\${ch}`;
      } else if (ch === '\\') {
        if (i + 1 < cps.length) {
          const next = cps[++i]!;
          if (jsSyntax.has(next) || /[A-Za-z0-9]/.test(next) || (inClass && next === '-')) re += `\\${next}`;
          else re += next;
          type = 'regexp';
        } else {
          re += '\\\\';
        }
      } else if (ch === '[') {
        if (inClass) re += '\\[';
        else {
          inClass = true;
          classLen = 0;
          re += '[';
        }
        type = 'regexp';
      } else if (ch === ']') {
        // Go's regexp takes `]` right after `[` or `[^` as a literal, and outside a class too.
        const leading = classLen === 1 || (classLen === 2 && re.endsWith('[^'));
        if (inClass && !leading) {
          inClass = false;
          re += ']';
        } else re += '\\]';
        type = 'regexp';
      } else if (ch === '^' && !inClass) {
        re += '\\^';
      } else {
        re += ch;
      }
    }
    this.matchType = type;
    if (type === 'regexp') {
      try {
        this.regexp = new RegExp(`${re}$`, 'u');
      } catch {
        this.compileFailed = true;
      }
    }
  }
}

/** Per-pattern results for a directory, handed to its children (patternmatcher's MatchInfo). */
export interface MatchInfo {
  readonly parentMatched: readonly boolean[];
}

export const emptyMatchInfo: MatchInfo = { parentMatched: [] };

/**
 * A list of patterns where later ones override earlier ones and `!pattern` re-includes.
 * Construction validates each pattern (throws InvalidArgumentError for `!` alone or a
 * malformed pattern), like `patternmatcher.New`.
 */
export class PatternMatcher {
  readonly patterns: readonly Pattern[];
  /** true when some pattern is an exception (`!…`) */
  readonly exclusions: boolean;

  constructor(patterns: readonly string[]) {
    const out: Pattern[] = [];
    let exclusions = false;
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p[0] === '!') {
        if (p.length === 1) throw new InvalidArgumentError('illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      // Syntax check the way patternmatcher does: filepath.Match against ".".
      goMatch(p, '.');
      out.push(new Pattern(p, exclusion));
    }
    this.patterns = out;
    this.exclusions = exclusions;
  }

  /** True when there is no pattern at all. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether `file` itself matches, without looking at its parents. */
  matchesExact(file: string): boolean {
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      if (pattern.match(file)) matched = !pattern.exclusion;
    }
    return matched;
  }

  /** Whether `file` or one of its parent directories matches (the `.dockerignore` question). */
  matchesOrParentMatches(file: string): boolean {
    let matched = false;
    const slash = file.lastIndexOf('/');
    const parentDirs = slash < 0 ? [] : file.slice(0, slash).split('/');
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(file);
      if (!match && parentDirs.length > 0) {
        for (let i = 0; i < parentDirs.length; i++) {
          if (pattern.match(parentDirs.slice(0, i + 1).join('/'))) {
            match = true;
            break;
          }
        }
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * Like matchesOrParentMatches, reusing the parent directory's per-pattern results so a walk
   * does not rematch every ancestor; pass `emptyMatchInfo` at the top of a walk.
   */
  matchesUsingParentResults(file: string, parent: MatchInfo): { matched: boolean; info: MatchInfo } {
    const parentMatched = parent.parentMatched;
    if (parentMatched.length !== 0 && parentMatched.length !== this.patterns.length) {
      throw new Error('wrong number of values in parentMatched');
    }
    let matched = false;
    const info: boolean[] = new Array(this.patterns.length).fill(false);
    for (let i = 0; i < this.patterns.length; i++) {
      const pattern = this.patterns[i]!;
      let match = parentMatched.length !== 0 ? parentMatched[i]! : false;
      if (!match) {
        if (pattern.exclusion !== matched) continue;
        match = pattern.match(file);
        if (!match && parentMatched.length === 0) {
          const slash = file.lastIndexOf('/');
          if (slash >= 0) {
            const dirs = file.slice(0, slash).split('/');
            for (let j = 0; j < dirs.length; j++) {
              if (pattern.match(dirs.slice(0, j + 1).join('/'))) {
                match = true;
                break;
              }
            }
          }
        }
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    }
    return { matched, info: { parentMatched: info } };
  }
}

/**
 * fsutil's walk optimisation: when a directory is excluded, can an exception (`!pattern`)
 * still re-include something below it? If every exception is a literal path (ignoring a
 * trailing `/*` or `/**`), only those under `dir/` can; with wildcard exceptions, anything can.
 */
export function exceptionsMayMatchUnder(pm: PatternMatcher, dir: string): boolean {
  if (!pm.exclusions) return false;
  const dirSlash = `${dir}/`;
  for (const p of pm.patterns) {
    if (!p.exclusion) continue;
    const literal = withoutTrailingGlob(p.text);
    if (/[*[\]?^\\]/.test(literal)) return true;
    if (`${literal}/`.startsWith(dirSlash)) return true;
  }
  return false;
}

function withoutTrailingGlob(p: string): string {
  if (p.endsWith('/**')) return p.slice(0, -3);
  if (p.endsWith('/*')) return p.slice(0, -2);
  return p;
}
