/**
 * driver — how a builder's nodes are opened for a build, one factory per driver in a typed
 * registry (buildx's driver package): `local` is polyarch's own engine on this machine.
 */
import type { Builder, BuilderDriver, BuilderNodeRecord } from '../builder/store.js';
import { parsePlatform } from '../platforms/index.js';
import type { Worker } from '../worker/worker.js';
import { localNode } from './local/node.js';
import type { BuildNode } from './types.js';

export type {
  BuildNode,
  Definition,
  NamedContextSource,
  NodeEnv,
  NodePlan,
  SolveRequest,
  WorkerPlatforms,
} from './types.js';

/** What opening a node may use: the worker of this machine, opened for the builder. */
export interface DriverDeps {
  worker: Worker;
}

type DriverFactory = (node: BuilderNodeRecord, deps: DriverDeps) => BuildNode;

const drivers = {
  local: (node, deps) =>
    localNode({
      name: node.name,
      configured: node.platforms.map((p) => parsePlatform(p)),
      worker: deps.worker,
    }),
} satisfies Record<BuilderDriver, DriverFactory>;

/** The nodes of a builder, in its order (the default builder has one, named `default`). */
export function openNodes(builder: Builder, deps: DriverDeps): BuildNode[] {
  return builder.nodes.map((n) => drivers[builder.driver](n, deps));
}
