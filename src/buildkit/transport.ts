/**
 * buildkit/transport — connections to a BuildKit daemon: a buildkitd's own gRPC socket
 * (`unix://path`, `tcp://host:port`, TLS with the remote driver's cacert/cert/key/servername),
 * or a Docker engine's BuildKit through the Engine API (`POST /grpc` and `POST /session`,
 * each upgraded to h2c, over `unix://` or `tcp://`). Every failure says which endpoint.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { BuildError, InvalidArgumentError } from '../errors.js';

/** The remote driver's TLS options (buildx's `--driver-opt cacert=…,cert=…,key=…,servername=…`). */
export interface TlsOptions {
  cacert?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

export type Address = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** `unix:///run/buildkit/buildkitd.sock`, `tcp://10.0.0.7:1234`. */
export function parseAddress(address: string): Address {
  if (address.startsWith('unix://')) {
    const path = address.slice('unix://'.length);
    if (!path) throw new InvalidArgumentError(`invalid address "${address}": no socket path`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(address);
  if (m) return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new InvalidArgumentError(`invalid address "${address}": expected unix:///path or tcp://host:port`);
}

/** A connection failure, said with the endpoint. */
function unreachable(endpoint: string, why: string, cause?: unknown): BuildError {
  return new BuildError(`cannot reach ${endpoint}: ${why}`, cause === undefined ? {} : { cause });
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code
    ? `${e.code}${e.message && !e.message.includes(e.code) ? `: ${e.message}` : ''}`
    : String(e?.message ?? err);
}

/** Opens a plain socket (or TLS when options are given) to a buildkitd's gRPC endpoint. */
export function dialDaemon(address: string, t: TlsOptions | undefined, timeoutMs: number): Promise<Duplex> {
  const a = parseAddress(address);
  return new Promise((resolve, reject) => {
    const useTls = a.kind === 'tcp' && t !== undefined && (t.cacert || t.cert || t.servername);
    const sock: net.Socket = useTls
      ? tls.connect({
          host: a.kind === 'tcp' ? a.host : '',
          port: a.kind === 'tcp' ? a.port : 0,
          ALPNProtocols: ['h2'],
          servername: t.servername ?? (a.kind === 'tcp' ? a.host : undefined),
          ...(t.cacert ? { ca: readFileSync(t.cacert) } : {}),
          ...(t.cert ? { cert: readFileSync(t.cert) } : {}),
          ...(t.key ? { key: readFileSync(t.key) } : {}),
        })
      : a.kind === 'unix'
        ? net.connect(a.path)
        : net.connect(a.port, a.host);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(unreachable(address, `no answer in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.once(useTls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      sock.on('error', () => {});
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(unreachable(address, reason(err), err));
    });
  });
}

/** `POST <path>` on a Docker engine, upgraded to h2c: the socket that carries HTTP/2 after. */
export function engineUpgrade(
  address: string,
  path: '/grpc' | '/session',
  headers: Record<string, string | string[]>,
  timeoutMs: number,
): Promise<Duplex> {
  const a = parseAddress(address);
  return new Promise((resolve, reject) => {
    const req = request({
      ...(a.kind === 'unix' ? { socketPath: a.path } : { host: a.host, port: a.port }),
      method: 'POST',
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'h2c', ...headers },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(unreachable(address, `no answer in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    req.on('upgrade', (_res, socket, head) => {
      clearTimeout(timer);
      if (head.length) socket.unshift(head);
      socket.on('error', () => {});
      resolve(socket);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () =>
        reject(
          unreachable(
            address,
            `the Docker engine refused ${path} (HTTP ${res.statusCode}${body.trim() ? `: ${body.trim()}` : ''})`,
          ),
        ),
      );
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(unreachable(address, reason(err), err));
    });
    req.end();
  });
}
