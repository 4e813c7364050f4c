/**
 * driver — a builder's nodes, one driver per node in a typed registry (buildx's driver
 * package): `local` is polyarch's own engine on this machine; `remote` a BuildKit daemon
 * reached at its address; `docker` the BuildKit inside a Docker engine. A driver describes its
 * node for `ls` and `inspect`, and opens it for a build.
 */
import type { Builder, BuilderDriver, BuilderNodeRecord, NodeInfo } from '../builder/index.js';
import { nodeInfo } from '../builder/node.js';
import type { Platform } from '../platforms/index.js';
import { parsePlatform } from '../platforms/index.js';
import type { Worker } from '../worker/worker.js';
import type { BuildNode } from './types.js';

type BuildkitKind = 'remote' | 'docker';

export { checkAddress, defaultDockerHost, nodeDriverOpts, nodeEndpoint } from './endpoints.js';
export type {
  BuildNode,
  Definition,
  NamedContextSource,
  NodeEnv,
  NodePlan,
  SolveRequest,
  WorkerPlatforms,
} from './types.js';

/** What opening a node may use. */
export interface DriverDeps {
  /** the builder the node belongs to */
  builder: Builder;
  /** this machine's worker, opened for the builder (the local node builds on it) */
  worker: Worker;
  env: NodeJS.ProcessEnv;
}

/** What describing a node may use. */
export interface DescribeContext {
  /** this machine's platform */
  host: Platform;
  /** the platforms this machine builds (read once for every local node) */
  supported?: () => Platform[];
  env: NodeJS.ProcessEnv;
  /** how long a daemon may take to answer */
  timeoutMs?: number;
}

export interface Driver {
  /** A node as `ls` and `inspect` show it; a node that cannot be reached is `inactive` with the reason. */
  describe(b: Builder, node: BuilderNodeRecord, ctx: DescribeContext): Promise<NodeInfo>;
  /** The node, opened for one build. */
  open(node: BuilderNodeRecord, deps: DriverDeps): BuildNode;
}

/**
 * A node whose driver code is imported when the node is opened, not when the registry is:
 * `ls` and `inspect` only describe nodes, and never load the local engine (solver, Dockerfile
 * frontend, file ops) or the BuildKit client. Errors of opening are reported by the first call
 * that needs the node.
 */
function deferredNode(node: BuilderNodeRecord, opening: Promise<BuildNode>): BuildNode {
  opening.catch(() => {});
  return {
    name: node.name,
    configured: node.platforms.map((p) => parsePlatform(p)),
    workers: async () => (await opening).workers(),
    plan: async (request, env) => (await opening).plan(request, env),
    close: () => void opening.then((n) => n.close?.()).catch(() => {}),
  };
}

const local: Driver = {
  describe: async (b, node, ctx) =>
    nodeInfo(b, node, { host: ctx.host, ...(ctx.supported ? { supported: ctx.supported } : {}) }),
  open: (node, deps) =>
    deferredNode(
      node,
      import('./local/node.js').then((m) =>
        m.localNode({
          name: node.name,
          configured: node.platforms.map((p) => parsePlatform(p)),
          worker: deps.worker,
        }),
      ),
    ),
};

/**
 * A BuildKit driver whose code (the gRPC client, the wire messages, the session) is loaded
 * when a builder first has such a node: `ls`, `du` and builds of the local engine never load it.
 */
function buildkit(kind: BuildkitKind): Driver {
  const load = () => import('./buildkit/driver.js').then((m) => m.buildkitDriver(kind));
  return {
    describe: async (b, node, ctx) => (await load()).describe(b, node, ctx),
    open: (node, deps) =>
      deferredNode(
        node,
        load().then((d) => d.open(node, deps)),
      ),
  };
}

const drivers = {
  local,
  remote: buildkit('remote'),
  docker: buildkit('docker'),
} satisfies Record<BuilderDriver, Driver>;

/** The driver of a node. */
export function driverOf(node: BuilderNodeRecord): Driver {
  return drivers[node.driver];
}

/** The nodes of a builder, in its order (the default builder has one, named `default`). */
export function openNodes(builder: Builder, deps: Omit<DriverDeps, 'builder'>): BuildNode[] {
  return builder.nodes.map((n) => driverOf(n).open(n, { ...deps, builder }));
}

/** Every node of a builder as `ls` and `inspect` show it, asked at the same time. */
export function describeNodes(builder: Builder, ctx: DescribeContext): Promise<NodeInfo[]> {
  return Promise.all(builder.nodes.map((n) => driverOf(n).describe(builder, n, ctx)));
}
