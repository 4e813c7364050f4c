/**
 * api/store — a builder's build cache as a library: `diskUsage` lists it (buildx `du`) and
 * `prune` removes from it (buildx `prune`), across its nodes: polyarch's own engine reads and
 * prunes the local cache, a BuildKit node is asked. `--filter` values are parsed with
 * `parsePruneFilters`. `checkStore` verifies the whole local state (`debug check-store`).
 *
 *     const filters = parsePruneFilters(['until=24h']);
 *     const items = await diskUsage(ctx, { filters });
 *     const { removed, total } = await prune(ctx, { filters, keepBytes: 10 * 2 ** 30 });
 */
// the builder package's modules one by one: its barrel would bring builder/node and with it
// the emulation checks, which nothing here uses
import type { PruneFilters } from '../builder/filters.js';
import { type Builder, BuilderStore } from '../builder/store.js';
import {
  matchesPruneFilters,
  type PruneResult,
  pruneCache,
  readCacheState,
  type UsageItem,
  usageItems,
} from '../builder/usage.js';
import type { ContentStore } from '../content/interfaces.js';
import { rootLayout } from '../content/root.js';
import { openContentStore } from '../content/store.js';
import { SnapshotStore } from '../snapshot/store.js';
import { type PolyarchContext, rootOf } from './context.js';

export { type CacheFilter, type PruneFilters, parsePruneFilters } from '../builder/filters.js';
export type { PruneResult, UsageItem } from '../builder/usage.js';

interface Cache {
  builder: Builder;
  builders: BuilderStore;
  snapshots: SnapshotStore;
  content: ContentStore;
}

/** Runs `fn` with a builder (the named one, else the current one) and the stores of the cache. */
async function withCache<T>(
  ctx: PolyarchContext,
  name: string | undefined,
  fn: (cache: Cache) => Promise<T>,
): Promise<T> {
  const root = rootOf(ctx);
  const builders = await BuilderStore.open(root);
  const builder = await builders.resolve(name);
  const content = await openContentStore(rootLayout(root).content);
  try {
    const snapshots = await SnapshotStore.open({ root });
    return await fn({ builder, builders, snapshots, content });
  } finally {
    await content.close();
  }
}

const isLocal = (n: { driver: string }) => n.driver === 'local';

export interface DiskUsageRequest {
  /** the builder (default: the current one) */
  builder?: string;
  /** only the rows that match (`until` counts from `now`) */
  filters?: PruneFilters;
  /** default: the time of the call */
  now?: Date;
}

/** du and prune on BuildKit nodes, loaded only for builders that have them. */
const buildkitUsage = () => import('../driver/buildkit/usage.js');

/** The rows of a builder's build cache, largest first (buildx `du`). */
export function diskUsage(ctx: PolyarchContext, req: DiskUsageRequest = {}): Promise<UsageItem[]> {
  return withCache(ctx, req.builder, async ({ builder, builders, snapshots, content }) => {
    const state = await readCacheState({ builders, snapshots, content });
    const now = req.now ?? new Date();
    const local = builder.nodes.some(isLocal) ? usageItems(state, builder.name) : [];
    // a BuildKit node's cache is the daemon's: asked of it
    const remote = await Promise.all(
      builder.nodes
        .filter((n) => !isLocal(n))
        .map(async (n) => (await buildkitUsage()).nodeDiskUsage(builder.name, n)),
    );
    return [...local, ...remote.flat()]
      .filter((i) => matchesPruneFilters(i, req.filters ?? { filters: [] }, now))
      .sort((a, b) => b.size - a.size);
  });
}

export interface PruneRequest {
  /** the builder (default: the current one) */
  builder?: string;
  /** also what named images share (all build cache); else only what is dangling */
  all?: boolean;
  /** only what matches (`until` counts from `now`) */
  filters?: PruneFilters;
  /** remove the least recently used first until the cache is at most this many bytes */
  keepBytes?: number;
  /** default: the time of the call */
  now?: Date;
  /** running builds of the builder are waited for: told once, with their number */
  onWait?: (builds: number) => void;
}

/**
 * Removes build cache of a builder (buildx `prune`), never what a named image needs; waits for
 * the builder's running builds to finish first. Answers the removed rows and the bytes freed.
 */
export function prune(ctx: PolyarchContext, req: PruneRequest = {}): Promise<PruneResult> {
  return withCache(ctx, req.builder, async ({ builder, builders, snapshots, content }) => {
    const opts = {
      all: req.all ?? false,
      ...(req.filters ?? { filters: [] }),
      ...(req.keepBytes !== undefined ? { keepBytes: req.keepBytes } : {}),
      now: req.now ?? new Date(),
    };
    const local = builder.nodes.some(isLocal)
      ? await builders.exclusiveCache(
          () => pruneCache({ builder: builder.name, builders, snapshots, content, prune: opts }),
          { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(req.onWait ? { onWait: req.onWait } : {}) },
        )
      : { removed: [], total: 0 };
    // a BuildKit node prunes its own cache
    const remote = (
      await Promise.all(
        builder.nodes
          .filter((n) => !isLocal(n))
          .map(async (n) => (await buildkitUsage()).nodePrune(builder.name, n, opts, ctx.signal)),
      )
    ).flat();
    return {
      removed: [...local.removed, ...remote],
      total: local.total + remote.reduce((sum, i) => sum + Math.max(i.size, 0), 0),
    };
  });
}

export interface StoreCheck {
  /**
   * what is wrong: a blob that does not match its digest, an incomplete named image, a cached
   * result whose snapshot is missing
   */
  problems: string[];
  /** partial writes that interrupted processes left (harmless: never served) */
  leftovers: number;
}

/** Verifies the local store: every blob, every named image, every cached result's snapshots. */
export async function checkStore(ctx: PolyarchContext): Promise<StoreCheck> {
  const { openWorker } = await import('../worker/worker.js');
  const w = await openWorker({ root: rootOf(ctx), env: ctx.env });
  try {
    const r = await w.content.check();
    const problems = [...r.problems];
    for (const { record } of await w.cache.list()) {
      for (const l of record.layers) {
        if (!(await w.snapshots.get(l.snapshot))) {
          problems.push(`cache record ${record.key} names snapshot ${l.snapshot}, which is missing`);
        }
      }
    }
    return { problems, leftovers: r.leftovers.length };
  } finally {
    await w.close();
  }
}
