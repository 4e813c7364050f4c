/**
 * context/view — the build context as COPY/ADD and the cache keys read it: the context
 * directory with `.dockerignore` applied (fsutil's filtered walker semantics, see `walk`) and
 * every entry owned by 0:0, read from disk when asked, never held whole: a walk of 100,000
 * files costs the directories it is in, not the tree.
 *
 * A path is in the view when no ignore pattern excludes it or one of its parents; an excluded
 * directory is still in it when an exception (`!pattern`) re-includes something below it.
 * The entries of the few directories read last are kept, since a walk asks for a directory's
 * names and then for each of them.
 */
import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { BuildError, messageOf } from '../errors.js';
import {
  emptyMatchInfo,
  exceptionsMayMatchUnder,
  type MatchInfo,
  type PatternMatcher,
} from './patternmatcher.js';
import { childPath, compareNames, entryFromStats, hostPath, type SourceEntry } from './source.js';

/** The part of `SourceFS` the view answers. */
export interface ContextView {
  lstat(path: string): SourceEntry | undefined;
  readdir(path: string): string[];
}

interface DirState {
  /** the directory's own pattern results, for its children */
  readonly info: MatchInfo;
  /** in the view (possibly only through what an exception re-includes below it) */
  readonly visible: boolean;
}

interface DirListing {
  readonly names: string[];
  readonly entries: Map<string, SourceEntry>;
}

/** Directory listings kept: enough for a walk's current path and a little more. */
const keptListings = 16;

/** The filtered view of `dir` (see the module comment). */
export function contextView(dir: string, ignore: PatternMatcher | undefined): ContextView {
  const listings = new Map<string, DirListing>();
  const reincludes = new Map<string, boolean>();

  const stat = (path: string): SourceEntry | undefined => {
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(hostPath(dir, path), { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new BuildError(`reading build context ${dir}: ${path}: ${messageOf(err)}`, { cause: err });
    }
    if (st === undefined) return undefined;
    const e = entryFromStats(st, st.isSymbolicLink() ? readlinkSync(hostPath(dir, path)) : undefined);
    return e.uid === 0 && e.gid === 0 ? e : { ...e, uid: 0, gid: 0 };
  };

  const rawNames = (path: string): string[] => {
    try {
      return readdirSync(hostPath(dir, path)).sort(compareNames);
    } catch (err) {
      throw new BuildError(`reading directory ${path} in build context ${dir}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  };

  /** Is `path` (an entry, `rel` its relative path) in the view, given its parent's results? */
  const judge = (path: string, rel: string, e: SourceEntry, parent: MatchInfo): DirState | undefined => {
    if (ignore === undefined) return { info: emptyMatchInfo, visible: true };
    const m = ignore.matchesUsingParentResults(rel, parent);
    if (!m.matched) return { info: m.info, visible: true };
    if (e.type !== 'dir' || !exceptionsMayMatchUnder(ignore, rel)) return undefined;
    return { info: m.info, visible: reincluded(path, rel, m.info) };
  };

  /** Does an exception re-include something below the excluded directory `path`? */
  const reincluded = (path: string, rel: string, info: MatchInfo): boolean => {
    const known = reincludes.get(path);
    if (known !== undefined) return known;
    let found = false;
    for (const name of rawNames(path)) {
      const p = childPath(path, name);
      const e = stat(p);
      if (e !== undefined && judge(p, `${rel}/${name}`, e, info)?.visible) {
        found = true;
        break;
      }
    }
    reincludes.set(path, found);
    return found;
  };

  /** The state of a directory, from the root down; undefined when it is not in the view. */
  const dirState = (path: string): DirState | undefined => {
    let state: DirState = { info: emptyMatchInfo, visible: true };
    if (path === '/' || ignore === undefined) return state;
    let cur = '/';
    for (const name of path.slice(1).split('/')) {
      cur = childPath(cur, name);
      const e = stat(cur);
      if (e?.type !== 'dir') return undefined;
      const s = judge(cur, cur.slice(1), e, state.info);
      if (s === undefined) return undefined;
      state = s;
    }
    return state;
  };

  const listing = (path: string): DirListing | undefined => {
    const kept = listings.get(path);
    if (kept !== undefined) return kept;
    const state = dirState(path);
    if (state === undefined || !state.visible) return undefined;
    const names: string[] = [];
    const entries = new Map<string, SourceEntry>();
    for (const name of rawNames(path)) {
      const p = childPath(path, name);
      const e = stat(p);
      if (e === undefined || !judge(p, p.slice(1), e, state.info)?.visible) continue;
      names.push(name);
      entries.set(name, e);
    }
    const l = { names, entries };
    if (listings.size >= keptListings) listings.delete(listings.keys().next().value!);
    listings.set(path, l);
    return l;
  };

  return {
    lstat(path) {
      if (path === '/') return stat('/');
      const slash = path.lastIndexOf('/');
      const parent = slash === 0 ? '/' : path.slice(0, slash);
      const name = path.slice(slash + 1);
      const kept = listings.get(parent);
      if (kept !== undefined) return kept.entries.get(name);
      const state = dirState(parent);
      if (state === undefined || !state.visible) return undefined;
      const e = stat(path);
      return e !== undefined && judge(path, path.slice(1), e, state.info)?.visible ? e : undefined;
    },
    readdir(path) {
      const l = listing(path);
      if (l === undefined)
        throw new BuildError(`reading directory ${path} in build context ${dir}: not a directory`);
      return l.names.slice();
    },
  };
}
