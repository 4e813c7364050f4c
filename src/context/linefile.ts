/**
 * context/linefile — line files of paths read and written as streams: a file of one line per
 * path, in the order a walk visits paths (`comparePreorder`), so that a reader can be merged
 * with a walk without holding the file. Paths are escaped (`\` and newline) and go last on
 * their line, so they may hold any other character, tabs included.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { compareNames } from './source.js';

export const escapePath = (p: string): string => p.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
export const unescapePath = (p: string): string =>
  p.includes('\\') ? p.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : p;

const highChars = /[\uD800-\uFFFF]/;

/**
 * The order of a walk that visits a directory, then its entries by name (`compareNames`),
 * each entry's subtree before the next entry: `/a`, `/a/b`, `/a.txt`. The same as comparing the
 * paths component by component.
 */
export function comparePreorder(a: string, b: string): number {
  if (a === b) return 0;
  if (highChars.test(a) || highChars.test(b)) return compareByComponents(a, b);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1; // a's component ends first: it sorts first
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

function compareByComponents(a: string, b: string): number {
  const ac = a.split('/');
  const bc = b.split('/');
  const n = Math.min(ac.length, bc.length);
  for (let i = 0; i < n; i++) {
    const c = compareNames(ac[i]!, bc[i]!);
    if (c !== 0) return c;
  }
  return ac.length - bc.length;
}

/** Reads a file line by line, a chunk at a time; a missing file reads as empty. */
export class LineReader {
  private fd: number | undefined;
  private readonly buf = Buffer.allocUnsafe(64 * 1024);
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private lines: string[] = [];
  private at = 0;

  constructor(path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch {
      this.fd = undefined;
    }
  }

  /** The next line (without its newline), or undefined at the end. */
  next(): string | undefined {
    while (this.at >= this.lines.length) {
      if (this.fd === undefined) return undefined;
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      if (n === 0) {
        this.close();
        this.pending += this.decoder.end();
        this.lines = this.pending === '' ? [] : [this.pending];
        this.pending = '';
        this.at = 0;
        if (this.lines.length === 0) return undefined;
        break;
      }
      const parts = (this.pending + this.decoder.write(this.buf.subarray(0, n))).split('\n');
      this.pending = parts.pop()!;
      this.lines = parts;
      this.at = 0;
    }
    return this.lines[this.at++];
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Appends lines to a new file, 64 KiB at a time. */
export class LineWriter {
  private readonly fd: number;
  private chunk = '';

  constructor(path: string) {
    this.fd = openSync(path, 'w', 0o600);
  }

  write(line: string): void {
    this.chunk += `${line}\n`;
    if (this.chunk.length >= 64 * 1024) this.flush();
  }

  private flush(): void {
    if (this.chunk !== '') writeSync(this.fd, this.chunk);
    this.chunk = '';
  }

  /** Writes what is left and closes the file, synced to disk first when `sync`. */
  close(sync = false): void {
    try {
      this.flush();
      if (sync) fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}
