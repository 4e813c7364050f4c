/**
 * fileop/add — ADD: COPY plus local archives, URLs and (not yet) git.
 *
 * - A local source that is a tar archive (plain, gzip, bzip2, xz or zstd, detected by magic
 *   number like BuildKit) is unpacked *into* the destination directory instead of copied,
 *   unless `unpack` is false (`ADD --unpack=false`). The tar reader is injected
 *   (`extractTar`); it receives the decompressed stream.
 * - A URL is downloaded (see `fetch.ts`) and copied like a file named after it; it is not
 *   unpacked unless `unpack` is true. `checksum` applies to a single URL source.
 * - A git source fails with UnsupportedError.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { type SelectedSource, selectSources } from '../context/select.js';
import { dirSource, hostPath, type SourceFS } from '../context/source.js';
import { BuildError, InvalidArgumentError, messageOf, UnsupportedError } from '../errors.js';
import { isTarArchive, openDecompressed } from './archive.js';
import {
  asSource,
  type CopyContext,
  type CopyOptions,
  type CopyStats,
  copyContext,
  copySelected,
  effectiveDest,
  ensureDestDir,
  finishCopy,
  type MatchHook,
  type Owner,
} from './copy.js';
import { type FetchedUrl, fetchUrl, isGitSource, isHttpSource } from './fetch.js';

export interface ExtractTarOptions {
  /** owner for every entry (`ADD --chown`); without it the archive's uid/gid are kept */
  chown?: Owner;
  /** timestamp for every entry (SOURCE_DATE_EPOCH); without it the archive's mtimes are kept */
  createdTime?: Date;
  signal?: AbortSignal;
}

/**
 * Unpacks an uncompressed tar stream into `destDir` (an existing directory on disk), safely
 * (no entry may leave it). Supplied by the caller.
 */
export type ExtractTar = (tar: Readable, destDir: string, opts: ExtractTarOptions) => Promise<void>;

export interface AddOptions extends CopyOptions {
  extractTar: ExtractTar;
  /** `--unpack`: default true for local sources, false for URLs */
  unpack?: boolean;
  /** `--checksum` for a URL source */
  checksum?: string;
  /** URL sources already downloaded (e.g. while computing the cache key), by URL */
  fetched?: ReadonlyMap<string, FetchedUrl>;
  /** how URLs are fetched; downloads go to a temporary directory under `tmpDir` */
  fetch?: { dispatcher?: Dispatcher; headers?: Record<string, string>; tmpDir?: string };
}

/** Checks ADD's flags against its sources before anything is done (BuildKit's messages). */
export function validateAdd(sources: readonly string[], checksum: string | undefined): void {
  for (const s of sources) {
    if (isGitSource(s)) throw new UnsupportedError(`ADD ${s}: git sources are not supported yet`);
  }
  if (checksum !== undefined && checksum !== '') {
    if (sources.length !== 1)
      throw new InvalidArgumentError("checksum can't be specified for multiple sources");
    if (!isHttpSource(sources[0]!))
      throw new InvalidArgumentError('checksum requires HTTP(S) or Git sources');
  }
}

interface Group {
  fs: SourceFS;
  selected: SelectedSource[];
  unpack: boolean;
}

function unpackHook(
  cc: CopyContext,
  fs: SourceFS,
  extractTar: ExtractTar,
  createdTime: Date | undefined,
): MatchHook {
  return async (match, destPath) => {
    if (match.entry.type !== 'file') return false;
    const src = hostPath(fs.root, match.real);
    if (!(await isTarArchive(src))) return false;
    const dir = await ensureDestDir(cc, destPath);
    const d = await openDecompressed(src);
    try {
      await extractTar(d.stream, hostPath(cc.destRoot, dir), {
        ...(cc.owner !== undefined ? { chown: cc.owner } : {}),
        ...(createdTime !== undefined ? { createdTime } : {}),
        ...(cc.signal !== undefined ? { signal: cc.signal } : {}),
      });
    } catch (err) {
      throw new BuildError(`unpacking ${match.path} into ${dir}: ${messageOf(err)}`, { cause: err });
    } finally {
      d.close();
    }
    cc.stats.unpacked++;
    return true;
  };
}

export async function add(opts: AddOptions): Promise<CopyStats> {
  validateAdd(opts.sources, opts.checksum);
  const source = asSource(opts.source);
  const cc = await copyContext(opts);
  const temps: string[] = [];
  try {
    const groups: Group[] = [];
    const selectOpts = {
      followSymlinks: opts.followSymlinks ?? true,
      ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
    };
    for (const spec of opts.sources) {
      if (isHttpSource(spec)) {
        let f = opts.fetched?.get(spec);
        if (f === undefined) {
          const dir = await mkdtemp(join(opts.fetch?.tmpDir ?? tmpdir(), 'polyarch-add-'));
          temps.push(dir);
          f = await fetchUrl(spec, {
            dir,
            ...(opts.checksum !== undefined && opts.checksum !== '' ? { checksum: opts.checksum } : {}),
            ...(opts.fetch?.dispatcher !== undefined ? { dispatcher: opts.fetch.dispatcher } : {}),
            ...(opts.fetch?.headers !== undefined ? { headers: opts.fetch.headers } : {}),
            ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
          });
        }
        const fs = dirSource(f.dir, `ADD ${spec}`);
        groups.push({
          fs,
          selected: await selectSources(fs, [f.filename], selectOpts),
          unpack: opts.unpack === true,
        });
      } else {
        groups.push({
          fs: source,
          selected: await selectSources(source, [spec], {
            ...selectOpts,
            ...(opts.parents !== undefined ? { parents: opts.parents } : {}),
          }),
          unpack: opts.unpack ?? true,
        });
      }
    }
    const matchCount = groups.reduce((n, g) => n + g.selected.reduce((m, s) => m + s.matches.length, 0), 0);
    const dest = effectiveDest(opts.workdir ?? '/', opts.dest, opts.sources.length, matchCount);
    for (const g of groups) {
      const hook = g.unpack ? unpackHook(cc, g.fs, opts.extractTar, opts.createdTime) : undefined;
      await copySelected(cc, g.fs, g.selected, dest, hook);
    }
    finishCopy(cc);
    return cc.stats;
  } finally {
    await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
  }
}
