/**
 * durable — the one way polyarch writes a file so that a crash (kill -9, power loss) leaves
 * either the old content or the new, never a half file under the final name (containerd's
 * `continuity.AtomicWriteFile`): the bytes go to a temporary file, which is fsynced, then
 * renamed over the target (or linked, to create exclusively), and the directory is fsynced so
 * that the rename itself survives.
 *
 *     await writeFileDurably(path, bytes);                          // temp file beside it
 *     await writeFileDurably(path, bytes, { tmp: join(tmpDir, id), exclusive: true });
 *     await writeStreamDurably(path, async (out) => { out.write(a); out.write(b); });
 *
 * Where the temporary file goes is the caller's choice (a store keeps them in its own
 * `tmp`/`ingest` directory, which its cleanup knows); the default is a sibling named
 * `.<name>.<pid>-<random>.tmp`.
 */
// fs.promises loads node:fs/promises at its first call: `ls`, `images` and `du` make none on a store that exists
import {
  closeSync,
  createWriteStream,
  promises as fsp,
  fsyncSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';

export interface DurableOptions {
  /** the temporary file (default: a sibling of the target) */
  tmp?: string;
  /** file mode (default 0644) */
  mode?: number;
  /** fail with EEXIST when the target exists, instead of replacing it */
  exclusive?: boolean;
}

/**
 * `bytes` random bytes in hex, for temporary names. node:crypto is loaded at the first call,
 * not at start: commands that write nothing (`ls`, `version`) never pay for it.
 */
export function randomHex(bytes: number): string {
  return process.getBuiltinModule('node:crypto').randomBytes(bytes).toString('hex');
}

/** A sibling temporary name for `path`. */
export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomHex(4)}.tmp`);
}

/** fsyncs a file or a directory by its path. */
export async function syncPath(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Puts the synced temporary file in place and makes the change durable. */
async function commit(tmp: string, path: string, exclusive: boolean): Promise<void> {
  if (exclusive) {
    await fsp.link(tmp, path);
    await fsp.unlink(tmp);
  } else {
    await fsp.rename(tmp, path);
  }
  await syncPath(dirname(path));
}

/** Moves a temporary file that is already synced over `path`, durably. */
export function renameDurably(tmp: string, path: string): Promise<void> {
  return commit(tmp, path, false);
}

/** `writeFileDurably` for code that works synchronously on purpose (the snapshot store). */
export function writeFileDurablySync(path: string, data: string, opts: { tmp?: string } = {}): void {
  const tmp = opts.tmp ?? tempBeside(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Writes `data` to `path` durably. */
export async function writeFileDurably(
  path: string,
  data: Uint8Array | string,
  opts: DurableOptions = {},
): Promise<void> {
  const tmp = opts.tmp ?? tempBeside(path);
  try {
    const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await commit(tmp, path, opts.exclusive ?? false);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Writes `path` durably through `produce`, which writes into the stream it is given and
 * resolves when done (ending the stream is done here).
 */
export async function writeStreamDurably(
  path: string,
  produce: (out: Writable) => Promise<void>,
  opts: DurableOptions = {},
): Promise<void> {
  const tmp = opts.tmp ?? tempBeside(path);
  const out = createWriteStream(tmp, { mode: opts.mode ?? 0o644, flags: 'wx' });
  try {
    await produce(out);
    if (!out.writableEnded) out.end();
    await process.getBuiltinModule('node:stream/promises').finished(out);
    await syncPath(tmp);
    await commit(tmp, path, opts.exclusive ?? false);
  } catch (err) {
    // the stream opens its file asynchronously: remove it only once the stream is closed
    if (!out.closed) await new Promise<void>((r) => out.once('close', () => r()).destroy());
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
}
