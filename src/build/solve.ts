/**
 * build/solve — a build's platforms solved on a builder's nodes, and the results joined back
 * into the build's platform order (the middle of plan → solve → join → export).
 *
 * Every node plans its share first, so that a problem any node finds (a missing emulator, an
 * entitlement not granted) stops the build before a step runs anywhere; then all nodes solve
 * at the same time.
 */
import type { BuildNode, NodeEnv, NodePlan, SolveRequest, WorkerPlatforms } from '../driver/types.js';
import { BuildError, InvalidArgumentError, messageOf } from '../errors.js';
import type { PlatformBuild } from '../exporter/assemble.js';
import { formatPlatform, type Platform, platformMatcher, samePlatform } from '../platforms/index.js';
import { startInternalStep } from '../progress/writer.js';

/** Which node builds which of the build's platforms. */
export interface Assignment {
  node: BuildNode;
  platforms: Platform[];
}

/** A node with what its workers build, or why it cannot be reached. */
export interface NodeCandidate {
  node: BuildNode;
  workers: WorkerPlatforms | { down: unknown };
}

type Up = NodeCandidate & { workers: WorkerPlatforms };

function isUp(c: NodeCandidate): c is Up {
  return !('down' in c.workers);
}

/** Whether any of `list` runs `p` (containerd's matcher: an arm/v7 node runs arm/v6 too). */
function runs(list: readonly Platform[], p: Platform): boolean {
  return list.some((q) => platformMatcher(q).match(p));
}

/**
 * Spreads a build's platforms over the nodes, as buildx does: a platform goes to the first
 * node configured for it (`create --platform`), else to the first node that runs it natively,
 * else to the first that emulates it, else to the first node that answers (whose plan then
 * says why it cannot). A node that is down is left out with a warning — unless a platform is
 * configured on it: the user pinned it there, so the error names the node.
 */
export function assignPlatforms(
  platforms: readonly Platform[],
  candidates: readonly NodeCandidate[],
  warn: (message: string) => void = () => {},
): Assignment[] {
  const up = candidates.filter(isUp);
  const byNode = new Map<BuildNode, Platform[]>();
  for (const p of platforms) {
    const pinned = candidates.find((c) => c.node.configured.some((q) => samePlatform(q, p)));
    if (pinned && !isUp(pinned)) {
      throw new BuildError(
        `node ${pinned.node.name} cannot be reached to build ${formatPlatform(p)}, which is configured on it: ${downReason(pinned)}`,
        { cause: (pinned.workers as { down: unknown }).down },
      );
    }
    const chosen =
      pinned ??
      up.find((c) => runs(c.workers.native, p)) ??
      up.find((c) => runs(c.workers.emulated, p)) ??
      up[0];
    if (!chosen) {
      const why = candidates.map((c) => `${c.node.name}: ${downReason(c)}`).join('; ');
      throw new BuildError(`no node of the builder can be reached to build ${formatPlatform(p)} (${why})`);
    }
    byNode.set(chosen.node, [...(byNode.get(chosen.node) ?? []), p]);
  }
  for (const c of candidates) {
    if (!isUp(c)) {
      const why = downReason(c);
      warn(
        why.includes(`node ${c.node.name}`)
          ? `${why} (building on the other nodes)`
          : `node ${c.node.name} cannot be reached, building on the other nodes: ${why}`,
      );
    }
  }
  return candidates
    .filter((c) => byNode.has(c.node))
    .map((c) => ({ node: c.node, platforms: byNode.get(c.node)! }));
}

function downReason(c: NodeCandidate): string {
  return 'down' in c.workers ? messageOf(c.workers.down) : 'up';
}

/**
 * The nodes' shares of a build. One node builds everything without being asked what it runs
 * (its plan says what it cannot); several are asked first, all at once.
 */
export async function scheduleNodes(
  platforms: readonly Platform[],
  nodes: readonly BuildNode[],
  warn?: (message: string) => void,
): Promise<Assignment[]> {
  const [first] = nodes;
  if (!first) throw new InvalidArgumentError('the builder has no nodes to build on');
  if (nodes.length === 1) return [{ node: first, platforms: [...platforms] }];
  const candidates = await Promise.all(
    nodes.map(async (node): Promise<NodeCandidate> => {
      try {
        return { node, workers: await node.workers() };
      } catch (err) {
        return { node, workers: { down: err } };
      }
    }),
  );
  return assignPlatforms(platforms, candidates, warn);
}

/** A request for every platform: each node gets its share of it. */
export type BuildRequest = Omit<SolveRequest, 'platforms'> & { platforms: readonly Platform[] };

/**
 * A node's share failed. The build's error names the node and its platforms (build/failure);
 * the other nodes finished their shares, so their results are in their caches for a rerun.
 */
export class NodeFailure extends Error {
  readonly node: string;
  readonly platforms: readonly Platform[];
  constructor(node: string, platforms: readonly Platform[], cause: unknown) {
    super(`node ${node} (${platforms.map(formatPlatform).join(', ')}): ${messageOf(cause)}`, { cause });
    this.name = 'NodeFailure';
    this.node = node;
    this.platforms = platforms;
  }
}

/** Runs every node's step of a build at once; with several nodes, a failure names its node. */
async function onEveryNode<T, R>(
  items: readonly T[],
  nodeOf: (item: T) => { node: BuildNode; platforms: readonly Platform[] },
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const settled = await Promise.allSettled(items.map(fn));
  const failed = settled.findIndex((r) => r.status === 'rejected');
  if (failed === -1) return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
  const reason = (settled[failed] as PromiseRejectedResult).reason;
  if (items.length === 1) throw reason;
  const { node, platforms } = nodeOf(items[failed]!);
  throw new NodeFailure(node.name, platforms, reason);
}

/**
 * Plans every node's share, solves them together and answers one result per platform, in
 * order. With several nodes, each node's share is a step of the progress (`[node armbox]
 * linux/arm64`), which says which node builds what and how long it worked; a failing node
 * does not stop the others.
 */
export async function solveOnNodes(
  nodes: readonly BuildNode[],
  request: BuildRequest,
  env: NodeEnv,
  warn?: (message: string) => void,
): Promise<PlatformBuild[]> {
  const assignments = await scheduleNodes(request.platforms, nodes, warn);
  const plans = await onEveryNode(
    assignments,
    (a) => a,
    (a) => a.node.plan({ ...request, platforms: a.platforms }, env),
  );
  const shares = assignments.map((a, i) => ({ ...a, plan: plans[i]! }));
  const solved = await onEveryNode(
    shares,
    (s) => s,
    (s) => solveShare(s, nodes.length > 1 ? env : undefined),
  );
  return joinResults(
    request.platforms,
    plans.map((p, i) => ({ platforms: p.platforms, builds: solved[i]! })),
  );
}

/** One node's share, shown as a step of its own when the builder has several nodes. */
async function solveShare(
  share: Assignment & { plan: NodePlan },
  env: NodeEnv | undefined,
): Promise<PlatformBuild[]> {
  if (!env) return share.plan.solve();
  const step = startInternalStep(
    env.progress,
    `[node ${share.node.name}] ${share.platforms.map(formatPlatform).join(', ')}`,
  );
  try {
    const builds = await share.plan.solve();
    step.complete();
    return builds;
  } catch (err) {
    step.fail(messageOf(err));
    throw err;
  }
}

/** The nodes' results in the build's platform order. */
function joinResults(
  order: readonly Platform[],
  shares: readonly { platforms: readonly Platform[]; builds: readonly PlatformBuild[] }[],
): PlatformBuild[] {
  const byPlatform = new Map<Platform, PlatformBuild>();
  for (const s of shares) {
    for (const [i, p] of s.platforms.entries()) byPlatform.set(p, s.builds[i]!);
  }
  return order.map((p) => {
    const b = byPlatform.get(p);
    if (!b) throw new Error(`no node built ${JSON.stringify(p)}`);
    return b;
  });
}
