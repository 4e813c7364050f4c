/**
 * context/walk — one pass over a context directory, the way fsutil's filtered walker sends a
 * context to BuildKit: `lstat` only (symlinks are entries, never followed), names sorted,
 * ignored paths left out.
 *
 * An ignored directory is skipped whole unless an exception (`!pattern`) could re-include
 * something inside it; then it is walked, and it appears in the result only if something
 * under it does (its real metadata comes along as a parent of what was re-included).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
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

const statBatch = 64;

export async function walkContext(
  dir: string,
  ignore: PatternMatcher | undefined,
  signal?: AbortSignal,
): Promise<WalkResult> {
  const entries = new Map<string, SourceEntry>();
  const children = new Map<string, string[]>();
  const rootStat = await statOrThrow(dir, '/');
  if (!rootStat.isDirectory()) throw new BuildError(`build context ${dir} is not a directory`);
  entries.set('/', entryFromStats(rootStat));
  children.set('/', []);

  const emit = (path: string, entry: SourceEntry) => {
    entries.set(path, entry);
    if (entry.type === 'dir') children.set(path, []);
    const slash = path.lastIndexOf('/');
    const parent = slash === 0 ? '/' : path.slice(0, slash);
    children.get(parent)!.push(path.slice(slash + 1));
  };

  const walkDir = async (path: string, rel: string, parentInfo: MatchInfo, pending: Pending[]) => {
    signal?.throwIfAborted();
    let names: string[];
    try {
      names = (await readdir(hostPath(dir, path))).sort(compareNames);
    } catch (err) {
      throw new BuildError(`walking build context ${dir}: reading ${path}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    for (let i = 0; i < names.length; i += statBatch) {
      const batch = names.slice(i, i + statBatch);
      const stats = await Promise.all(
        batch.map(async (name) => {
          const p = childPath(path, name);
          const st = await statOrThrow(dir, p);
          const link = st.isSymbolicLink() ? await readlink(hostPath(dir, p)) : undefined;
          return entryFromStats(st, link);
        }),
      );
      for (let j = 0; j < batch.length; j++) {
        const name = batch[j]!;
        const entry = stats[j]!;
        const p = childPath(path, name);
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
    }
  };
  await walkDir('/', '', emptyMatchInfo, []);
  return { entries, children };
}

async function statOrThrow(dir: string, path: string): Promise<BigIntStats> {
  try {
    return await lstat(hostPath(dir, path), { bigint: true });
  } catch (err) {
    throw new BuildError(`walking build context ${dir}: ${path}: ${messageOf(err)}`, { cause: err });
  }
}
