/**
 * context/walk — one pass over a context directory, the way fsutil's filtered walker sends a
 * context to BuildKit: `lstat` only (symlinks are entries, never followed), names sorted,
 * ignored paths left out.
 *
 * An ignored directory is skipped whole unless an exception (`!pattern`) could re-include
 * something inside it; then it is walked, and it appears in the result only if something
 * under it does (its real metadata comes along as a parent of what was re-included).
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

export interface WalkResult {
  /** every included path (slash-rooted, `/` is the context itself) → its lstat */
  readonly entries: Map<string, SourceEntry>;
  /** included directory → its included children's names, sorted */
  readonly children: Map<string, string[]>;
}

interface Pending {
  path: string;
  entry: SourceEntry;
  emitted: boolean;
}

// The walk uses synchronous lstat/readdir: for a context in the page cache that is several
// times faster than promises through libuv's thread pool. It yields to the event loop every
// few thousand entries so progress output keeps moving on huge contexts.
const yieldEvery = 2000;

export async function walkContext(
  dir: string,
  ignore: PatternMatcher | undefined,
  signal?: AbortSignal,
): Promise<WalkResult> {
  const entries = new Map<string, SourceEntry>();
  const children = new Map<string, string[]>();
  const rootStat = statOrThrow(dir, '/');
  if (!rootStat.isDirectory()) throw new BuildError(`build context ${dir} is not a directory`);
  entries.set('/', entryFromStats(rootStat));
  children.set('/', []);
  let seen = 0;

  const emit = (path: string, entry: SourceEntry) => {
    entries.set(path, entry);
    if (entry.type === 'dir') children.set(path, []);
    const slash = path.lastIndexOf('/');
    const parent = slash === 0 ? '/' : path.slice(0, slash);
    children.get(parent)!.push(path.slice(slash + 1));
  };

  const walkDir = async (path: string, rel: string, parentInfo: MatchInfo, pending: Pending[]) => {
    let names: string[];
    try {
      names = readdirSync(hostPath(dir, path)).sort(compareNames);
    } catch (err) {
      throw new BuildError(`walking build context ${dir}: reading ${path}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    for (const name of names) {
      if (++seen % yieldEvery === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      }
      const p = childPath(path, name);
      const st = statOrThrow(dir, p);
      const entry = entryFromStats(st, st.isSymbolicLink() ? readlinkSync(hostPath(dir, p)) : undefined);
      const r = rel === '' ? name : `${rel}/${name}`;
      const isDir = entry.type === 'dir';
      let excluded = false;
      let info = emptyMatchInfo;
      if (ignore !== undefined) {
        const m = ignore.matchesUsingParentResults(r, parentInfo);
        excluded = m.matched;
        info = m.info;
      }
      if (excluded) {
        if (!isDir || !exceptionsMayMatchUnder(ignore!, r)) continue;
        pending.push({ path: p, entry, emitted: false });
        await walkDir(p, r, info, pending);
        pending.pop();
        continue;
      }
      for (const pd of pending) {
        if (!pd.emitted) {
          emit(pd.path, pd.entry);
          pd.emitted = true;
        }
      }
      emit(p, entry);
      if (isDir) await walkDir(p, r, info, pending);
    }
  };
  signal?.throwIfAborted();
  await walkDir('/', '', emptyMatchInfo, []);
  return { entries, children };
}

function statOrThrow(dir: string, path: string): BigIntStats {
  try {
    return lstatSync(hostPath(dir, path), { bigint: true });
  } catch (err) {
    throw new BuildError(`walking build context ${dir}: ${path}: ${messageOf(err)}`, { cause: err });
  }
}
