/**
 * builder/usage — the build cache as `du` and `prune` see it, and its removal.
 *
 * A builder's build cache is its cache records (`<cache>/records`, graph/cache), the
 * snapshots they name (shared by all builders: a snapshot stays while any builder's record
 * names it), its `RUN --mount=type=cache` directories, and the blobs in the content store
 * that only snapshots hold (a layer's pulled or exported blob). Named images are not cache:
 * nothing they reach is ever removed, and content GC keeps as roots every blob a snapshot or
 * a record still names (`sweepContent`, which `rmi` uses too).
 *
 * `readCacheState` gathers (I/O); `usageItems` and `planPrune` are pure; `pruneCache`
 * removes in the order that never leaves a dangling reference: records → snapshots no record
 * names any more (children before parents) → content GC. It runs while no build runs (see
 * BuilderStore.exclusiveCache), and never removes a snapshot an overlay stacks.
 */
// fs.promises loads node:fs/promises at its first call: `ls`, `images` and `du` make none on a store that exists
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '../content/index.js';
import { randomHex } from '../durable.js';
import { messageOf, StoreError } from '../errors.js';
import { type CacheRecord, CacheStore } from '../graph/cache.js';
import type { Digest } from '../oci/digest.js';
import { readdirOrNone } from '../smallfiles.js';
import { type MountInfo, readMountinfo } from '../snapshot/mount.js';
import { type SizedSnapshot, type Snapshot, type SnapshotStore, treeSize } from '../snapshot/store.js';
import { type FilterableItem, matchesFilters, type PruneFilters } from './filters.js';
import type { BuilderStore } from './store.js';

/** One cache record of one builder, with its last use. */
export interface RecordEntry {
  builder: string;
  cacheDir: string;
  record: CacheRecord;
  lastUsed: Date;
}

export interface CacheMountEntry {
  builder: string;
  dir: string;
  /** the directory's name (a hash of the mount's id) */
  name: string;
  size: number;
  lastUsed: Date;
}

/** Everything du and prune decide on, read at one moment. */
export interface CacheState {
  records: RecordEntry[];
  snapshots: SizedSnapshot[];
  /** snapshot ids that a mounted overlay stacks */
  inUse: ReadonlySet<string>;
  /** blob digests (of snapshots) that a named image reaches */
  imageBlobs: ReadonlySet<string>;
  /** blobs of snapshots that are in the content store: digest → size */
  blobSizes: ReadonlyMap<string, number>;
  cacheMounts: CacheMountEntry[];
}

/** A row of `du` and `prune`: a snapshot or a cache mount. */
export interface UsageItem extends FilterableItem {
  kind: 'snapshot' | 'cache-mount';
  /** bytes: a snapshot's files plus its blob when only the cache holds that blob */
  size: number;
  createdAt: Date;
  lastUsedAt?: Date;
  usageCount: number;
  /** a snapshot whose blob a named image reaches (kept by `prune` without `--all`) */
  imageShared: boolean;
  /** the blob counted in `size`, if any */
  blob?: string;
  /** for cache mounts: the directory */
  dir?: string;
}

/**
 * Snapshot ids stacked by mounted overlays. Lowerdirs are written relative to the store that
 * mounted them, so a relative one counts unless the mount is a step of another store (under
 * another `…/snapshots/.tmp/`); an absolute one counts when it is in this store.
 */
export function mountedSnapshotIds(
  snapshotDir: string,
  table: readonly MountInfo[] = readMountinfo(),
): Set<string> {
  const ids = new Set<string>();
  const own = `${snapshotDir}/`;
  for (const m of table) {
    if (m.fsType !== 'overlay') continue;
    const opt = m.options.split(',').find((o) => o.startsWith('lowerdir='));
    if (!opt) continue;
    const otherStore = !m.mountPoint.startsWith(own) && /\/snapshots\/\.tmp\//.test(m.mountPoint);
    for (const d of opt.slice('lowerdir='.length).split(':')) {
      const rel = d.startsWith('/')
        ? d.startsWith(own)
          ? d.slice(own.length)
          : undefined
        : otherStore
          ? undefined
          : d;
      if (rel === undefined) continue;
      const m1 = /^([0-9a-f]{12})\/fs$/.exec(rel);
      if (m1) ids.add(m1[1]!);
      const f = /^\.folded\/([0-9a-f]{12})\/fs$/.exec(rel);
      if (f) {
        try {
          const meta = JSON.parse(readFileSync(join(snapshotDir, '.folded', f[1]!, 'meta.json'), 'utf8')) as {
            ids?: string[];
          };
          for (const id of meta.ids ?? []) ids.add(id);
        } catch {
          // gone meanwhile
        }
      }
    }
  }
  return ids;
}

/** Reads the records of every builder, every snapshot, and the cache mounts. */
export async function readCacheState(opts: {
  builders: BuilderStore;
  snapshots: SnapshotStore;
  content: ContentStore;
}): Promise<CacheState> {
  const records: RecordEntry[] = [];
  const cacheMounts: CacheMountEntry[] = [];
  for (const b of await opts.builders.allCacheDirs()) {
    for (const { record, lastUsed } of await new CacheStore({ dir: b.cacheDir }).list()) {
      records.push({ builder: b.builder, cacheDir: b.cacheDir, record, lastUsed });
    }
    // a few directory entries, walked synchronously as treeSize walks them
    for (const name of readdirOrNone(b.cacheMountsDir)) {
      if (name.startsWith('.')) continue;
      const dir = join(b.cacheMountsDir, name);
      try {
        const st = statSync(dir);
        if (!st.isDirectory()) continue;
        cacheMounts.push({ builder: b.builder, dir, name, size: treeSize(dir), lastUsed: st.mtime });
      } catch {
        // removed meanwhile
      }
    }
  }
  const snapshots = await opts.snapshots.list({ sizes: true });
  const blobs = [...new Set(snapshots.flatMap((s) => (s.blob ? [s.blob.digest as string] : [])))];
  const blobSizes = new Map<string, number>();
  for (const d of blobs) {
    const info = await opts.content.info(d as Digest);
    if (info) blobSizes.set(d, info.size);
  }
  // what a named image reaches: everything a GC with no extra roots would keep (asked only
  // when some snapshot has a blob to classify)
  const unreachable = new Set<string>(
    blobSizes.size ? (await opts.content.gc({ dryRun: true })).removed : [],
  );
  const imageBlobs = new Set(blobs.filter((d) => blobSizes.has(d) && !unreachable.has(d)));
  return {
    records,
    snapshots,
    inUse: mountedSnapshotIds(opts.snapshots.dir),
    imageBlobs,
    blobSizes,
    cacheMounts,
  };
}

/** The description of a snapshot: the step that made it, or the blob it was pulled as. */
function describe(
  s: Snapshot,
  byKey: ReadonlyMap<string, CacheRecord>,
  refs: readonly RecordEntry[],
): string {
  for (const r of refs) {
    const layer = r.record.layers.find((l) => l.snapshot === s.id);
    if (layer?.producedBy) {
      const producer = byKey.get(layer.producedBy);
      if (producer) return producer.description;
    }
    if (layer && !layer.producedBy && layer.blob) return `pulled layer ${layer.blob.digest}`;
  }
  if (s.kind === 'layer' && s.blob) return `pulled layer ${s.blob.digest}`;
  return refs.length === 0 ? 'unused snapshot' : 'snapshot';
}

/**
 * The rows of `builder`'s cache: the snapshots its records name, snapshots no record names
 * (any builder's prune removes those), and its cache mounts. Pure.
 */
export function usageItems(state: CacheState, builder: string): UsageItem[] {
  const refs = new Map<string, RecordEntry[]>();
  const byKey = new Map<string, CacheRecord>();
  for (const r of state.records) {
    if (r.builder === builder) byKey.set(r.record.key, r.record);
    for (const id of new Set(r.record.layers.map((l) => l.snapshot))) {
      const list = refs.get(id);
      if (list) list.push(r);
      else refs.set(id, [r]);
    }
  }
  // a blob counts towards the first snapshot row that holds it, when no image reaches it
  const counted = new Set<string>();
  const items: UsageItem[] = [];
  for (const s of state.snapshots) {
    const all = refs.get(s.id) ?? [];
    const own = all.filter((r) => r.builder === builder);
    if (all.length > 0 && own.length === 0) continue;
    const blob = s.blob?.digest as string | undefined;
    let size = s.size;
    let countedBlob: string | undefined;
    if (blob && state.blobSizes.has(blob) && !state.imageBlobs.has(blob) && !counted.has(blob)) {
      counted.add(blob);
      size += state.blobSizes.get(blob)!;
      countedBlob = blob;
    }
    const lastUsed = own.reduce<Date | undefined>(
      (m, r) => (m === undefined || r.lastUsed > m ? r.lastUsed : m),
      undefined,
    );
    items.push({
      kind: 'snapshot',
      id: s.id,
      parents: s.parent ? [s.parent] : [],
      description: describe(s, byKey, own),
      inUse: state.inUse.has(s.id),
      mutable: false,
      shared: all.some((r) => r.builder !== builder),
      type: 'regular',
      size,
      createdAt: new Date(s.created),
      ...(lastUsed ? { lastUsedAt: lastUsed } : {}),
      usageCount: own.length,
      imageShared: blob !== undefined && state.imageBlobs.has(blob),
      ...(countedBlob ? { blob: countedBlob } : {}),
    });
  }
  for (const m of state.cacheMounts) {
    if (m.builder !== builder) continue;
    items.push({
      kind: 'cache-mount',
      id: m.name.slice(0, 25),
      parents: [],
      description: `cached mount ${m.name.slice(0, 12)}`,
      inUse: false,
      mutable: true,
      shared: false,
      type: 'exec.cachemount',
      size: m.size,
      createdAt: m.lastUsed,
      lastUsedAt: m.lastUsed,
      usageCount: 1,
      imageShared: false,
      dir: m.dir,
    });
  }
  return items;
}

/** When a row was last used (ms): its last use, else when it was made. */
function lastUse(i: UsageItem): number {
  return (i.lastUsedAt ?? i.createdAt).getTime();
}

/** True when a row passes `--filter`: unused for `until`, and every cache filter. */
export function matchesPruneFilters(i: UsageItem, f: PruneFilters, now: Date): boolean {
  return (f.untilMs === undefined || lastUse(i) <= now.getTime() - f.untilMs) && matchesFilters(i, f.filters);
}

export interface PruneOptions extends PruneFilters {
  /** `--all`: also what named images share */
  all: boolean;
  /** `--keep-storage`: remove least recently used first, until the cache is at most this big */
  keepBytes?: number;
  now: Date;
}

export interface PrunePlan {
  /** rows to remove, in order: children before their parents */
  items: UsageItem[];
  /** records of the builder to delete (keys) */
  records: string[];
}

/**
 * What `prune` removes from `builder`'s cache. Never: what an overlay stacks, what another
 * builder's records name, a snapshot whose child stays, and (without `all`) what a named
 * image shares. Pure.
 */
export function planPrune(state: CacheState, builder: string, opts: PruneOptions): PrunePlan {
  const items = usageItems(state, builder);
  const eligible = (i: UsageItem) =>
    !i.inUse && !i.shared && (opts.all || !i.imageShared) && matchesPruneFilters(i, opts, opts.now);
  const children = new Map<string, string[]>();
  for (const s of state.snapshots) {
    if (!s.parent) continue;
    const list = children.get(s.parent);
    if (list) list.push(s.id);
    else children.set(s.parent, [s.id]);
  }
  const byId = new Map(items.filter((i) => i.kind === 'snapshot').map((i) => [i.id, i]));
  let chosen = new Set(items.filter(eligible));
  // a snapshot goes only with all its children
  for (let changed = true; changed; ) {
    changed = false;
    for (const i of chosen) {
      if (i.kind !== 'snapshot') continue;
      const kids = children.get(i.id) ?? [];
      if (kids.some((k) => !byId.has(k) || !chosen.has(byId.get(k)!))) {
        chosen.delete(i);
        changed = true;
      }
    }
  }
  if (opts.keepBytes !== undefined) {
    let usage = items.reduce((n, i) => n + i.size, 0);
    const picked = new Set<UsageItem>();
    const withDescendants = (i: UsageItem): UsageItem[] => {
      const out = [i];
      for (const k of children.get(i.id) ?? []) {
        const c = byId.get(k);
        if (c && i.kind === 'snapshot') out.push(...withDescendants(c));
      }
      return out;
    };
    for (const i of [...chosen].sort((a, b) => lastUse(a) - lastUse(b))) {
      if (usage <= opts.keepBytes) break;
      if (picked.has(i)) continue;
      for (const u of withDescendants(i)) {
        if (picked.has(u)) continue;
        picked.add(u);
        usage -= u.size;
      }
    }
    chosen = picked;
  }
  // children before parents: deeper snapshots first
  const parentOf = new Map(state.snapshots.map((s) => [s.id, s.parent]));
  const depth = (i: UsageItem): number => {
    let d = 0;
    for (let p: string | undefined = i.parents[0]; p !== undefined && d < 10000; p = parentOf.get(p)) d++;
    return d;
  };
  const ordered = [...chosen].sort((a, b) => depth(b) - depth(a));
  const gone = new Set(ordered.filter((i) => i.kind === 'snapshot').map((i) => i.id));
  const records = state.records
    .filter(
      (r) =>
        r.builder === builder &&
        (r.record.layers.some((l) => gone.has(l.snapshot)) ||
          (opts.all &&
            r.record.layers.length === 0 &&
            (opts.untilMs === undefined || r.lastUsed.getTime() <= opts.now.getTime() - opts.untilMs))),
    )
    .map((r) => r.record.key as string);
  return { items: ordered, records };
}

/** Every blob the build cache still uses: each snapshot's blob and each record's layer blobs. */
async function cacheBlobRoots(opts: { builders: BuilderStore; snapshots: SnapshotStore }): Promise<Digest[]> {
  const roots = new Set<string>();
  for (const s of await opts.snapshots.list()) if (s.blob) roots.add(s.blob.digest);
  for (const b of await opts.builders.allCacheDirs()) {
    for (const { record } of await new CacheStore({ dir: b.cacheDir }).list()) {
      for (const l of record.layers) if (l.blob) roots.add(l.blob.digest);
    }
  }
  return [...roots] as Digest[];
}

export interface PruneResult {
  /** what was removed, with its size (a snapshot's includes its blob when GC removed it) */
  removed: UsageItem[];
  /** bytes freed, content GC included */
  total: number;
}

/**
 * Removes what `planPrune` picks from `builder`'s cache, then runs content GC with the cache's
 * blobs as roots. Call it inside `BuilderStore.exclusiveCache`.
 */
export async function pruneCache(opts: {
  builder: string;
  builders: BuilderStore;
  snapshots: SnapshotStore;
  content: ContentStore;
  prune: PruneOptions;
}): Promise<PruneResult> {
  const state = await readCacheState(opts);
  const plan = planPrune(state, opts.builder, opts.prune);
  const dirOf = new Map(state.records.map((r) => [r.record.key as string, r.cacheDir]));
  for (const key of plan.records) {
    await new CacheStore({ dir: dirOf.get(key)! }).delete(key as Digest);
  }
  const removed: UsageItem[] = [];
  for (const item of plan.items) {
    try {
      if (item.kind === 'snapshot') {
        await opts.snapshots.remove(item.id);
      } else {
        const trash = join(item.dir!, '..', `.trash-${process.pid}-${randomHex(6)}`);
        await fsp.rename(item.dir!, trash);
        await fsp.rm(trash, { recursive: true, force: true });
      }
      removed.push(item);
    } catch (err) {
      // mounted meanwhile (the snapshot store refuses): keep it
      if (!(err instanceof StoreError)) {
        throw new StoreError(`pruning ${item.kind} ${item.id}: ${messageOf(err)}`, { cause: err });
      }
    }
  }
  const sweep = await sweepContent(opts);
  const gone = new Set<string>(sweep.removed);
  const byId = new Map(state.snapshots.map((s) => [s.id, s]));
  const attributed = new Set<string>();
  let attributedBytes = 0;
  const out = removed.map((i) => {
    const s = i.kind === 'snapshot' ? byId.get(i.id) : undefined;
    if (!s) return i;
    let size = s.size;
    const b = s.blob?.digest as string | undefined;
    if (b && gone.has(b) && !attributed.has(b)) {
      attributed.add(b);
      const n = state.blobSizes.get(b) ?? 0;
      size += n;
      attributedBytes += n;
    }
    return { ...i, size };
  });
  const total = out.reduce((n, i) => n + i.size, 0) + sweep.bytes - attributedBytes;
  return { removed: out, total };
}

/** Content GC that keeps every blob the build cache still uses. */
export async function sweepContent(opts: {
  builders: BuilderStore;
  snapshots: SnapshotStore;
  content: ContentStore;
}): Promise<{ removed: Digest[]; bytes: number }> {
  return opts.content.gc({ roots: await cacheBlobRoots(opts) });
}

/**
 * Removes the snapshots no record of any builder names (children first), then runs content
 * GC: what `rm` does once a builder's records are gone. Call it inside `exclusiveCache`.
 */
export function sweepUnreferenced(opts: {
  builders: BuilderStore;
  snapshots: SnapshotStore;
  content: ContentStore;
}): Promise<PruneResult> {
  // a builder with no records and no cache mounts: its rows are the unreferenced snapshots
  return pruneCache({
    ...opts,
    builder: '\0unreferenced',
    prune: { all: true, filters: [], now: new Date() },
  });
}
