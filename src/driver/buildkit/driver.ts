/**
 * driver/buildkit/driver — BuildKit daemons as builder nodes: the `remote` driver (a buildkitd
 * at a unix:// or tcp:// address, TLS from the node's driver options) and the `docker` driver
 * (the BuildKit inside a Docker engine, through the Engine API's /grpc and /session).
 */
import { BuildError } from '../../errors.js';
import type { Driver } from '../index.js';

export function buildkitDriver(kind: 'remote' | 'docker'): Driver {
  const unavailable = (node: string) =>
    new BuildError(`node ${node}: the ${kind} driver's BuildKit client is not in this build yet`);
  return {
    describe: async () => {
      throw unavailable(kind);
    },
    open: (node) => {
      throw unavailable(node.name);
    },
  };
}
