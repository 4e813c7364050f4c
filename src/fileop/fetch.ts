/**
 * fileop/fetch — ADD of a URL: download with undici, as BuildKit's http source does.
 *
 * - the file is named after the URL path's last component (percent-decoded); a URL without
 *   one takes the `Content-Disposition` filename, else `__unnamed__`;
 * - it is written 0600, with the mtime from `Last-Modified` (the epoch when absent);
 * - a status outside 200–399 fails with `invalid response status <n>`;
 * - `--checksum` (sha256, sha384 or sha512) is verified while streaming; a mismatch fails
 *   with `digest mismatch for <url>: <got> (expected: <want>)`.
 *
 * The sha256 digest of the content is returned for the cache key.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher, fetch } from 'undici';
import { BuildError, DigestMismatchError, InvalidArgumentError, messageOf } from '../errors.js';
import { type Digest, newDigester } from '../oci/digest.js';
import { loadUndici } from '../undici.js';

/** `http(s)://…` that is not a git repository URL. */
export function isHttpSource(src: string): boolean {
  return /^https?:\/\//.test(src) && !isGitSource(src);
}

/** A git source as BuildKit recognises one for ADD (`git@…`, `git://`, `ssh://`, `….git`). */
export function isGitSource(src: string): boolean {
  if (/^git@[^:/]+:/.test(src) || /^(git|ssh):\/\//.test(src)) return true;
  if (/^https?:\/\//.test(src)) {
    const noFragment = src.split('#')[0]!;
    let path: string;
    try {
      path = new URL(noFragment).pathname;
    } catch {
      return false;
    }
    return path.endsWith('.git');
  }
  return false;
}

/** The filename of `filename=` / `filename*=` in a Content-Disposition header. */
export function contentDispositionFilename(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  let name: string | undefined;
  if (star) {
    try {
      name = decodeURIComponent(star[1]!.trim());
    } catch {
      name = undefined;
    }
  }
  if (name === undefined) {
    const m = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
    if (m) name = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
  }
  if (name === undefined || name.endsWith('/')) return undefined;
  const base = name.split('/').pop()!;
  return base === '' || base === '.' || base === '..' ? undefined : base;
}

/** The name an ADDed URL gets (see the module comment). */
export function urlFilename(url: string, contentDisposition?: string | null): string {
  let base = '';
  try {
    const path = new URL(url).pathname;
    const last =
      path
        .split('/')
        .filter((p) => p !== '')
        .pop() ?? '';
    base = decodeURIComponent(last);
  } catch {
    base = '';
  }
  if (base !== '' && base !== '.' && base !== '..' && !base.includes('/')) return base;
  return contentDispositionFilename(contentDisposition) ?? '__unnamed__';
}

const algorithms: Record<string, { node: string; hexLength: number }> = {
  sha256: { node: 'sha256', hexLength: 64 },
  sha384: { node: 'sha384', hexLength: 96 },
  sha512: { node: 'sha512', hexLength: 128 },
};

/** Validates a `--checksum` value (`sha256:<hex>`, sha384, sha512). */
export function parseChecksum(s: string): { algorithm: string; hex: string } {
  const i = s.indexOf(':');
  const alg = i < 0 ? '' : s.slice(0, i);
  const hex = s.slice(i + 1);
  const a = algorithms[alg];
  if (a === undefined)
    throw new InvalidArgumentError(`invalid checksum "${s}": unsupported digest algorithm "${alg}"`);
  if (hex.length !== a.hexLength || !/^[a-f0-9]+$/.test(hex)) {
    throw new InvalidArgumentError(`invalid checksum "${s}": invalid ${alg} digest`);
  }
  return { algorithm: alg, hex };
}

export interface FetchUrlOptions {
  /** directory to write the file into (created if needed) */
  dir: string;
  /** `--checksum` */
  checksum?: string;
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface FetchedUrl {
  readonly url: string;
  /** the directory holding the file (a source root for the copy) */
  readonly dir: string;
  readonly filename: string;
  /** host path of the file */
  readonly path: string;
  /** sha256 of the content */
  readonly digest: Digest;
  readonly size: number;
  readonly mtime: Date;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username !== '' || u.password !== '') {
      u.username = 'xxxxx';
      u.password = 'xxxxx';
    }
    return u.toString();
  } catch {
    return url;
  }
}

/** Downloads `url` into `opts.dir` (see the module comment). */
export async function fetchUrl(url: string, opts: FetchUrlOptions): Promise<FetchedUrl> {
  const want = opts.checksum !== undefined ? parseChecksum(opts.checksum) : undefined;
  const shown = redact(url);
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    // undici is loaded when a URL is fetched, not at every start of the CLI
    const undici = await loadUndici();
    res = await undici.fetch(url, {
      headers: { 'user-agent': 'polyarch', ...opts.headers },
      redirect: 'follow',
      ...(opts.dispatcher !== undefined ? { dispatcher: opts.dispatcher } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    throw new BuildError(`ADD ${shown}: ${messageOf((err as Error).cause ?? err)}`, { cause: err });
  }
  if (res.status < 200 || res.status >= 400) {
    await res.body?.cancel();
    throw new BuildError(`ADD ${shown}: invalid response status ${res.status}`);
  }
  const filename = urlFilename(url, res.headers.get('content-disposition'));
  await mkdir(opts.dir, { recursive: true });
  const path = join(opts.dir, filename);
  const sha256 = newDigester();
  const check =
    want !== undefined && want.algorithm !== 'sha256'
      ? createHash(algorithms[want.algorithm]!.node)
      : undefined;
  let size = 0;
  const fh = await open(path, 'w', 0o600);
  try {
    if (res.body !== null) {
      for await (const chunk of res.body) {
        const buf = chunk as Uint8Array;
        sha256.update(buf);
        check?.update(buf);
        size += buf.length;
        await fh.write(buf);
      }
    }
  } catch (err) {
    await fh.close();
    await rm(path, { force: true });
    throw new BuildError(`ADD ${shown}: downloading: ${messageOf(err)}`, { cause: err });
  }
  await fh.close();
  const digest = sha256.digest();
  if (want !== undefined) {
    const got = check !== undefined ? `${want.algorithm}:${check.digest('hex')}` : digest;
    const expected = `${want.algorithm}:${want.hex}`;
    if (got !== expected) {
      await rm(path, { force: true });
      throw new DigestMismatchError(
        `ADD ${shown}: digest mismatch for ${shown}: ${got} (expected: ${expected})`,
      );
    }
  }
  const lastModified = res.headers.get('last-modified');
  const parsed = lastModified !== null ? Date.parse(lastModified) : Number.NaN;
  const mtime = new Date(Number.isNaN(parsed) ? 0 : parsed);
  await chmod(path, 0o600);
  await utimes(path, mtime, mtime);
  return { url, dir: opts.dir, filename, path, digest, size, mtime };
}
