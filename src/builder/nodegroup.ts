/**
 * builder/nodegroup — how `create` changes a builder's list of nodes, as buildx's
 * `store.NodeGroup` `Update` and `Leave` do: a node is added (`--append`), changed (`--node`
 * naming one that exists) or removed (`--leave`). Pure over the node records.
 *
 * polyarch differs from buildx in one way: a builder may mix drivers (its own engine for one
 * platform, BuildKit daemons for others), so the driver belongs to each node; the builder's
 * driver is its first node's.
 */
import { InvalidArgumentError } from '../errors.js';
import { isBuilderName } from './names.js';

/** The drivers a node can use: `local` (polyarch's engine here), `remote` (a buildkitd), `docker` (an engine's BuildKit). */
export const builderDrivers = ['local', 'remote', 'docker'] as const;
export type BuilderDriver = (typeof builderDrivers)[number];

export function isBuilderDriver(name: string): name is BuilderDriver {
  return (builderDrivers as readonly string[]).includes(name);
}

export interface BuilderNodeRecord {
  /** `<builder>0`, or the name given with `--node` */
  name: string;
  driver: BuilderDriver;
  /** the daemon's address (`tcp://…`, `unix://…`); for `local`, the builder's state directory */
  endpoint: string;
  /** platforms given with `create --platform` (shown first, marked `*`; built here first) */
  platforms: string[];
  /** `--driver-opt` (the remote driver's `cacert`, `cert`, `key`, `servername`) */
  driverOpts?: Record<string, string>;
}

/** One `create` call's change to a node. */
export interface NodeChange {
  /** `--node`: the node to change or add; absent: a new node with the next free name */
  node?: string;
  driver: BuilderDriver;
  /** the endpoint, when one was given (a local node's is filled in by the store) */
  endpoint: string;
  /** whether the endpoint was given (`create … ENDPOINT`), so an existing node's changes */
  endpointSet: boolean;
  /** `--platform`: replaces the node's configured platforms when not empty */
  platforms: string[];
  /** `--driver-opt`: replaces the node's options when given */
  driverOpts?: Record<string, string>;
  /** `--append`: add a node instead of replacing the builder's nodes */
  append: boolean;
}

/** The first `<builder><n>` no node has. */
export function nextNodeName(builder: string, nodes: readonly BuilderNodeRecord[]): string {
  for (let i = 0; ; i++) {
    const name = `${builder}${i}`;
    if (!nodes.some((n) => n.name === name)) return name;
  }
}

function validateNodeName(name: string): string {
  if (!isBuilderName(name)) {
    throw new InvalidArgumentError(
      `invalid node name ${name}, name needs to start with a letter and may not contain symbols, except ._-`,
    );
  }
  return name.toLowerCase();
}

/** Changes an existing node: what was given replaces what it had; its driver stays. */
function changeNode(builder: string, n: BuilderNodeRecord, change: NodeChange): BuilderNodeRecord {
  if (change.driver !== n.driver) {
    throw new InvalidArgumentError(
      `node ${n.name} of builder "${builder}" uses the ${n.driver} driver, not ${change.driver}: remove it with --leave and append it again`,
    );
  }
  return {
    ...n,
    ...(change.endpointSet ? { endpoint: change.endpoint } : {}),
    ...(change.platforms.length > 0 ? { platforms: change.platforms } : {}),
    ...(change.driverOpts !== undefined ? { driverOpts: change.driverOpts } : {}),
  };
}

/** A builder's nodes after `change` (buildx's `NodeGroup.Update`). */
export function updateNodes(
  builder: string,
  nodes: readonly BuilderNodeRecord[],
  change: NodeChange,
): BuilderNodeRecord[] {
  const wanted = change.node === undefined ? undefined : validateNodeName(change.node);
  const i = wanted === undefined ? -1 : nodes.findIndex((n) => n.name === wanted);
  let out: BuilderNodeRecord[];
  if (i !== -1) {
    out = nodes.map((n, j) => (j === i ? changeNode(builder, n, change) : n));
  } else {
    if (!change.append && nodes.length > 0) {
      throw new InvalidArgumentError(`node ${wanted} not found, did you mean to append?`);
    }
    if (change.endpoint === '') throw new InvalidArgumentError(`no ${change.driver} endpoint provided`);
    const base = change.append ? [...nodes] : [];
    const node: BuilderNodeRecord = {
      name: wanted ?? nextNodeName(builder, base),
      driver: change.driver,
      endpoint: change.endpoint,
      platforms: change.platforms,
      ...(change.driverOpts !== undefined ? { driverOpts: change.driverOpts } : {}),
    };
    out = [...base, node];
  }
  checkNodes(builder, out);
  return out;
}

/** One local node per builder (it is this machine's engine), and no endpoint twice. */
function checkNodes(builder: string, nodes: readonly BuilderNodeRecord[]): void {
  const locals = nodes.filter((n) => n.driver === 'local');
  if (locals.length > 1) {
    throw new InvalidArgumentError(
      `builder "${builder}" already has a local node (${locals[0]!.name}): polyarch's engine on this machine is one node of a builder`,
    );
  }
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.endpoint)) throw new InvalidArgumentError(`invalid duplicate endpoint ${n.endpoint}`);
    seen.add(n.endpoint);
  }
}

/** A builder's nodes without `node` (buildx's `NodeGroup.Leave`). */
export function leaveNode(
  builder: string,
  nodes: readonly BuilderNodeRecord[],
  node: string,
): BuilderNodeRecord[] {
  const name = node.toLowerCase();
  const i = nodes.findIndex((n) => n.name === name);
  if (i === -1) throw new InvalidArgumentError(`node "${node}" not found for ${builder}`);
  if (nodes.length === 1) {
    throw new InvalidArgumentError('can not leave last node, do you want to rm instance instead?');
  }
  return nodes.filter((_, j) => j !== i);
}
