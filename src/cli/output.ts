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
 * non-blocking pipe, EPIPE, EBADF): the stream then does what Node does with it.
 */
type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Writes `bytes` to `fd` as far as it goes; how many bytes were written. Never throws. */
function writeAll(fd: number, bytes: Uint8Array): number {
  const { writeSync } = process.getBuiltinModule('node:fs');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch {
    // left to the stream
  }
  return done;
}

/**
 * `fd` as a writable stream that is `open()` (process.stdout or process.stderr) built only when
 * a command asks for more than a write of a string or bytes.
 */
export function lazyOutput(fd: number, open: () => Stream): Stream {
  let stream: Stream | undefined;
  const opened = (): Stream => {
    stream ??= open();
    return stream;
  };
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (stream === undefined && rest.length === 0) {
      const bytes =
        typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? chunk : undefined;
      if (bytes !== undefined) {
        const done = writeAll(fd, bytes);
        if (done === bytes.length) return true;
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
