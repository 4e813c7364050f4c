/**
 * buildkit/grpc — the little of gRPC polyarch needs, on node:http2: calls to a BuildKit daemon
 * (unary, server-streaming, bidirectional) and a server for the session the daemon calls back
 * into. gRPC over HTTP/2 is a POST to `/<service>/<method>` with `content-type:
 * application/grpc`, each message framed as a compressed flag, a 4-byte length and the bytes,
 * and the outcome in the `grpc-status`/`grpc-message` trailers.
 *
 * Both directions run over connections polyarch opened (a socket upgraded through the Engine
 * API, or a stream inside a stream), which the generic gRPC libraries do not serve as a server
 * over; HTTP/2 itself is Node's.
 */
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { CancelledError, messageOf, PolyarchError } from '../errors.js';
import { decodeRpcStatus } from './wire.js';

/** A gRPC status other than OK, with BuildKit's message. */
export class GrpcError extends Error {
  readonly code: number;
  /** google.rpc.Status with its details (grpc-status-details-bin), when the daemon sent it */
  readonly details: Uint8Array | undefined;
  constructor(code: number, message: string, details?: Uint8Array) {
    super(message);
    this.name = 'GrpcError';
    this.code = code;
    this.details = details;
  }
}

/** gRPC status codes polyarch looks at. */
export const GrpcCode = {
  cancelled: 1,
  unknown: 2,
  notFound: 5,
  unimplemented: 12,
  unavailable: 14,
} as const;

/** One length-prefixed message. */
export function frame(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
}

/** Splits a byte stream into gRPC messages. */
export async function* deframe(source: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Uint8Array> {
  let buf = Buffer.alloc(0);
  for await (const chunk of source) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : Buffer.from(chunk);
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      if (buf[0] !== 0)
        throw new GrpcError(GrpcCode.unimplemented, 'compressed gRPC messages are not supported');
      yield buf.subarray(5, 5 + len);
      buf = buf.subarray(5 + len);
    }
  }
}

function statusOf(headers: http2.IncomingHttpHeaders): GrpcError | undefined {
  const code = Number(headers['grpc-status'] ?? 0);
  if (code === 0) return undefined;
  let message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
  const details = headers['grpc-status-details-bin'];
  if (!message && typeof details === 'string')
    message = decodeRpcStatus(Buffer.from(details, 'base64')).message;
  return new GrpcError(code, message || `gRPC status ${code}`);
}

export interface CallOptions {
  signal?: AbortSignal;
  /** request metadata (lower-case names) */
  metadata?: Record<string, string | string[]>;
}

/** A bidirectional call: send messages, read the answers. */
export interface BidiCall {
  send(msg: Uint8Array): Promise<void>;
  end(): void;
  messages: AsyncIterable<Uint8Array>;
  /** ends the call at once */
  cancel(): void;
}

/** A gRPC client on one HTTP/2 connection. */
export class GrpcClient {
  readonly #session: http2.ClientHttp2Session;

  constructor(session: http2.ClientHttp2Session) {
    this.#session = session;
  }

  /** An HTTP/2 client over a connection that is already open (an upgraded socket, a tunnel). */
  static over(socket: Duplex): GrpcClient {
    const session = http2.connect('http://buildkit', { createConnection: () => socket as never });
    session.on('error', () => {});
    return new GrpcClient(session);
  }

  close(): void {
    this.#session.close();
  }

  destroy(): void {
    this.#session.destroy();
  }

  /** Opens a call; the answer's messages end with the trailers' status. */
  bidi(path: string, opts: CallOptions = {}): BidiCall {
    const stream = this.#session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...opts.metadata,
    });
    let status: GrpcError | undefined;
    let headersOk = true;
    // the answer is complete once its status came (in the trailers, or in the headers of a
    // trailers-only answer); a stream that ends before is a lost connection
    let answered = false;
    stream.on('response', (h) => {
      status = statusOf(h);
      if (h[':status'] !== 200) headersOk = false;
      if (h['grpc-status'] !== undefined) answered = true;
    });
    stream.on('trailers', (t) => {
      status = statusOf(t);
      answered = true;
    });
    const onAbort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
    async function* messages(): AsyncGenerator<Uint8Array> {
      try {
        yield* deframe(stream);
      } catch (err) {
        if (opts.signal?.aborted) throw new CancelledError('cancelled', { cause: err });
        if (err instanceof GrpcError) throw err;
        throw new GrpcError(
          GrpcCode.unavailable,
          `the connection to the daemon was lost (${messageOf(err)})`,
        );
      }
      if (opts.signal?.aborted) throw new CancelledError();
      if (status) throw status;
      if (!headersOk) throw new GrpcError(GrpcCode.unknown, `${path}: the daemon did not answer with gRPC`);
      if (!answered) throw new GrpcError(GrpcCode.unavailable, 'the connection to the daemon was lost');
    }
    return {
      send: (msg) =>
        new Promise((resolve, reject) => stream.write(frame(msg), (err) => (err ? reject(err) : resolve()))),
      end: () => stream.end(),
      messages: messages(),
      cancel: onAbort,
    };
  }

  /** A call answering with a stream of messages. */
  async *serverStream(path: string, req: Uint8Array, opts: CallOptions = {}): AsyncGenerator<Uint8Array> {
    const call = this.bidi(path, opts);
    await call.send(req);
    call.end();
    yield* call.messages;
  }

  /** A call answering with one message. */
  async unary(path: string, req: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    let answer: Uint8Array | undefined;
    for await (const m of this.serverStream(path, req, opts)) answer ??= m;
    if (!answer) throw new PolyarchError('BUILD', `${path}: the daemon answered with no message`);
    return answer;
  }
}

/**
 * A stream's chunks, without destroying the stream when the reader stops early (a `for await`
 * left with `return` destroys its stream, which HTTP/2 says as RST_STREAM CANCEL before the
 * answer's trailers are out).
 */
async function* keepOpen(stream: Duplex): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (c: Buffer) => {
    queue.push(c);
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (err: unknown) => {
    failed = err;
    notify();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', onError);
  try {
    for (;;) {
      const c = queue.shift();
      if (c) {
        yield c;
        continue;
      }
      if (failed) throw failed;
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
    stream.off('error', onError);
    stream.resume();
  }
}

/** A call the daemon makes into the session. */
export interface ServerCall {
  /** the request's headers (gRPC metadata) */
  metadata: http2.IncomingHttpHeaders;
  messages: AsyncIterable<Uint8Array>;
  send(msg: Uint8Array): Promise<void>;
}

export type ServerHandler = (call: ServerCall) => Promise<void>;

/** Serves gRPC handlers, by `/<service>/<method>`, on a connection polyarch opened. */
export function serveGrpc(
  socket: Duplex,
  handlers: ReadonlyMap<string, ServerHandler>,
): http2.ServerHttp2Session {
  const session = http2.performServerHandshake(socket as never);
  session.on('error', () => {});
  session.on('stream', (stream, headers) => {
    const handler = handlers.get(String(headers[':path']));
    if (!handler) {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(GrpcCode.unimplemented),
          'grpc-message': encodeURIComponent(`unknown method ${headers[':path']}`),
        },
        { endStream: true },
      );
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    let trailers: Record<string, string> = { 'grpc-status': '0' };
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.on('error', () => {});
    const call: ServerCall = {
      metadata: headers,
      messages: deframe(keepOpen(stream)),
      send: (msg) =>
        new Promise((resolve, reject) => {
          if (stream.destroyed) return reject(new Error('the daemon closed the call'));
          stream.write(frame(msg), (err) => (err ? reject(err) : resolve()));
        }),
    };
    handler(call).then(
      () => stream.end(),
      (err: unknown) => {
        const code = err instanceof GrpcError ? err.code : GrpcCode.unknown;
        trailers = {
          'grpc-status': String(code),
          'grpc-message': encodeURIComponent(err instanceof Error ? err.message : String(err)),
        };
        if (!stream.destroyed) stream.end();
      },
    );
  });
  return session;
}
