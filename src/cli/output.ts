/**
 * cli/output — a command's standard output or error that writes straight to its file descriptor
 * until something needs the stream itself.
 *
 * process.stdout and process.stderr build a stream at first use: Node loads its stream modules,
 * and for a pipe its net module (a script writing one line through process.stdout took 6 ms
 * more than one writing it with fs.writeSync), while most commands only write a few lines. On
 * Linux Node writes to those streams synchronously (files, pipes and terminals alike), so a
 * write(2) here keeps the order, and the waiting for a full pipe, that the stream would give.
 *
 * What is not a plain write (isTTY, columns, listeners, piping) builds the stream and is passed
 * to it, as is every write after that, and a write the descriptor refuses (EAGAIN on a
 * non-blocking pipe, EBADF): the stream then does what Node does with it.
 *
 * A pipe whose reader has gone (EPIPE: `polyarch ls | head -1`) is the exception, when a
 * `BrokenPipe` is given: it is told, and that write and every later one are dropped, on the
 * descriptor and on the stream alike, and on the other output that shares it. Node ignores
 * SIGPIPE, so without it the stream's error would end the process with a stack trace (and leave
 * a `run`'s container running); buildx, a Go program, dies of the signal.
 */
type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** What a process's outputs share: whether a reader has gone, and whom to tell when one goes. */
export interface BrokenPipe {
  /** a reader has gone: nothing more is written, to either output */
  readonly broken: boolean;
  /** a write met EPIPE */
  break(): void;
}

const isEPIPE = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

/**
 * Writes `bytes` to `fd` as far as it goes; how many bytes were written, and whether the write
 * met EPIPE. Never throws.
 */
function writeAll(fd: number, bytes: Uint8Array): { done: number; epipe: boolean } {
  const { writeSync } = process.getBuiltinModule('node:fs');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch (err) {
    // the rest is left to the stream, or dropped by the caller on EPIPE
    return { done, epipe: isEPIPE(err) };
  }
  return { done, epipe: false };
}

/**
 * `fd` as a writable stream that is `open()` (process.stdout or process.stderr) built only when
 * a command asks for more than a write of a string or bytes; with `pipe`, what a reader that
 * has gone would have got is dropped (see above).
 */
export function lazyOutput(fd: number, open: () => Stream, pipe?: BrokenPipe): Stream {
  let stream: Stream | undefined;
  const broken = () => pipe?.broken === true;
  const opened = (): Stream => {
    if (stream === undefined) {
      stream = open();
      if (pipe) {
        stream.on('error', (err: unknown) => {
          if (!isEPIPE(err) && !broken()) throw err; // as if there were no listener
          pipe.break();
        });
      }
    }
    return stream;
  };
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (broken()) {
      const cb = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (cb) queueMicrotask(cb);
      return true;
    }
    if (stream === undefined && rest.length === 0) {
      const bytes =
        typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? chunk : undefined;
      if (bytes !== undefined) {
        const { done, epipe } = writeAll(fd, bytes);
        if (done === bytes.length) return true;
        if (epipe && pipe) {
          pipe.break();
          return true;
        }
        return opened().write(bytes.subarray(done));
      }
    }
    return (opened().write as (...a: unknown[]) => boolean)(chunk, ...rest);
  };
  return new Proxy({} as Stream, {
    get(_target, key) {
      if (key === 'write') return write;
      const s = opened();
      const value = Reflect.get(s, key, s);
      return typeof value === 'function' ? value.bind(s) : value;
    },
    set: (_target, key, value) => Reflect.set(opened(), key, value),
    has: (_target, key) => key in opened(),
  });
}
