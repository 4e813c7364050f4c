/**
 * driver/endpoints — the endpoints and driver options `create` records for a node, checked
 * as buildx checks them: the remote driver takes a BuildKit address (`unix://`, `tcp://`) and
 * TLS files; the docker driver an Engine API address (default `$DOCKER_HOST`, else the local
 * socket); the local driver none (it is this machine). Pure but for reading the TLS files.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BuilderDriver } from '../builder/nodegroup.js';
import { InvalidArgumentError } from '../errors.js';

/** The Docker Engine's socket when `$DOCKER_HOST` is not set. */
export const defaultDockerHost = 'unix:///var/run/docker.sock';

/** What `create` was given for a node. */
export interface EndpointInput {
  driver: BuilderDriver;
  /** `create … ENDPOINT` */
  endpoint?: string;
  /** `--driver-opt`, parsed */
  driverOpts?: Record<string, string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The `--driver-opt` keys each driver takes. */
const driverOptions: Record<BuilderDriver, readonly string[]> = {
  local: [],
  remote: ['cacert', 'cert', 'key', 'servername', 'default-load'],
  docker: ['default-load'],
};

/** Options naming files, made absolute at `create` so builds from any directory find them. */
const fileOptions = new Set(['cacert', 'cert', 'key']);

/** Checks a `unix://` or `tcp://host:port` address; answers it unchanged. */
export function checkAddress(what: string, address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new InvalidArgumentError(`invalid ${what} "${address}": expected unix:///path or tcp://host:port`);
  }
  if (url.protocol === 'unix:') {
    if (url.pathname === '' || url.pathname === '/') {
      throw new InvalidArgumentError(`invalid ${what} "${address}": a unix:// address names a socket path`);
    }
    return address;
  }
  if (url.protocol === 'tcp:') {
    if (url.hostname === '' || url.port === '') {
      throw new InvalidArgumentError(
        `invalid ${what} "${address}": a tcp:// address needs a host and a port`,
      );
    }
    return address;
  }
  throw new InvalidArgumentError(
    `invalid ${what} "${address}": unsupported scheme "${url.protocol.replace(/:$/, '')}" (expected unix:// or tcp://)`,
  );
}

/** The endpoint to record, or undefined to keep a node's (or, for local, the store's). */
export function nodeEndpoint(input: EndpointInput): string | undefined {
  switch (input.driver) {
    case 'local':
      if (input.endpoint !== undefined) {
        throw new InvalidArgumentError(
          `the local driver runs builds in this process and takes no endpoint (got "${input.endpoint}"); for a BuildKit daemon use --driver remote or --driver docker`,
        );
      }
      return undefined;
    case 'remote':
      if (input.endpoint === undefined) {
        const host = input.env.BUILDKIT_HOST;
        if (host) return checkAddress('remote endpoint', host);
        return undefined;
      }
      return checkAddress('remote endpoint', input.endpoint);
    case 'docker':
      return checkAddress('docker endpoint', input.endpoint ?? input.env.DOCKER_HOST ?? defaultDockerHost);
  }
}

/** The driver options to record: known keys only, files made absolute and present. */
export function nodeDriverOpts(input: EndpointInput): Record<string, string> | undefined {
  if (input.driverOpts === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.driverOpts)) {
    if (!driverOptions[input.driver].includes(k)) {
      throw new InvalidArgumentError(`invalid driver option ${k} for ${input.driver} driver`);
    }
    if (fileOptions.has(k)) {
      const path = resolve(input.cwd, v);
      if (!existsSync(path)) throw new InvalidArgumentError(`--driver-opt ${k}=${v}: ${path} does not exist`);
      out[k] = path;
    } else {
      out[k] = v;
    }
  }
  return out;
}
