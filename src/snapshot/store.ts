/**
 * snapshot/store — the snapshot store: layer directories in overlay form under
 * `<root>/snapshots/`, stacked with overlayfs for each build step.
 *
 * ```
 * <root>/snapshots/
 *   <id>/meta.json, <id>/fs/    a snapshot: complete by construction (renamed into place)
 *   .tmp/<pid>.<start>-<rand>/  work in progress: an unpack's staging dir, or an active step
 *                               (fs/ = upper, work/, merged/ = the mount point)
 *   .folded/<key>/              the bottom of a chain too long for one overlay, flattened
 *   .empty/0, .empty/1          empty directories: the bottom lower(s) of every mount
 *   .trash/<owner>-<rand>/      removal in progress
 * ```
 *
 * Ids are 12 hex digits: a pulled layer's id is the start of its chain ID (so one unpack serves
 * every build that uses the chain; the full chain ID is checked in `meta.json`), a committed
 * step gets a random one. Crash safety without locks: everything is built under `.tmp/` and
 * renamed into place in one step, and the owner (pid and process start time) is in the name, so
 * the next `open()` can remove — and unmount — what a killed process left, while leaving alone
 * the work of processes still running. Two processes unpacking the same layer race on the final
 * rename; the loser discards its copy and uses the winner's.
 */
// fs.promises loads node:fs/promises at its first call: `ls`, `images` and `du` make none on a store that exists
import {
  existsSync,
  promises as fsp,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { randomHex, writeFileDurablySync } from '../durable.js';
import { InvalidArgumentError, isErrno, messageOf, NotFoundError, StoreError } from '../errors.js';
import { type Digest, digestHex, digestOf, isDigest } from '../oci/index.js';
import { chainIDOf } from './chainid.js';
import type { DiffOptions, LayerInfo, LayerWriteOptions } from './diff.js';
import {
  defaultUpperOptions,
  MOUNT_DATA_MAX,
  type MountInfo,
  mountOverlay,
  mountsUnder,
  overlayLowerdirs,
  overlayMountData,
  readMountinfo,
  unmount,
  volatileOption,
} from './mount.js';
import { defaultTools, runChecked, type Tools } from './tools.js';

/** What the store records of a snapshot (`meta.json`). */
export interface SnapshotMeta {
  id: string;
  /** `layer`: unpacked from a pulled blob; `committed`: the upper dir of a build step. */
  kind: 'layer' | 'committed';
  /** The snapshot below this one, if any. */
  parent?: string;
  /** Known for pulled layers, and for committed ones once diffed (if the parent's is known). */
  chainID?: Digest;
  diffID?: Digest;
  /** The blob this layer came from or was last exported as. */
  blob?: { mediaType: string; digest: Digest; size: number };
  /**
   * Bytes of file content in the layer directory (hardlinks counted once). A pulled layer's is
   * known from its unpack; a committed step's is measured the first time it is asked for
   * (`list({ sizes: true })`, `du`), not at commit: most steps' sizes never are, and the walk
   * of a big upper dir would hold up the build.
   */
  size?: number;
  created: string;
  /**
   * A committed step's lineage: a hash of its parent and its definition, the same for every
   * build of that step, so that the next build can start from this one (`fileop/reuse`).
   */
  lineage?: string;
}

/** A snapshot as the engine holds it. Immutable; a changed record is a new value. */
export interface Snapshot extends Readonly<SnapshotMeta> {
  /** The layer directory, in overlay form (whiteouts as 0/0 devices, opaque xattrs). */
  readonly dir: string;
}

/** A snapshot whose size is known. */
export type SizedSnapshot = Snapshot & { readonly size: number };

/** A writable overlay prepared for a build step. */
export interface Active {
  readonly key: string;
  readonly parent: Snapshot | undefined;
  /** The merged view (mounted unless `prepare({ mount: false })`). */
  readonly merged: string;
  readonly upper: string;
  readonly work: string;
  /** Layer directories below the upper, topmost first (absolute; the empty base last). */
  readonly lowers: readonly string[];
}

export interface SnapshotStoreOptions {
  /** polyarch's root directory; the store lives in `<root>/snapshots`. */
  root: string;
  tools?: Tools;
  /**
   * Most layer directories stacked in one mount; longer chains have their bottom flattened
   * into a cached directory. Default 128 (the kernel allows 500; the option string is the
   * tighter limit).
   */
  maxLowers?: number;
  /**
   * Mount build steps' overlays `volatile` when the kernel can (default true): unmounting one
   * then syncs nothing, and fsyncs inside a step are no-ops (buildah does the same for its
   * build containers). A step's files are then as durable as an unpacked layer's, which are
   * written without fsync: whole after a kill -9, not promised after a power loss.
   */
  volatile?: boolean;
}

export interface UnpackLayerOptions {
  mediaType: string;
  /** The layer's diffID from the image config: enables the lookup before unpacking, and is verified. */
  diffID?: Digest;
  /** The blob's digest: verified. */
  digest?: Digest;
  /** The snapshot of the layers below (its chain ID must be known). */
  parent?: Snapshot;
}

/** Disk usage for `polyarch du`. */
export interface DiskUsage {
  snapshots: {
    id: string;
    kind: SnapshotMeta['kind'];
    size: number;
    chainID?: Digest;
    parent?: string;
    created: string;
  }[];
  total: number;
}

const ID_PATTERN = /^[0-9a-f]{12}$/;

/**
 * A file kept with a snapshot, beside its layer dir (an active one's moves with it on
 * commit): what a step records for the next build of it, never part of the layer.
 */
export function sidecarPath(target: Snapshot | Active, name: string): string {
  return join('upper' in target ? target.upper : target.dir, '..', name);
}
/** Two empty directories: the bottom lower of every mount (a read-only mount needs two). */
const EMPTY = '.empty/0';
const EMPTY2 = '.empty/1';
const TMP = '.tmp';
const TRASH = '.trash';
const FOLDED = '.folded';

/** Start time of a process (clock ticks since boot), or undefined when it does not exist. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Owner tag of this process: `<pid>.<start time>`. */
function selfOwner(): string {
  return `${process.pid}.${processStart(process.pid) ?? '0'}`;
}

/** True when the process that made a `.tmp`/`.trash` entry is still running. */
function ownerAlive(name: string): boolean {
  const m = /^(\d+)\.(\d+)-/.exec(name);
  if (!m) return false;
  return processStart(Number(m[1])) === m[2];
}

/** Bytes of regular-file content under `dir`, each inode once. */
export function treeSize(dir: string): number {
  let total = 0;
  const seen = new Set<string>();
  const walk = (d: Buffer) => {
    for (const name of readdirSync(d, { encoding: 'buffer' })) {
      const p = Buffer.concat([d, Buffer.from('/'), name]);
      const st = lstatSync(p, { bigint: true });
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += Number(st.size);
      }
    }
  };
  walk(Buffer.from(dir));
  return total;
}

export class SnapshotStore {
  /** `<root>/snapshots` */
  readonly dir: string;
  private readonly tools: Tools;
  private readonly maxLowers: number;
  private readonly owner = selfOwner();
  private readonly inflight = new Map<string, Promise<Snapshot>>();
  /** whether to ask for `volatile`; false once the kernel refused it */
  private volatile: boolean;

  private constructor(dir: string, tools: Tools, maxLowers: number, volatile: boolean) {
    this.dir = dir;
    this.tools = tools;
    this.maxLowers = maxLowers;
    this.volatile = volatile;
  }

  /** Opens (creating if needed) the store and clears what killed processes left behind. */
  static async open(options: SnapshotStoreOptions): Promise<SnapshotStore> {
    const dir = join(options.root, 'snapshots');
    const maxLowers = options.maxLowers ?? 128;
    if (maxLowers < 3) throw new InvalidArgumentError('maxLowers must be at least 3');
    try {
      for (const d of [
        dir,
        join(dir, TMP),
        join(dir, TRASH),
        join(dir, FOLDED),
        join(dir, EMPTY),
        join(dir, EMPTY2),
      ]) {
        mkdirSync(d, { recursive: true, mode: 0o700 });
      }
    } catch (err) {
      throw new StoreError(`opening snapshot store ${dir}: ${messageOf(err)}`, { cause: err });
    }
    const store = new SnapshotStore(dir, options.tools ?? defaultTools, maxLowers, options.volatile ?? true);
    await store.cleanup();
    return store;
  }

  /** Unmounts and removes the work of processes that are gone. */
  async cleanup(): Promise<void> {
    // the mount table is read only when there is something to clean up: most opens find nothing
    let table: MountInfo[] | undefined;
    for (const area of [TMP, TRASH]) {
      for (const name of readdirSync(join(this.dir, area))) {
        if (ownerAlive(name)) continue;
        const path = join(this.dir, area, name);
        table ??= readMountinfo();
        for (const mp of mountsUnder(path, table)) await unmount(this.tools, mp, { lazy: true });
        await this.trash(path);
      }
    }
  }

  // ---- lookup -------------------------------------------------------------------------------

  private snapshotOf(meta: SnapshotMeta): Snapshot {
    return Object.freeze({ ...meta, dir: join(this.dir, meta.id, 'fs') });
  }

  /** The snapshot with this id, or undefined. */
  async get(id: string): Promise<Snapshot | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    let text: string;
    try {
      text = readFileSync(join(this.dir, id, 'meta.json'), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
      throw new StoreError(`reading snapshot ${id}: ${messageOf(err)}`, { cause: err });
    }
    try {
      return this.snapshotOf(JSON.parse(text) as SnapshotMeta);
    } catch (err) {
      throw new StoreError(`reading snapshot ${id}: meta.json is not valid JSON`, { cause: err });
    }
  }

  /** Like `get`, but a missing snapshot is an error. */
  async mustGet(id: string): Promise<Snapshot> {
    const s = await this.get(id);
    if (!s) throw new NotFoundError(`snapshot ${id} not found in ${this.dir}`);
    return s;
  }

  /** The unpacked layer stack with this chain ID, if present. */
  async getByChainID(chainID: Digest): Promise<Snapshot | undefined> {
    const s = await this.get(digestHex(chainID).slice(0, 12));
    return s?.chainID === chainID ? s : undefined;
  }

  /** The snapshot and everything below it, topmost first. */
  async chain(top: Snapshot | undefined): Promise<Snapshot[]> {
    const out: Snapshot[] = [];
    for (let s = top; s; ) {
      out.push(s);
      if (out.length > 10000) throw new StoreError(`snapshot ${top!.id}: parent chain does not end`);
      s = s.parent ? await this.mustGet(s.parent) : undefined;
    }
    return out;
  }

  /**
   * Whether `path` is certainly a directory in the merged view of `top`, read from the layer
   * directories without a mount (`snapshot/lookup`); `false` when it is not or is not known.
   */
  async certainlyDir(top: Snapshot | undefined, path: string): Promise<boolean> {
    const { certainlyDir } = await import('./lookup.js');
    return certainlyDir(
      (await this.chain(top)).map((s) => s.dir),
      path,
    );
  }

  /** Every snapshot in the store; with `sizes`, each with its size measured if not yet. */
  async list(options: { sizes: true }): Promise<SizedSnapshot[]>;
  async list(options?: { sizes?: boolean }): Promise<Snapshot[]>;
  async list(options: { sizes?: boolean } = {}): Promise<Snapshot[]> {
    const out: Snapshot[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!ID_PATTERN.test(name)) continue;
      const s = await this.get(name);
      if (s) out.push(options.sizes ? await this.sized(s) : s);
    }
    return out;
  }

  /**
   * The snapshot with its size: measured (a walk of its layer dir) and recorded when not known
   * yet. The record is merged into the meta.json on disk as it is now, so that a concurrent
   * update (an export recording its blob) is kept.
   */
  async sized(s: Snapshot): Promise<SizedSnapshot> {
    if (s.size !== undefined) return s as SizedSnapshot;
    const size = treeSize(s.dir);
    const now = (await this.get(s.id)) ?? s;
    const { dir: _dir, ...meta } = now;
    try {
      this.writeMeta(join(this.dir, s.id), { ...meta, size });
    } catch {
      // removed meanwhile, or a read-only store: the size is still right for this answer
    }
    return this.snapshotOf({ ...meta, size }) as SizedSnapshot;
  }

  /** Sizes for `polyarch du`. */
  async du(): Promise<DiskUsage> {
    const snapshots = (await this.list({ sizes: true })).map((s) => ({
      id: s.id,
      kind: s.kind,
      size: s.size,
      chainID: s.chainID,
      parent: s.parent,
      created: s.created,
    }));
    return { snapshots, total: snapshots.reduce((n, s) => n + s.size, 0) };
  }

  // ---- creating ------------------------------------------------------------------------------

  /** A fresh directory under `.tmp/`, named for this process. */
  private makeTemp(): string {
    const path = join(this.dir, TMP, `${this.owner}-${randomHex(6)}`);
    mkdirSync(path, { mode: 0o700 });
    return path;
  }

  /** Moves a directory out of sight, then deletes it; never while something is mounted in it. */
  private async trash(path: string): Promise<void> {
    const mounted = mountsUnder(path);
    if (mounted.length > 0) throw new StoreError(`not removing ${path}: ${mounted[0]} is still mounted`);
    const to = join(this.dir, TRASH, `${this.owner}-${randomHex(6)}`);
    try {
      renameSync(path, to);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return; // another process got there first
      throw new StoreError(`removing ${path}: ${messageOf(err)}`, { cause: err });
    }
    await fsp.rm(to, { recursive: true, force: true });
  }

  private writeMeta(dir: string, meta: SnapshotMeta): void {
    writeFileDurablySync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`, {
      tmp: join(dir, `meta.json.${randomHex(4)}`),
    });
  }

  /**
   * Moves a finished staging dir into place as `id`. Returns false when `id` exists already
   * (another process, or a collision the caller resolves).
   */
  private publish(staging: string, id: string): boolean {
    try {
      renameSync(staging, join(this.dir, id));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOTEMPTY', 'EEXIST')) return false;
      throw new StoreError(`storing snapshot ${id}: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * Unpacks a pulled layer on top of `parent` (or as a bottom layer), or returns the existing
   * snapshot of the same chain. Call `getByChainID` first to avoid fetching a blob you have.
   */
  async unpackLayer(blob: AsyncIterable<Uint8Array>, options: UnpackLayerOptions): Promise<Snapshot> {
    const parent = options.parent;
    if (parent && !parent.chainID) {
      throw new InvalidArgumentError(`unpacking a layer on snapshot ${parent.id}: its chain ID is not known`);
    }
    if (options.diffID && !isDigest(options.diffID))
      throw new InvalidArgumentError(`invalid diffID "${options.diffID}"`);
    if (!options.diffID) return this.doUnpack(blob, options);
    const chainID = chainIDOf(parent?.chainID, options.diffID);
    const existing = await this.getByChainID(chainID);
    if (existing) return existing;
    const running = this.inflight.get(chainID);
    if (running) return running;
    const p = this.doUnpack(blob, options).finally(() => this.inflight.delete(chainID));
    this.inflight.set(chainID, p);
    return p;
  }

  private async doUnpack(blob: AsyncIterable<Uint8Array>, options: UnpackLayerOptions): Promise<Snapshot> {
    const parent = options.parent;
    const staging = this.makeTemp();
    try {
      const fs = join(staging, 'fs');
      mkdirSync(fs, { mode: 0o755 });
      const parents = (await this.chain(parent)).map((s) => s.dir);
      // the layer codecs and tar (diff and unpack) load when first used: `du`, `prune` and `ls`
      // open the store only to read it
      const { unpackLayer } = await import('./unpack.js');
      const r = await unpackLayer(blob, fs, {
        mediaType: options.mediaType,
        expectedDiffID: options.diffID,
        expectedDigest: options.digest,
        what: `layer ${options.digest ?? options.diffID ?? ''}`.trim(),
        parents,
        tools: this.tools,
      });
      const chainID = chainIDOf(parent?.chainID, r.diffID);
      const id = digestHex(chainID).slice(0, 12);
      const meta: SnapshotMeta = {
        id,
        kind: 'layer',
        parent: parent?.id,
        chainID,
        diffID: r.diffID,
        blob: { mediaType: options.mediaType, digest: r.digest, size: r.compressedSize },
        size: r.contentBytes,
        created: new Date().toISOString(),
      };
      this.writeMeta(staging, meta);
      if (this.publish(staging, id)) return this.snapshotOf(meta);
      const other = await this.get(id);
      if (other?.chainID !== chainID) {
        throw new StoreError(
          `snapshot id ${id} is taken by another chain (${other?.chainID ?? 'unreadable'})`,
        );
      }
      await this.trash(staging);
      return other;
    } catch (err) {
      await this.trash(staging).catch(() => undefined);
      throw err;
    }
  }

  // ---- build steps ---------------------------------------------------------------------------

  /** Relative lowerdir paths (topmost first, the empty base last), folding long chains. */
  private async lowerdirs(chain: readonly Snapshot[]): Promise<string[]> {
    const rel = chain.map((s) => `${s.id}/fs`);
    // leave room for upperdir, workdir and options
    const fits = (dirs: string[]) =>
      dirs.length <= this.maxLowers && dirs.join(':').length < MOUNT_DATA_MAX - 512;
    if (fits([...rel, EMPTY])) return [...rel, EMPTY];
    // keep the top layers as they are and flatten the rest into one directory
    let keep = Math.min(this.maxLowers - 2, chain.length - 1);
    while (keep > 0 && !fits([...rel.slice(0, keep), `${FOLDED}/xxxxxxxxxxxx`, EMPTY])) keep--;
    const folded = await this.folded(chain.slice(keep));
    return [...rel.slice(0, keep), folded, EMPTY];
  }

  /** The flattened view of a chain's bottom, made once and kept under `.folded/`. */
  private async folded(chain: readonly Snapshot[]): Promise<string> {
    const key = digestHex(digestOf(chain.map((s) => s.id).join(' '))).slice(0, 12);
    const rel = `${FOLDED}/${key}`;
    if (existsSync(join(this.dir, rel, 'meta.json'))) return `${rel}/fs`;
    const staging = this.makeTemp();
    try {
      await this.flattenChain(chain, join(staging, 'fs'));
      writeFileSync(join(staging, 'meta.json'), `${JSON.stringify({ ids: chain.map((s) => s.id) })}\n`);
      try {
        renameSync(staging, join(this.dir, rel));
      } catch (err) {
        if (!isErrno(err, 'ENOTEMPTY', 'EEXIST')) throw err;
        await this.trash(staging);
      }
    } catch (err) {
      await this.trash(staging).catch(() => undefined);
      throw new StoreError(`flattening ${chain.length} layers below a long chain: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return `${rel}/fs`;
  }

  /**
   * A writable overlay on `parent` (or on nothing: `FROM scratch`), mounted at `merged`
   * unless `mount: false`. The upper dir becomes the step's layer on `commit`.
   */
  async prepare(parent: Snapshot | undefined, options: { mount?: boolean } = {}): Promise<Active> {
    const staging = this.makeTemp();
    const key = staging.slice(staging.lastIndexOf('/') + 1);
    try {
      const upper = join(staging, 'fs');
      const work = join(staging, 'work');
      const merged = join(staging, 'merged');
      for (const d of [upper, work, merged]) mkdirSync(d, { mode: 0o755 });
      const chain = await this.chain(parent);
      const lowers = await this.lowerdirs(chain);
      const active: Active = Object.freeze({
        key,
        parent,
        merged,
        upper,
        work,
        lowers: Object.freeze(lowers.map((l) => join(this.dir, l))),
      });
      if (options.mount !== false) {
        await this.mountUpper(
          { lowerdirs: lowers, upperdir: `${TMP}/${key}/fs`, workdir: `${TMP}/${key}/work` },
          merged,
        );
      }
      return active;
    } catch (err) {
      await this.trash(staging).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Mounts a writable overlay, `volatile` unless the kernel refuses it (before 5.10): then
   * once more without, and never again from this store.
   */
  private async mountUpper(
    spec: { lowerdirs: string[]; upperdir: string; workdir: string },
    target: string,
  ): Promise<void> {
    const mount = (options: string[]) => mountOverlay(this.tools, { ...spec, options }, target, this.dir);
    if (!this.volatile) return mount([...defaultUpperOptions]);
    try {
      await mount(this.upperOptions());
    } catch {
      // the same mount without it: when that works, it was `volatile` the kernel refused
      await mount([...defaultUpperOptions]);
      this.volatile = false;
    }
  }

  private upperOptions(): string[] {
    return [...defaultUpperOptions, ...(this.volatile ? [volatileOption] : [])];
  }

  /** The mount an active snapshot needs, for callers that mount it themselves (paths absolute). */
  mountData(active: Active): string {
    return overlayMountData({
      lowerdirs: active.lowers,
      upperdir: active.upper,
      workdir: active.work,
      options: this.upperOptions(),
    });
  }

  private stagingOf(active: Active): string {
    return join(this.dir, TMP, active.key);
  }

  private async unmountAll(dir: string): Promise<void> {
    for (const mp of mountsUnder(dir)) await unmount(this.tools, mp);
  }

  /** The newest committed snapshot of a lineage (see `SnapshotMeta.lineage`), if any. */
  async latestOfLineage(lineage: string): Promise<Snapshot | undefined> {
    let best: Snapshot | undefined;
    for (const s of await this.list()) {
      if (s.kind === 'committed' && s.lineage === lineage && (best === undefined || s.created > best.created))
        best = s;
    }
    return best;
  }

  /**
   * Unmounts an active snapshot and keeps its upper dir as a new snapshot, of `lineage` when
   * one is given.
   */
  async commit(active: Active, options: { lineage?: string } = {}): Promise<Snapshot> {
    const staging = this.stagingOf(active);
    await this.unmountAll(staging);
    rmSync(active.work, { recursive: true, force: true });
    rmSync(active.merged, { recursive: true, force: true });
    for (;;) {
      const meta: SnapshotMeta = {
        id: randomHex(6),
        kind: 'committed',
        parent: active.parent?.id,
        created: new Date().toISOString(),
        ...(options.lineage !== undefined ? { lineage: options.lineage } : {}),
      };
      this.writeMeta(staging, meta);
      if (this.publish(staging, meta.id)) return this.snapshotOf(meta);
    }
  }

  /** Unmounts an active snapshot and throws its changes away. */
  async discard(active: Active): Promise<void> {
    const staging = this.stagingOf(active);
    await this.unmountAll(staging);
    await this.trash(staging);
  }

  // ---- export --------------------------------------------------------------------------------

  /**
   * Writes the layer of a committed snapshot (or of an active one's upper dir) into `sink`,
   * and records diffID, chain ID (when the parent's is known) and blob in the snapshot.
   */
  async diff(
    target: Snapshot | Active,
    sink: Writable,
    options: DiffOptions & LayerWriteOptions = {},
  ): Promise<LayerInfo & { snapshot?: Snapshot }> {
    const isActive = 'upper' in target;
    const { diffUpperDir } = await import('./diff.js');
    const info = await diffUpperDir(isActive ? target.upper : target.dir, sink, {
      tools: this.tools,
      ...options,
    });
    if (isActive) return info;
    const parent = target.parent ? await this.mustGet(target.parent) : undefined;
    const chainID =
      parent === undefined || parent.chainID ? chainIDOf(parent?.chainID, info.diffID) : undefined;
    const { dir: _dir, ...meta } = target;
    const updated: SnapshotMeta = {
      ...meta,
      diffID: info.diffID,
      chainID: target.kind === 'layer' ? target.chainID : chainID,
      blob: { mediaType: info.mediaType, digest: info.digest, size: info.size },
    };
    this.writeMeta(join(this.dir, target.id), updated);
    return { ...info, snapshot: this.snapshotOf(updated) };
  }

  // ---- mounts and copies ---------------------------------------------------------------------

  /** Mounts the read-only merged view of `top` and its parents at `target`. */
  async mount(top: Snapshot | undefined, target: string): Promise<void> {
    const lowers = await this.lowerdirs(await this.chain(top));
    if (lowers.length < 2) lowers.push(EMPTY2);
    await mountOverlay(this.tools, { lowerdirs: lowers }, target, this.dir);
  }

  /** Unmounts what `mount` or `prepare` mounted. */
  async unmount(target: string): Promise<void> {
    await unmount(this.tools, target);
  }

  /** Copies the merged view of `top` and its parents into `dest` (a plain tree, no whiteouts). */
  async flatten(top: Snapshot | undefined, dest: string): Promise<void> {
    await this.flattenChain(await this.chain(top), dest);
  }

  private async flattenChain(chain: readonly Snapshot[], dest: string): Promise<void> {
    mkdirSync(dest, { recursive: true });
    if (chain.length === 0) return;
    const staging = this.makeTemp();
    const mp = join(staging, 'merged');
    mkdirSync(mp);
    try {
      const lowers = await this.lowerdirs(chain);
      await mountOverlay(this.tools, { lowerdirs: lowers }, mp, this.dir);
      try {
        await runChecked(`copying ${chain.length} layers into ${dest}`, this.tools.cp, [
          '--archive',
          '--no-target-directory',
          `${mp}/.`,
          dest,
        ]);
      } finally {
        await unmount(this.tools, mp);
      }
    } finally {
      await this.trash(staging);
    }
  }

  // ---- removal -------------------------------------------------------------------------------

  /**
   * Removes a snapshot. Refuses while another snapshot has it as parent, or while a mount
   * (of any process in this mount namespace) stacks it.
   */
  async remove(id: string): Promise<void> {
    const s = await this.mustGet(id);
    const children = (await this.list()).filter((c) => c.parent === s.id);
    if (children.length > 0) {
      throw new StoreError(`snapshot ${id} is the parent of ${children.map((c) => c.id).join(', ')}`);
    }
    const folded = readdirSync(join(this.dir, FOLDED)).filter((k) => {
      try {
        const m = JSON.parse(readFileSync(join(this.dir, FOLDED, k, 'meta.json'), 'utf8')) as {
          ids?: string[];
        };
        return m.ids?.includes(id) === true;
      } catch {
        return false;
      }
    });
    const inUse = new Set([
      `${id}/fs`,
      s.dir,
      ...folded.flatMap((k) => [`${FOLDED}/${k}/fs`, join(this.dir, FOLDED, k, 'fs')]),
    ]);
    if (overlayLowerdirs().some((dirs) => dirs.some((d) => inUse.has(d)))) {
      throw new StoreError(`snapshot ${id} is in use by a mounted overlay`);
    }
    for (const k of folded) await this.trash(join(this.dir, FOLDED, k));
    await this.trash(join(this.dir, id));
  }
}
