/**
 * buildkit/client — a BuildKit daemon driven from polyarch: its version and workers, its disk
 * usage and prune, and a solve with the session it calls back into and its status stream.
 *
 *     const bk = await BuildkitClient.connect({ driver: 'docker', address: 'unix:///var/run/docker.sock' });
 *     const workers = await bk.listWorkers();
 *     const res = await bk.solve({ frontend: 'dockerfile.v0', frontendAttrs, exporters }, {
 *       session: { dirs: new Map([['context', dir], ['dockerfile', dir]]), env },
 *       onStatus: (s) => progress.forward(s), signal });
 *     bk.close();
 *
 * The `remote` driver speaks gRPC straight to a buildkitd and carries the session inside
 * `Control.Session`; the `docker` driver reaches the engine's BuildKit through the Engine
 * API's `/grpc` and opens the session with `/session`.
 */
import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import { BuildError, CancelledError, type ErrorSource, messageOf } from '../errors.js';
import type { SolveStatus } from '../progress/events.js';
import { GrpcClient, GrpcCode, GrpcError, serveGrpc } from './grpc.js';
import { createSession, type SessionOptions, sessionHeaders } from './session.js';
import { toSolveStatus } from './status.js';
import { dialDaemon, engineUpgrade, type TlsOptions } from './transport.js';
import {
  type BuildkitVersionMsg,
  type CacheEntry,
  decodeBytesMessage,
  decodeDiskUsageResponse,
  decodeErrorSource,
  decodeInfoResponse,
  decodeListWorkersResponse,
  decodeSolveResponse,
  decodeStatusResponse,
  decodeUsageRecord,
  type ExporterEntry,
  encodeBytesMessage,
  encodePruneRequest,
  encodeSolveRequest,
  encodeStrings1,
  type PruneRequestMsg,
  type UsageRecordMsg,
  type WorkerRecordMsg,
} from './wire.js';

export interface BuildkitEndpoint {
  driver: 'remote' | 'docker';
  /** `unix://…` or `tcp://…` */
  address: string;
  tls?: TlsOptions;
}

export interface ConnectOptions {
  /** how long connecting may take (default 20 s, as buildx) */
  timeoutMs?: number;
}

export interface SolveInput {
  frontend: string;
  frontendAttrs: Record<string, string>;
  exporters: readonly ExporterEntry[];
  entitlements?: readonly string[];
  cacheExports?: readonly CacheEntry[];
  cacheImports?: readonly CacheEntry[];
}

export interface SolveCallOptions {
  session: SessionOptions;
  onStatus?: (status: SolveStatus) => void;
  signal?: AbortSignal;
}

const control = '/moby.buildkit.v1.Control';

/** A daemon's gRPC status as polyarch's error: BuildKit's message, what was being done before it. */
function daemonError(what: string, err: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted || (err instanceof GrpcError && err.code === GrpcCode.cancelled)) {
    return new CancelledError('failed to solve: Canceled: context canceled', { cause: err });
  }
  if (err instanceof CancelledError || err instanceof BuildError) return err;
  const source = err instanceof GrpcError && err.details ? sourceOf(err.details) : undefined;
  return new BuildError(`${what}: ${messageOf(err)}`, { cause: err, ...(source ? { source } : {}) });
}

/** The Dockerfile lines BuildKit says an error is about, for the excerpt under it. */
function sourceOf(details: Uint8Array): ErrorSource | undefined {
  const s = decodeErrorSource(details);
  const range = s?.ranges[0];
  if (!s || !range || range.startLine < 1) return undefined;
  return {
    file: s.filename,
    lines: Buffer.from(s.data).toString('utf8').replace(/\n$/, '').split('\n'),
    startLine: range.startLine,
    endLine: Math.max(range.endLine, range.startLine),
  };
}

/** The bidirectional Control.Session call as a byte stream (BuildKit's grpchijack). */
function sessionTunnel(
  grpc: GrpcClient,
  headers: Record<string, string | string[]>,
  signal: AbortSignal,
): Duplex {
  const metadata: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) metadata[k.toLowerCase()] = v;
  const call = grpc.bidi(`${control}/Session`, { metadata, signal });
  const duplex = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      call.send(encodeBytesMessage(chunk)).then(() => cb(), cb);
    },
    final(cb) {
      call.end();
      cb();
    },
    read() {},
  });
  (async () => {
    try {
      for await (const m of call.messages) duplex.push(Buffer.from(decodeBytesMessage(m)));
      duplex.push(null);
    } catch (err) {
      duplex.destroy(err as Error);
    }
  })();
  return duplex;
}

export class BuildkitClient {
  readonly endpoint: BuildkitEndpoint;
  readonly #grpc: GrpcClient;
  readonly #timeoutMs: number;

  private constructor(endpoint: BuildkitEndpoint, grpc: GrpcClient, timeoutMs: number) {
    this.endpoint = endpoint;
    this.#grpc = grpc;
    this.#timeoutMs = timeoutMs;
  }

  /** Connects to the daemon (nothing is asked yet). */
  static async connect(endpoint: BuildkitEndpoint, opts: ConnectOptions = {}): Promise<BuildkitClient> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const socket =
      endpoint.driver === 'docker'
        ? await engineUpgrade(endpoint.address, '/grpc', {}, timeoutMs)
        : await dialDaemon(endpoint.address, endpoint.tls, timeoutMs);
    return new BuildkitClient(endpoint, GrpcClient.over(socket), timeoutMs);
  }

  close(): void {
    this.#grpc.close();
  }

  /** The daemon's BuildKit version; undefined when it has no Info call (BuildKit < 0.11). */
  async info(): Promise<BuildkitVersionMsg | undefined> {
    try {
      return decodeInfoResponse(await this.#grpc.unary(`${control}/Info`, new Uint8Array()));
    } catch (err) {
      if (err instanceof GrpcError && err.code === GrpcCode.unimplemented) return undefined;
      throw daemonError('asking the daemon for its version', err);
    }
  }

  async listWorkers(): Promise<WorkerRecordMsg[]> {
    try {
      return decodeListWorkersResponse(await this.#grpc.unary(`${control}/ListWorkers`, encodeStrings1([])));
    } catch (err) {
      throw daemonError('listing the workers', err);
    }
  }

  async diskUsage(filters: readonly string[] = []): Promise<UsageRecordMsg[]> {
    try {
      return decodeDiskUsageResponse(await this.#grpc.unary(`${control}/DiskUsage`, encodeStrings1(filters)));
    } catch (err) {
      throw daemonError('reading disk usage', err);
    }
  }

  /** Prunes the daemon's build cache; answers what went. */
  async prune(req: PruneRequestMsg, signal?: AbortSignal): Promise<UsageRecordMsg[]> {
    const out: UsageRecordMsg[] = [];
    try {
      const opts = signal ? { signal } : {};
      for await (const m of this.#grpc.serverStream(`${control}/Prune`, encodePruneRequest(req), opts)) {
        out.push(decodeUsageRecord(m));
      }
    } catch (err) {
      throw daemonError('pruning the build cache', err, signal);
    }
    return out;
  }

  /** Opens the session the daemon calls back into; answers its id and how to close it. */
  async #openSession(opts: SessionOptions, signal: AbortSignal): Promise<{ id: string; close(): void }> {
    const spec = createSession(opts);
    const headers = sessionHeaders(spec);
    const socket =
      this.endpoint.driver === 'docker'
        ? await engineUpgrade(this.endpoint.address, '/session', headers, this.#timeoutMs)
        : sessionTunnel(this.#grpc, headers, signal);
    const server = serveGrpc(socket, spec.handlers);
    return {
      id: spec.id,
      close: () => {
        server.close();
        socket.destroy();
      },
    };
  }

  /** Runs a build on the daemon; answers the exporters' response. */
  async solve(input: SolveInput, opts: SolveCallOptions): Promise<Record<string, string>> {
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const ref = randomBytes(13).toString('hex').slice(0, 25);
    const session = await this.#openSession(opts.session, signal);
    const statusDone = this.#followStatus(ref, signal, opts.onStatus);
    try {
      const req = encodeSolveRequest({
        ref,
        session: session.id,
        frontend: input.frontend,
        frontendAttrs: input.frontendAttrs,
        exporters: input.exporters,
        enableSessionExporter: false,
        ...(input.entitlements ? { entitlements: input.entitlements } : {}),
        ...(input.cacheExports ? { cacheExports: input.cacheExports } : {}),
        ...(input.cacheImports ? { cacheImports: input.cacheImports } : {}),
      });
      const res = decodeSolveResponse(await this.#grpc.unary(`${control}/Solve`, req, { signal }));
      await Promise.race([statusDone, new Promise((r) => setTimeout(r, 2000))]);
      return res;
    } catch (err) {
      await Promise.race([statusDone, new Promise((r) => setTimeout(r, 500))]);
      throw daemonError('failed to solve', err, opts.signal);
    } finally {
      stop.abort();
      session.close();
    }
  }

  async #followStatus(ref: string, signal: AbortSignal, onStatus?: (s: SolveStatus) => void): Promise<void> {
    try {
      for await (const m of this.#grpc.serverStream(`${control}/Status`, encodeStrings1([ref]), { signal })) {
        onStatus?.(toSolveStatus(decodeStatusResponse(m)));
      }
    } catch {
      // the status stream ends with the solve; its errors are the solve's to report
    }
  }
}
