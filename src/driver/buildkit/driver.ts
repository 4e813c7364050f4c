/**
 * driver/buildkit/driver — BuildKit daemons as builder nodes: the `remote` driver (a buildkitd
 * at a unix:// or tcp:// address, TLS from the node's driver options) and the `docker` driver
 * (the BuildKit inside a Docker engine, through the Engine API's /grpc and /session).
 *
 * A node's share of a build runs on the daemon with the `dockerfile.v0` frontend; its images
 * come back into polyarch's content store and go on as platform results like local ones:
 * a buildkitd sends them as an OCI layout tarball through the session (the `oci` exporter);
 * a Docker engine's BuildKit, which has no such exporter, stores each platform in the engine
 * under a temporary name that polyarch then reads with `docker save` and removes.
 */
import type { BuilderNodeRecord, NodeInfo } from '../../builder/index.js';
import { formatInGroups } from '../../builder/platforms.js';
import { BuildkitClient, type BuildkitEndpoint } from '../../buildkit/client.js';
import { parseAddress } from '../../buildkit/transport.js';
import { messageOf } from '../../errors.js';
import { DockerEngine } from '../../exporter/docker-engine.js';
import { parsePlatform } from '../../platforms/index.js';
import type { Driver } from '../index.js';
import { buildkitNode, workerPlatformsOf } from './node.js';

/** Where a node's daemon is, from its record. */
export function endpointOf(kind: 'remote' | 'docker', node: BuilderNodeRecord): BuildkitEndpoint {
  const o = node.driverOpts ?? {};
  const tls =
    o.cacert || o.cert || o.key || o.servername
      ? {
          ...(o.cacert ? { cacert: o.cacert } : {}),
          ...(o.cert ? { cert: o.cert } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(o.servername ? { servername: o.servername } : {}),
        }
      : undefined;
  return { driver: kind, address: node.endpoint, ...(tls ? { tls } : {}) };
}

/**
 * A daemon too old to say its BuildKit version (no Info call, BuildKit < 0.11): for the docker
 * driver, the engine's version is what can be known.
 */
async function engineVersion(kind: 'remote' | 'docker', node: BuilderNodeRecord): Promise<string> {
  if (kind !== 'docker') return '';
  try {
    return (await new DockerEngine(parseAddress(node.endpoint)).info()).serverVersion;
  } catch {
    return '';
  }
}

async function describe(
  kind: 'remote' | 'docker',
  node: BuilderNodeRecord,
  timeoutMs: number,
): Promise<NodeInfo> {
  const configured = node.platforms.map((p) => parsePlatform(p));
  const base = {
    name: node.name,
    driver: node.driver,
    endpoint: node.endpoint,
    ...(node.driverOpts ? { driverOpts: node.driverOpts } : {}),
  };
  let bk: BuildkitClient | undefined;
  try {
    bk = await BuildkitClient.connect(endpointOf(kind, node), { timeoutMs });
    const [version, workers] = await Promise.all([bk.info(), bk.listWorkers()]);
    const v =
      version?.version ??
      workers.find((w) => w.version)?.version?.version ??
      (await engineVersion(kind, node));
    return {
      ...base,
      status: 'running',
      version: v,
      platforms: formatInGroups(configured, workerPlatformsOf(workers)),
      labels: workers[0]?.labels ?? {},
    };
  } catch (err) {
    return {
      ...base,
      status: 'inactive',
      version: '',
      platforms: formatInGroups(configured),
      labels: {},
      error: messageOf(err),
    };
  } finally {
    bk?.close();
  }
}

export function buildkitDriver(kind: 'remote' | 'docker'): Driver {
  return {
    describe: (_b, node, ctx) => describe(kind, node, ctx.timeoutMs ?? 20_000),
    open: (node, deps) =>
      buildkitNode({
        builder: deps.builder.name,
        name: node.name,
        configured: node.platforms.map((p) => parsePlatform(p)),
        endpoint: endpointOf(kind, node),
        worker: deps.worker,
        env: deps.env,
      }),
  };
}
