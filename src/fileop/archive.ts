/**
 * fileop/archive — is an ADD source a tar archive, and its decompressed stream.
 *
 * As BuildKit's `isArchivePath`: a regular file whose content, after decompression by magic
 * number (gzip, bzip2, xz, zstd, or none), starts with a valid tar header. An empty archive,
 * a compressed non-tar, or anything else is copied as a plain file.
 *
 * gzip is decompressed in-process (zlib); bzip2, xz and zstd by one `bzip2`/`xz`/`zstd -dc`
 * process per archive (Node has no decoder for them).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BuildError, messageOf } from '../errors.js';
import { type Compression, detectCompression } from '../snapshot/compression.js';
import { BLOCK_SIZE, decodeHeaderBlock, isZeroBlock } from '../tar/header.js';

/**
 * True when a 512-byte block is a tar header Go's archive/tar would accept as the first one:
 * not all zeros, a checksum that agrees, and numeric fields that parse.
 */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < BLOCK_SIZE) return false;
  const b = Buffer.from(block.buffer, block.byteOffset, BLOCK_SIZE);
  if (isZeroBlock(b)) return false;
  try {
    decodeHeaderBlock(b);
    return true;
  } catch {
    return false;
  }
}

export interface Decompressed {
  readonly compression: Compression;
  readonly stream: Readable;
  /** Stops reading and ends a helper process; safe to call more than once. */
  close(): void;
}

const tools: Record<Exclude<Compression, 'none' | 'gzip'>, string> = {
  bzip2: 'bzip2',
  xz: 'xz',
  zstd: 'zstd',
};

/** Opens `path` decompressed according to its magic number. */
export async function openDecompressed(path: string): Promise<Decompressed> {
  const head = Buffer.alloc(6);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 6, 0);
  } finally {
    await fh.close();
  }
  const compression = detectCompression(head);
  const file = createReadStream(path);
  if (compression === 'none') return { compression, stream: file, close: () => file.destroy() };
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    file.pipe(gunzip);
    file.on('error', (err) => gunzip.destroy(err));
    return {
      compression,
      stream: gunzip,
      close: () => {
        file.destroy();
        gunzip.destroy();
      },
    };
  }
  const tool = tools[compression];
  const child: ChildProcess = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  let closed = false;
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.on('error', (err) =>
    out.destroy(
      new BuildError(`decompressing ${path} (${compression}) with ${tool}: ${messageOf(err)}`, {
        cause: err,
      }),
    ),
  );
  child.stdin!.on('error', () => {}); // EPIPE when we stop early
  file.pipe(child.stdin!);
  child.stdout!.pipe(out, { end: false });
  child.on('close', (code) => {
    if (closed) return;
    if (code === 0) out.end();
    else
      out.destroy(new BuildError(`decompressing ${path} (${compression}): ${tool} failed: ${stderr.trim()}`));
  });
  return {
    compression,
    stream: out,
    close: () => {
      if (closed) return;
      closed = true;
      file.destroy();
      child.kill();
      out.destroy();
    },
  };
}

/**
 * BuildKit's isArchivePath: does the decompressed content of the regular file `path` start
 * with a tar header? Reads only the first block; undecodable content is simply not an archive.
 */
export async function isTarArchive(path: string): Promise<boolean> {
  let d: Decompressed;
  try {
    d = await openDecompressed(path);
  } catch {
    return false;
  }
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of d.stream) {
      chunks.push(chunk as Buffer);
      have += (chunk as Buffer).length;
      if (have >= 512) break;
    }
  } catch {
    return false;
  } finally {
    d.close();
  }
  return isTarHeader(Buffer.concat(chunks));
}
