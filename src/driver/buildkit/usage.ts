/**
 * driver/buildkit/usage — a BuildKit node's build cache for `du` and `prune`: the daemon's
 * usage records as polyarch's usage items (so one listing shows every node), and a prune with
 * buildx's translation of the flags (`until` as keep-duration, every other filter passed as
 * `key==value`, `key!=value`, `key~=value`).
 */
import type { BuilderNodeRecord, PruneFilters, UsageItem } from '../../builder/index.js';
import { BuildkitClient } from '../../buildkit/client.js';
import type { UsageRecordMsg } from '../../buildkit/wire.js';
import { BuildError, messageOf } from '../../errors.js';
import { endpointOf } from './driver.js';

function itemOf(u: UsageRecordMsg): UsageItem {
  return {
    id: u.id,
    parents: u.parents,
    description: u.description,
    inUse: u.inUse,
    mutable: u.mutable,
    shared: u.shared,
    type: u.recordType,
    kind: u.recordType === 'exec.cachemount' ? 'cache-mount' : 'snapshot',
    size: u.size,
    createdAt: new Date(u.createdAt ?? 0),
    ...(u.lastUsedAt ? { lastUsedAt: new Date(u.lastUsedAt) } : {}),
    usageCount: u.usageCount,
    imageShared: false,
  };
}

async function withNode<T>(
  builder: string,
  node: BuilderNodeRecord,
  what: string,
  fn: (bk: BuildkitClient) => Promise<T>,
): Promise<T> {
  const kind = node.driver === 'docker' ? 'docker' : 'remote';
  let bk: BuildkitClient | undefined;
  try {
    bk = await BuildkitClient.connect(endpointOf(kind, node));
    return await fn(bk);
  } catch (err) {
    throw new BuildError(
      `${what} of builder ${builder}, node ${node.name} (${node.endpoint}): ${messageOf(err)}`,
      { cause: err },
    );
  } finally {
    bk?.close();
  }
}

export function nodeDiskUsage(builder: string, node: BuilderNodeRecord): Promise<UsageItem[]> {
  return withNode(builder, node, 'reading the build cache', async (bk) => (await bk.diskUsage()).map(itemOf));
}

export function nodePrune(
  builder: string,
  node: BuilderNodeRecord,
  opts: PruneFilters & { all: boolean; keepBytes?: number },
  signal?: AbortSignal,
): Promise<UsageItem[]> {
  return withNode(builder, node, 'pruning the build cache', async (bk) => {
    const removed = await bk.prune(
      {
        filters: opts.filters.map((f) => `${f.field}${f.op}${f.value}`),
        all: opts.all,
        keepDuration: Math.round((opts.untilMs ?? 0) * 1e6),
        keepBytes: opts.keepBytes ?? 0,
      },
      signal,
    );
    return removed.map(itemOf);
  });
}
