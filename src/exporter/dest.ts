/**
 * exporter/dest — writing an output where the user asked, crash-safely: a file is written
 * beside its destination under a temporary name, synced and renamed over it; a directory is
 * filled under a temporary name beside it and renamed into place (into an existing directory,
 * entry by entry). A process killed half-way leaves the old destination untouched and a
 * `.polyarch-tmp-…` entry that the next write of the same destination removes.
 *
 * `checkDestination` runs before the build: a destination that cannot be written is one clear
 * error before anything is built.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { writeStreamDurably } from '../durable.js';
import { InvalidArgumentError, messageOf, StoreError } from '../errors.js';
import { processAlive } from '../proc.js';

const tmpMarker = '.polyarch-tmp-';

function tempSibling(path: string): string {
  return join(
    dirname(path),
    `${tmpMarker}${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/** Removes what killed writes of `path` left beside it (their pid is gone). */
async function removeLeftovers(path: string): Promise<void> {
  const prefix = `${tmpMarker}${basename(path)}-`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
      await rm(join(dirname(path), n), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** The nearest directory at or above `path` that exists. */
async function existingAncestor(path: string): Promise<string> {
  let p = path;
  for (;;) {
    try {
      const st = await stat(p);
      if (!st.isDirectory()) {
        throw new InvalidArgumentError(`${p} is not a directory`);
      }
      return p;
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      const parent = dirname(p);
      if (parent === p) throw err;
      p = parent;
    }
  }
}

/**
 * Fails when `path` cannot be written as a `kind` output: a file destination that is a
 * directory (or whose directory is missing or read-only), a directory destination that is a
 * file (or under a read-only parent).
 */
export async function checkDestination(path: string, kind: 'file' | 'dir', what: string): Promise<void> {
  const fail = (why: string, cause?: unknown) =>
    new InvalidArgumentError(`${what}: cannot write ${path}: ${why}`, cause ? { cause } : undefined);
  let st: Awaited<ReturnType<typeof lstat>> | undefined;
  try {
    st = await lstat(path);
  } catch {
    st = undefined;
  }
  if (kind === 'file') {
    if (st?.isDirectory()) throw fail('it is a directory (dest names the file to write)');
    let parent: Awaited<ReturnType<typeof stat>>;
    try {
      parent = await stat(dirname(path));
    } catch (err) {
      throw fail(`its directory ${dirname(path)} does not exist`, err);
    }
    if (!parent.isDirectory()) throw fail(`${dirname(path)} is not a directory`);
    try {
      await access(dirname(path), constants.W_OK | constants.X_OK);
    } catch (err) {
      throw fail(`its directory ${dirname(path)} is not writable`, err);
    }
    return;
  }
  if (st && !st.isDirectory()) throw fail('it exists and is not a directory');
  let base: string;
  try {
    base = st ? path : await existingAncestor(dirname(path));
  } catch (err) {
    throw fail(messageOf(err), err);
  }
  // the directory is filled beside itself and renamed: its parent must be writable too
  const needs = st ? [dirname(path), path] : [base];
  for (const d of needs) {
    try {
      await access(d, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw fail(`${d} is not writable`, err);
    }
  }
}

/**
 * Writes `path` through `produce`, which gets a stream to write into and resolves when it has
 * written everything (ending the stream is done here). The file appears whole or not at all.
 */
export async function writeFileAtomic(
  path: string,
  produce: (out: Writable) => Promise<void>,
  mode = 0o644,
): Promise<void> {
  await removeLeftovers(path);
  try {
    await writeStreamDurably(path, produce, { tmp: tempSibling(path), mode });
  } catch (err) {
    throw wrapWrite(err, path);
  }
}

/** Bytes → `path`, crash-safely. */
export function writeBytesAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  return writeFileAtomic(
    path,
    async (out) => {
      out.end(data);
    },
    mode,
  );
}

function wrapWrite(err: unknown, path: string): unknown {
  if (err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && /^E[A-Z]+$/.test(code)) {
      return new StoreError(`writing ${path}: ${err.message}`, { cause: err });
    }
  }
  return err;
}

/**
 * Fills a directory through `produce` (which gets an empty directory beside `path`), then puts
 * it in place: renamed when `path` is absent or empty, else entry by entry (an entry of the
 * same name is replaced; others are kept, as BuildKit's local exporter keeps them).
 */
export async function writeDirAtomic(path: string, produce: (dir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await removeLeftovers(path);
  const tmp = tempSibling(path);
  await mkdir(tmp, { mode: 0o755 });
  try {
    await produce(tmp);
    let existing: string[] | undefined;
    try {
      existing = await readdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (existing === undefined) {
      await rename(tmp, path);
      return;
    }
    if (existing.length === 0) {
      await rm(path, { recursive: true });
      await rename(tmp, path);
      return;
    }
    for (const name of await readdir(tmp)) {
      const target = join(path, name);
      try {
        await rename(join(tmp, name), target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'ENOTDIR') throw err;
        // a directory (or a type change) in the way: move the old entry aside, then rename
        const old = tempSibling(target);
        await rename(target, old);
        await rename(join(tmp, name), target);
        await rm(old, { recursive: true, force: true });
      }
    }
    await rm(tmp, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw wrapWrite(err, path);
  }
}
