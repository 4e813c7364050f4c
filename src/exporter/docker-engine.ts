/**
 * exporter/docker-engine — loading a built image into a Docker engine (`--load`), speaking the
 * Engine API over its socket (`DOCKER_HOST=unix://…` or `tcp://…`, else
 * /var/run/docker.sock): `GET /_ping`, `GET /info` (is the containerd image store on?), and
 * `POST /images/load` with the `docker load` archive streamed as the body. No docker CLI.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { text as readText } from 'node:stream/consumers';
import { InvalidArgumentError, PolyarchError, UnsupportedError } from '../errors.js';

export const defaultDockerSocket = '/var/run/docker.sock';

/** Where an engine listens. */
export type DockerEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * The engine the environment points at: `DOCKER_HOST`, else the default socket when it exists;
 * undefined when neither.
 */
export function dockerEndpoint(
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
): DockerEndpoint | undefined {
  const host = env.DOCKER_HOST;
  if (host !== undefined && host !== '') {
    if (host.startsWith('unix://')) return { kind: 'unix', path: host.slice('unix://'.length) };
    const m = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
    if (m) {
      if (env.DOCKER_TLS_VERIFY) {
        throw new UnsupportedError(
          `DOCKER_HOST=${host} with DOCKER_TLS_VERIFY: TLS to the engine is not supported`,
        );
      }
      return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    }
    throw new InvalidArgumentError(
      `DOCKER_HOST=${host}: expected unix:///path/to/docker.sock or tcp://host:port`,
    );
  }
  return exists(defaultDockerSocket) ? { kind: 'unix', path: defaultDockerSocket } : undefined;
}

export function formatEndpoint(e: DockerEndpoint): string {
  return e.kind === 'unix' ? `unix://${e.path}` : `tcp://${e.host}:${e.port}`;
}

/** An engine failed or answered an error. */
export class DockerEngineError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXEC', message, options);
    this.name = 'DockerEngineError';
  }
}

export interface EngineInfo {
  /** the engine keeps images in containerd (multi-platform images load whole) */
  containerdStore: boolean;
  serverVersion: string;
}

/** The Engine API calls a load needs. */
export class DockerEngine {
  readonly endpoint: DockerEndpoint;
  readonly #timeoutMs: number;
  constructor(endpoint: DockerEndpoint, opts: { timeoutMs?: number } = {}) {
    this.endpoint = endpoint;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  #request(
    method: string,
    path: string,
    opts: { body?: Readable; headers?: Record<string, string>; timeout?: boolean } = {},
  ): Promise<IncomingMessage> {
    const target =
      this.endpoint.kind === 'unix'
        ? { socketPath: this.endpoint.path }
        : { host: this.endpoint.host, port: this.endpoint.port };
    // node:http (and the dozen modules it brings) loads at the first request to an engine: the
    // image exporter shares this module's chunk, and most builds never talk to one
    const { request } = process.getBuiltinModule('node:http');
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...target,
          method,
          path,
          headers: { host: 'docker', ...opts.headers },
          ...(opts.timeout === false ? {} : { timeout: this.#timeoutMs }),
        },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.#timeoutMs / 1000} s`)));
      req.on('error', reject);
      if (opts.body) {
        opts.body.on('error', (err) => req.destroy(err));
        opts.body.pipe(req);
      } else req.end();
    });
  }

  async #json(method: string, path: string): Promise<unknown> {
    const res = await this.#request(method, path);
    const text = await readText(res);
    if ((res.statusCode ?? 500) >= 400) {
      throw new DockerEngineError(`${method} ${path}: HTTP ${res.statusCode}: ${messageOfBody(text)}`);
    }
    return text === '' ? undefined : JSON.parse(text);
  }

  /** Fails unless the engine answers. */
  async ping(): Promise<void> {
    const res = await this.#request('GET', '/_ping');
    const text = await readText(res);
    if (res.statusCode !== 200) throw new DockerEngineError(`ping: HTTP ${res.statusCode}: ${text}`);
  }

  async info(): Promise<EngineInfo> {
    const info = (await this.#json('GET', '/info')) as {
      ServerVersion?: string;
      DriverStatus?: [string, string][] | null;
    };
    const status = info.DriverStatus ?? [];
    return {
      containerdStore: status.some(
        ([k, v]) => k === 'driver-type' && v.startsWith('io.containerd.snapshotter'),
      ),
      serverVersion: info.ServerVersion ?? '',
    };
  }

  /**
   * Streams a `docker load` archive into the engine; answers its lines (`Loaded image: …`).
   * An error reported inside the answer stream fails.
   */
  async load(archive: Readable): Promise<string[]> {
    const res = await this.#request('POST', '/images/load?quiet=1', {
      body: archive,
      headers: { 'content-type': 'application/x-tar' },
      timeout: false,
    });
    const text = await readText(res);
    if ((res.statusCode ?? 500) >= 400) {
      throw new DockerEngineError(`loading into ${formatEndpoint(this.endpoint)}: ${messageOfBody(text)}`);
    }
    const lines: string[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
      try {
        msg = JSON.parse(line);
      } catch {
        lines.push(line);
        continue;
      }
      const err = msg.errorDetail?.message ?? msg.error;
      if (err) throw new DockerEngineError(`loading into ${formatEndpoint(this.endpoint)}: ${err}`);
      if (msg.stream?.trim()) lines.push(msg.stream.trim());
    }
    return lines;
  }

  /** `docker save` of one image: the archive as the engine streams it. */
  async save(name: string): Promise<IncomingMessage> {
    const res = await this.#request('GET', `/images/${encodeURIComponent(name)}/get`, { timeout: false });
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readText(res);
      throw new DockerEngineError(
        `saving ${name} from ${formatEndpoint(this.endpoint)}: ${messageOfBody(text)}`,
      );
    }
    return res;
  }

  /** Removes an image name (`docker rmi`); a name already gone is not an error. */
  async removeImage(name: string): Promise<void> {
    const res = await this.#request('DELETE', `/images/${encodeURIComponent(name)}`);
    const text = await readText(res);
    if ((res.statusCode ?? 500) >= 400 && res.statusCode !== 404) {
      throw new DockerEngineError(
        `removing ${name} from ${formatEndpoint(this.endpoint)}: ${messageOfBody(text)}`,
      );
    }
  }
}

function messageOfBody(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: string };
    if (j.message) return j.message;
  } catch {
    // not JSON
  }
  return text.trim();
}
