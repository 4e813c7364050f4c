/**
 * tar/reader — a streaming tar reader: a synchronous push parser (`TarParser`) and an async
 * iterator of entries on top of it (`readTar`).
 *
 * Reads ustar, GNU (`L`/`K` long names and links, base-256 numbers, dumpdirs) and PAX (local and
 * global extended headers, `SCHILY.xattr.*` and `LIBARCHIVE.xattr.*` with binary values). GNU
 * sparse files and multi-volume archives are refused with a clear error. Memory stays bounded:
 * content is handed on as slices of the input chunks, never gathered; only extended headers
 * (at most `maxMetaSize` bytes) are buffered. Tolerant like Go's reader: a missing end-of-archive
 * marker at an entry boundary is accepted, and bytes after the marker are ignored.
 */
import {
  BLOCK_SIZE,
  decodeHeaderBlock,
  entryTypeOf,
  isZeroBlock,
  paddingFor,
  parsePaxRecords,
  type RawHeader,
  resolveHeader,
  TarFormatError,
  type TarHeader,
} from './header.js';

/** Receives the parse synchronously. `data` slices are valid only during the call. */
export interface TarSink {
  entry(header: TarHeader): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

export interface TarParserOptions {
  /** Largest PAX or GNU long-name body accepted (default 8 MiB). */
  maxMetaSize?: number;
}

type State =
  | { kind: 'header' }
  | { kind: 'meta'; raw: RawHeader; buf: Buffer; filled: number; pad: number }
  | { kind: 'body'; remaining: number; pad: number }
  | { kind: 'skip'; remaining: number }
  | { kind: 'zero' } // one zero block seen; the next must be zero too
  | { kind: 'eof' };

/**
 * A push parser: `write()` chunks in order, then `end()`. Calls the sink synchronously and
 * throws `TarFormatError` (with the archive offset) on malformed input.
 */
export class TarParser {
  private readonly sink: TarSink;
  private readonly maxMeta: number;
  private state: State = { kind: 'header' };
  private readonly hdr = Buffer.alloc(BLOCK_SIZE);
  private hdrFill = 0;
  private globalPax = new Map<string, Buffer>();
  private localPax: Map<string, Buffer> | undefined;
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  private entryPath: string | undefined;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(sink: TarSink, options: TarParserOptions = {}) {
    this.sink = sink;
    this.maxMeta = options.maxMetaSize ?? 8 << 20;
  }

  /** True once the end-of-archive marker was read. */
  get done(): boolean {
    return this.state.kind === 'eof';
  }

  /** Skips as much of an entry's block padding as `available` bytes hold; answers how much. */
  #skipPad(st: { pad: number }, available: number): number {
    const take = Math.min(st.pad, available);
    st.pad -= take;
    this.offset += take;
    return take;
  }

  write(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const st = this.state;
      switch (st.kind) {
        case 'eof':
          this.offset += n - i;
          return;
        case 'header':
        case 'zero': {
          let block: Buffer;
          if (this.hdrFill === 0 && n - i >= BLOCK_SIZE) {
            block = chunk.subarray(i, i + BLOCK_SIZE);
          } else {
            const take = Math.min(BLOCK_SIZE - this.hdrFill, n - i);
            chunk.copy(this.hdr, this.hdrFill, i, i + take);
            this.hdrFill += take;
            i += take;
            this.offset += take;
            if (this.hdrFill < BLOCK_SIZE) return;
            this.hdrFill = 0;
            this.onBlock(this.hdr, this.offset - BLOCK_SIZE);
            continue;
          }
          i += BLOCK_SIZE;
          this.offset += BLOCK_SIZE;
          this.onBlock(block, this.offset - BLOCK_SIZE);
          break;
        }
        case 'meta': {
          const want = st.buf.length - st.filled;
          if (want > 0) {
            const take = Math.min(want, n - i);
            chunk.copy(st.buf, st.filled, i, i + take);
            st.filled += take;
            i += take;
            this.offset += take;
            if (st.filled < st.buf.length) return;
          }
          i += this.#skipPad(st, n - i);
          if (st.pad > 0) return;
          this.state = { kind: 'header' };
          this.onMeta(st.raw, st.buf);
          break;
        }
        case 'body': {
          if (st.remaining > 0) {
            const take = Math.min(st.remaining, n - i);
            const slice = take === n && i === 0 ? chunk : chunk.subarray(i, i + take);
            st.remaining -= take;
            i += take;
            this.offset += take;
            this.sink.data(slice);
            if (st.remaining > 0) return;
          }
          i += this.#skipPad(st, n - i);
          if (st.pad > 0) return;
          this.state = { kind: 'header' };
          this.entryPath = undefined;
          this.sink.entryEnd();
          break;
        }
        case 'skip': {
          const take = Math.min(st.remaining, n - i);
          st.remaining -= take;
          i += take;
          this.offset += take;
          if (st.remaining > 0) return;
          this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  /** Signals the end of input; throws when the archive stopped inside an entry. */
  end(): void {
    const st = this.state;
    if (st.kind === 'eof' || st.kind === 'zero') return;
    if (st.kind === 'header' && this.hdrFill === 0) {
      if (this.localPax || this.longName || this.longLink) {
        throw this.error('archive ends after an extended header, without its entry');
      }
      return;
    }
    const what = this.entryPath ? ` in the content of "${this.entryPath}"` : '';
    throw this.error(`unexpected end of archive${what}`);
  }

  private error(message: string, at = this.offset): TarFormatError {
    return new TarFormatError(`tar at offset ${at}: ${message}`);
  }

  private onBlock(block: Buffer, at: number): void {
    if (isZeroBlock(block)) {
      if (this.state.kind === 'zero') this.state = { kind: 'eof' };
      else this.state = { kind: 'zero' };
      return;
    }
    if (this.state.kind === 'zero') throw this.error('a lone zero block in the middle of the archive', at);
    let raw: RawHeader;
    try {
      raw = decodeHeaderBlock(block);
    } catch (err) {
      throw this.error(err instanceof Error ? err.message : String(err), at);
    }
    switch (raw.typeflag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K': {
        if (raw.size > this.maxMeta) {
          throw this.error(`extended header of ${raw.size} bytes exceeds the ${this.maxMeta}-byte limit`, at);
        }
        this.state = { kind: 'meta', raw, buf: Buffer.alloc(raw.size), filled: 0, pad: paddingFor(raw.size) };
        if (raw.size === 0) {
          this.state = { kind: 'header' };
          this.onMeta(raw, Buffer.alloc(0));
        }
        return;
      }
      case 'S':
        throw this.error(`GNU sparse file "${raw.path.toString('utf8')}" is not supported`, at);
      case 'M':
      case 'N':
        throw this.error(`GNU multi-volume archives are not supported ("${raw.path.toString('utf8')}")`, at);
      case 'V':
        // a volume label: no entry, skip its (normally empty) body
        this.state = { kind: 'skip', remaining: raw.size + paddingFor(raw.size) };
        return;
    }
    const type = entryTypeOf(raw.typeflag, this.longName ?? raw.path);
    if (!type) {
      const flag = raw.typeflag === '\0' ? '\\0' : raw.typeflag;
      throw this.error(`unsupported entry type '${flag}' for "${raw.path.toString('utf8')}"`, at);
    }
    let h: TarHeader;
    try {
      h = resolveHeader(raw, type, this.longName, this.longLink, this.globalPax, this.localPax);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw this.error(`entry "${(this.longName ?? raw.path).toString('utf8')}": ${msg}`, at);
    }
    this.localPax = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    this.sink.entry(h);
    // GNU dumpdirs carry a listing that is not content; other header-only types carry nothing
    const skip = raw.typeflag === 'D' ? raw.size : 0;
    if (h.size > 0) {
      this.entryPath = h.name;
      this.state = { kind: 'body', remaining: h.size, pad: paddingFor(h.size) };
    } else {
      this.sink.entryEnd();
      if (skip > 0) this.state = { kind: 'skip', remaining: skip + paddingFor(skip) };
    }
  }

  private onMeta(raw: RawHeader, body: Buffer): void {
    try {
      switch (raw.typeflag) {
        case 'x':
          this.localPax = parsePaxRecords(body);
          break;
        case 'g':
          for (const [k, v] of parsePaxRecords(body)) {
            if (v.length === 0) this.globalPax.delete(k);
            else this.globalPax.set(k, Buffer.from(v));
          }
          break;
        case 'L':
          this.longName = trimNul(body);
          break;
        case 'K':
          this.longLink = trimNul(body);
          break;
      }
    } catch (err) {
      throw this.error(err instanceof Error ? err.message : String(err));
    }
  }
}

function trimNul(b: Buffer): Buffer {
  const i = b.indexOf(0);
  return Buffer.from(i === -1 ? b : b.subarray(0, i));
}

/** One entry of `readTar`: its header and its content (read it, or it is skipped). */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

type Event = { kind: 'entry'; header: TarHeader } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/**
 * Reads a tar stream entry by entry. Each entry's body must be read before asking for the next
 * entry; unread content is skipped. The whole source is consumed (also past the end marker) so
 * that digests computed upstream see every byte.
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: TarParserOptions = {},
): AsyncGenerator<TarEntry> {
  let events: Event[] = [];
  let head = 0;
  const parser = new TarParser(
    {
      entry(header) {
        events.push({ kind: 'entry', header });
      },
      data(chunk) {
        events.push({ kind: 'data', chunk });
      },
      entryEnd() {
        events.push({ kind: 'end' });
      },
    },
    options,
  );
  const it: AsyncIterator<Uint8Array> | Iterator<Uint8Array> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let srcDone = false;
  const next = async (): Promise<Event | undefined> => {
    while (head >= events.length) {
      if (srcDone) return undefined;
      events = [];
      head = 0;
      const r = await it.next();
      if (r.done) {
        srcDone = true;
        parser.end();
      } else {
        const v = r.value;
        parser.write(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      }
    }
    return events[head++];
  };
  try {
    for (;;) {
      const ev = await next();
      if (!ev) return;
      if (ev.kind !== 'entry') continue; // content of an entry the caller did not read
      let finished = false;
      const body: AsyncIterable<Buffer> = {
        [Symbol.asyncIterator]: async function* () {
          while (!finished) {
            const e = await next();
            if (!e || e.kind === 'end') {
              finished = true;
              return;
            }
            if (e.kind === 'data') yield e.chunk;
          }
        },
      };
      yield { header: ev.header, body };
      while (!finished) {
        const e = await next();
        if (!e || e.kind === 'end') finished = true;
      }
    }
  } finally {
    if (srcDone) {
      // nothing left
    } else if (parser.done) {
      // read the rest (record padding) so that upstream digests cover the whole stream
      for (;;) {
        const r = await it.next();
        if (r.done) break;
      }
    } else {
      await it.return?.();
    }
  }
}
