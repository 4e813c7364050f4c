/**
 * builder/store — builder instances on disk: which exist, which is current, where each keeps
 * its build cache, and which builds are running on them.
 *
 * ```
 * <root>/builders/
 *   .current                  the current builder's name (absent: default)
 *   .holds/<token>            one per running build, naming its builder (see `registerBuild`)
 *   .tmp/                     files being written, and directories being removed
 *   <name>/builder.json       a created builder: driver, node, status, last activity
 *   <name>/cache/             its build cache (cache records, key locks)
 *   <name>/cache-mounts/      its `RUN --mount=type=cache` directories
 * ```
 *
 * The default builder exists without being created and keeps its cache in `<root>/cache` and
 * `<root>/cache-mounts`. Named images (the content store) and unpacked layers (the snapshot
 * store) are shared by all builders.
 *
 * Crash safety: every file is written to `.tmp/` and renamed (or, to create exclusively,
 * linked) into place; a builder directory is removed by renaming it into `.tmp/` first. So a
 * `kill -9` leaves either the old state or the new one. Concurrency: changes to a builder's
 * file take the `builders` lock; a build registers under the `cache-gc` lock, which `prune`
 * and `rm` hold while they wait for running builds to finish and while they remove, so that
 * nothing a running build reads or is about to record disappears under it.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  acquireLock,
  createLivenessToken,
  isAlive,
  type LockScope,
  lockScopeOf,
  withLock,
} from '../content/lock.js';
import {
  CancelledError,
  InvalidArgumentError,
  isErrno,
  messageOf,
  NotFoundError,
  StoreError,
  sleep,
} from '../errors.js';
import { defaultBuilderName, isBuilderName, validateBuilderName } from './names.js';
import {
  type BuilderDriver,
  type BuilderNodeRecord,
  builderDrivers,
  isBuilderDriver,
  leaveNode,
  updateNodes,
} from './nodegroup.js';

export type { BuilderDriver, BuilderNodeRecord } from './nodegroup.js';

/** `inactive`: created, never booted; `running`: booted; `stopped`: by `polyarch stop`. */
export type BuilderStatus = 'inactive' | 'running' | 'stopped';

/** What `builder.json` holds. */
export interface BuilderRecord {
  name: string;
  /** its first node's driver */
  driver: BuilderDriver;
  nodes: BuilderNodeRecord[];
  status: BuilderStatus;
  /** RFC 3339 */
  created: string;
  /** RFC 3339: the start of the last build on it */
  lastActivity?: string;
}

/** A builder as the engine uses it: where its cache lives. */
export interface Builder {
  name: string;
  driver: BuilderDriver;
  /** true for the built-in `default` */
  isDefault: boolean;
  /** the state directory: `<root>/builders/<name>`, or `<root>` for default */
  dir: string;
  /** the build cache: `<dir>/cache` (`<root>/cache` for default) */
  cacheDir: string;
  /** `RUN --mount=type=cache` directories */
  cacheMountsDir: string;
  status: BuilderStatus;
  nodes: BuilderNodeRecord[];
  lastActivity?: Date;
}

export interface CreateBuilderOptions {
  name: string;
  /** `--node`: the node to add or change (default: a new node, `<name><n>`) */
  node?: string;
  /** the node's driver (default `local`) */
  driver?: string;
  /** the daemon's address, checked by its driver; a local node's is the builder's directory */
  endpoint?: string;
  platforms?: string[];
  /** `--driver-opt` */
  driverOpts?: Record<string, string>;
  /** `--append`: add a node to an existing builder */
  append?: boolean;
  /** make it the current builder */
  use?: boolean;
}

const TMP = '.tmp';
const HOLDS = '.holds';
const CURRENT = '.current';
const RECORD = 'builder.json';

/**
 * durable.js (and node:fs/promises with it) loads when the state changes: `ls` and the other
 * commands that only read builders never load it. The reads here are a few small files, read
 * synchronously.
 */
function durable(): Promise<typeof import('../durable.js')> {
  return import('../durable.js');
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the directory is: either way nothing is left to remove
  }
}

function readTextOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The build-cache directories of the default builder. */
function defaultCacheDirs(root: string): { cacheDir: string; cacheMountsDir: string } {
  return { cacheDir: join(root, 'cache'), cacheMountsDir: join(root, 'cache-mounts') };
}

/** A running build's registration; `release()` when the build is done. */
export interface BuildHold {
  release(): Promise<void>;
}

export class BuilderStore {
  readonly root: string;
  /** `<root>/builders` */
  readonly dir: string;
  readonly #scope: LockScope;

  private constructor(root: string, dir: string, scope: LockScope) {
    this.root = root;
    this.dir = dir;
    this.#scope = scope;
  }

  /** Opens the builder state under `root` (creating its directories). */
  static async open(root: string): Promise<BuilderStore> {
    const dir = join(root, 'builders');
    try {
      mkdirSync(join(dir, TMP), { recursive: true });
      mkdirSync(join(dir, HOLDS), { recursive: true });
    } catch (err) {
      throw new StoreError(`opening builder state ${dir}: ${messageOf(err)}`, { cause: err });
    }
    return new BuilderStore(root, dir, await lockScopeOf(dir));
  }

  // ---- reading -------------------------------------------------------------------------------

  #defaultBuilder(): Builder {
    return {
      name: defaultBuilderName,
      driver: 'local',
      isDefault: true,
      dir: this.root,
      ...defaultCacheDirs(this.root),
      status: 'running',
      nodes: [{ name: defaultBuilderName, driver: 'local', endpoint: this.root, platforms: [] }],
    };
  }

  #fromRecord(rec: BuilderRecord): Builder {
    const dir = join(this.dir, rec.name);
    return {
      name: rec.name,
      driver: rec.driver,
      isDefault: false,
      dir,
      cacheDir: join(dir, 'cache'),
      cacheMountsDir: join(dir, 'cache-mounts'),
      status: rec.status,
      nodes: rec.nodes,
      ...(rec.lastActivity ? { lastActivity: new Date(rec.lastActivity) } : {}),
    };
  }

  async #readRecord(name: string): Promise<BuilderRecord | undefined> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, name, RECORD), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
      throw new StoreError(`reading builder ${name}: ${messageOf(err)}`, { cause: err });
    }
    try {
      const rec = JSON.parse(text) as BuilderRecord;
      // records written before nodes had drivers of their own
      return { ...rec, nodes: rec.nodes.map((n) => ({ ...n, driver: n.driver ?? rec.driver })) };
    } catch (err) {
      throw new StoreError(`reading builder ${name}: ${join(this.dir, name, RECORD)} is not valid JSON`, {
        cause: err,
      });
    }
  }

  /** The builder with this name (case-insensitive), or NotFoundError `no builder "x" found`. */
  async get(name: string): Promise<Builder> {
    const lower = name.toLowerCase();
    if (lower === defaultBuilderName) return this.#defaultBuilder();
    const rec = isBuilderName(lower) ? await this.#readRecord(lower) : undefined;
    if (!rec) throw new NotFoundError(`no builder "${name}" found`);
    return this.#fromRecord(rec);
  }

  /** Every builder: the created ones by name, then default (as `buildx ls` lists them). */
  async list(): Promise<Builder[]> {
    const out: Builder[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      if (name.startsWith('.')) continue;
      const rec = await this.#readRecord(name);
      if (rec) out.push(this.#fromRecord(rec));
    }
    out.push(this.#defaultBuilder());
    return out;
  }

  /**
   * Every cache directory under the root, of created builders and of state kept by
   * `rm --keep-state`: the roots that keep snapshots alive.
   */
  async allCacheDirs(): Promise<{ builder: string; cacheDir: string; cacheMountsDir: string }[]> {
    const out = [{ builder: defaultBuilderName, ...defaultCacheDirs(this.root) }];
    for (const name of readdirSync(this.dir).sort()) {
      if (name.startsWith('.')) continue;
      out.push({
        builder: name,
        cacheDir: join(this.dir, name, 'cache'),
        cacheMountsDir: join(this.dir, name, 'cache-mounts'),
      });
    }
    return out;
  }

  /** The current builder's name: `.current` when it names one that exists, else default. */
  async currentName(): Promise<string> {
    let name: string;
    try {
      name = readFileSync(join(this.dir, CURRENT), 'utf8').trim();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return defaultBuilderName;
      throw new StoreError(`reading the current builder: ${messageOf(err)}`, { cause: err });
    }
    if (name === '' || name === defaultBuilderName) return defaultBuilderName;
    return (await this.#readRecord(name)) ? name : defaultBuilderName;
  }

  /** The builder a command uses: the one named (`--builder`, `$BUILDX_BUILDER`), else the current one. */
  async resolve(name: string | undefined): Promise<Builder> {
    return this.get(name !== undefined && name !== '' ? name : await this.currentName());
  }

  // ---- changing ------------------------------------------------------------------------------

  async #writeFile(path: string, data: string): Promise<void> {
    const { randomHex, writeFileDurably } = await durable();
    await writeFileDurably(path, data, {
      tmp: join(this.dir, TMP, `${process.pid}-${randomHex(6)}`),
    });
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.#scope, 'builders', fn);
  }

  /**
   * Creates a builder, or adds or changes one of its nodes (`polyarch create`, buildx's
   * `builder.Create`); answers it. Without `append` or `node`, an existing builder is an error.
   */
  async create(opts: CreateBuilderOptions): Promise<Builder> {
    const driver = opts.driver === undefined || opts.driver === '' ? 'local' : opts.driver;
    if (!isBuilderDriver(driver)) {
      throw new InvalidArgumentError(
        `failed to find driver "${driver}" (available: ${builderDrivers.map((d) => `"${d}"`).join(', ')})`,
      );
    }
    if (opts.name.toLowerCase() === defaultBuilderName) {
      throw new InvalidArgumentError(
        `instance name "${defaultBuilderName}" already exists as context builder`,
      );
    }
    const name = validateBuilderName(opts.name);
    const dir = join(this.dir, name);
    return this.#locked(async () => {
      const existing = await this.#readRecord(name);
      if (!existing && opts.append)
        throw new InvalidArgumentError(`failed to find instance "${name}" for append`);
      if (existing && !opts.append && opts.node === undefined) {
        throw new InvalidArgumentError(
          `existing instance for "${name}" but no append mode, specify the node name to make changes for existing instances`,
        );
      }
      const endpoint = driver === 'local' ? dir : (opts.endpoint ?? '');
      const nodes = updateNodes(name, existing?.nodes ?? [], {
        ...(opts.node !== undefined ? { node: opts.node } : {}),
        driver,
        endpoint,
        endpointSet: driver === 'local' || opts.endpoint !== undefined,
        platforms: opts.platforms ?? [],
        ...(opts.driverOpts !== undefined ? { driverOpts: opts.driverOpts } : {}),
        append: opts.append ?? false,
      });
      const rec: BuilderRecord = existing
        ? { ...existing, driver: nodes[0]!.driver, nodes }
        : { name, driver: nodes[0]!.driver, nodes, status: 'inactive', created: new Date().toISOString() };
      if (existing) await this.#writeFile(join(dir, RECORD), `${JSON.stringify(rec, null, 2)}\n`);
      else await this.#createRecord(rec);
      if (opts.use) await this.#writeFile(join(this.dir, CURRENT), `${name}\n`);
      return this.#fromRecord(rec);
    });
  }

  /** Writes a new builder's record; link() creates exclusively, so none is overwritten. */
  async #createRecord(rec: BuilderRecord): Promise<void> {
    const dir = join(this.dir, rec.name);
    mkdirSync(dir, { recursive: true });
    const { randomHex, writeFileDurably } = await durable();
    const tmp = join(this.dir, TMP, `${process.pid}-${randomHex(6)}`);
    try {
      // linked, not renamed: an existing builder is never overwritten
      await writeFileDurably(join(dir, RECORD), `${JSON.stringify(rec, null, 2)}\n`, {
        tmp,
        exclusive: true,
      });
    } catch (err) {
      if (isErrno(err, 'EEXIST')) {
        throw new InvalidArgumentError(
          `existing instance for "${rec.name}" but no append mode, specify the node name to make changes for existing instances`,
        );
      }
      throw new StoreError(`creating builder ${rec.name}: ${messageOf(err)}`, { cause: err });
    } finally {
      unlinkQuietly(tmp);
    }
  }

  /** Removes a node from a builder (`polyarch create --leave`, buildx's `builder.Leave`). */
  async leave(name: string, node: string): Promise<Builder> {
    return this.#locked(async () => {
      const lower = name.toLowerCase();
      const rec = isBuilderName(lower) ? await this.#readRecord(lower) : undefined;
      if (!rec) throw new InvalidArgumentError(`failed to find instance "${name}" for leave`);
      const nodes = leaveNode(rec.name, rec.nodes, node);
      const next = { ...rec, driver: nodes[0]!.driver, nodes };
      await this.#writeFile(join(this.dir, rec.name, RECORD), `${JSON.stringify(next, null, 2)}\n`);
      return this.#fromRecord(next);
    });
  }

  /** Makes `name` the current builder (`polyarch use`). */
  async use(name: string): Promise<Builder> {
    return this.#locked(async () => {
      const b = await this.get(name);
      await this.#writeFile(join(this.dir, CURRENT), `${b.name}\n`);
      return b;
    });
  }

  /** Changes a created builder's record; the default builder has none (a no-op). */
  async #update(name: string, change: (rec: BuilderRecord) => BuilderRecord): Promise<void> {
    if (name === defaultBuilderName) return;
    await this.#locked(async () => {
      const rec = await this.#readRecord(name);
      if (!rec) throw new NotFoundError(`no builder "${name}" found`);
      await this.#writeFile(join(this.dir, name, RECORD), `${JSON.stringify(change(rec), null, 2)}\n`);
    });
  }

  /** Boots a builder: its directories exist and it is `running`. */
  async boot(name: string): Promise<Builder> {
    const b = await this.get(name);
    mkdirSync(join(b.cacheDir, 'records'), { recursive: true });
    mkdirSync(b.cacheMountsDir, { recursive: true });
    await this.#update(b.name, (r) => ({ ...r, status: 'running', lastActivity: new Date().toISOString() }));
    return this.get(b.name);
  }

  /** Stops a builder (`polyarch stop`): it boots again with the next build. */
  async stop(name: string): Promise<void> {
    const b = await this.get(name);
    await this.#update(b.name, (r) => ({ ...r, status: r.status === 'inactive' ? 'inactive' : 'stopped' }));
  }

  /**
   * Removes a created builder (`polyarch rm`): its record and, unless `keepState`, its cache.
   * The default builder cannot be removed. Call it holding `exclusiveCache` when the cache
   * goes, so that no build is using it.
   */
  async remove(name: string, opts: { keepState?: boolean } = {}): Promise<void> {
    if (name.toLowerCase() === defaultBuilderName) {
      throw new InvalidArgumentError('default is the built-in builder and cannot be removed');
    }
    await this.#locked(async () => {
      const b = await this.get(name);
      if (opts.keepState) {
        try {
          unlinkSync(join(b.dir, RECORD));
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      } else {
        const trash = join(this.dir, TMP, `trash-${process.pid}-${(await durable()).randomHex(6)}`);
        renameSync(b.dir, trash);
        rmSync(trash, { recursive: true, force: true });
      }
      if ((await this.currentName()) === defaultBuilderName) {
        // `.current` named the removed builder (or nothing): reset it
        unlinkQuietly(join(this.dir, CURRENT));
      }
    });
  }

  // ---- running builds ------------------------------------------------------------------------

  /**
   * Registers a build on `builder` until `release()`: `prune` and `rm` wait for it. Waits
   * while one of them runs. Marks the builder running and records its last activity.
   */
  async registerBuild(builder: Builder, signal?: AbortSignal): Promise<BuildHold> {
    const lock = await acquireLock(this.#scope, 'cache-gc', signal ? { signal } : {});
    let token: Awaited<ReturnType<typeof createLivenessToken>>;
    let path: string;
    try {
      token = await createLivenessToken(this.#scope);
      path = join(this.dir, HOLDS, token.id);
      await this.#writeFile(path, `${builder.name}\n`);
    } finally {
      await lock.release();
    }
    if (!builder.isDefault) {
      mkdirSync(join(builder.cacheDir, 'records'), { recursive: true });
      await this.#update(builder.name, (r) => ({
        ...r,
        status: 'running',
        lastActivity: new Date().toISOString(),
      })).catch(() => {});
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        unlinkQuietly(path);
        await token.release();
      },
    };
  }

  /** The builders of the builds running now (one entry per build); removes dead registrations. */
  async runningBuilds(): Promise<string[]> {
    const out: string[] = [];
    for (const id of readdirSync(join(this.dir, HOLDS))) {
      const path = join(this.dir, HOLDS, id);
      if (await isAlive(this.#scope, id)) {
        out.push(readTextOr(path, '').trim());
      } else {
        unlinkQuietly(path);
      }
    }
    return out;
  }

  /**
   * Runs `fn` while no build runs and none can start: takes the `cache-gc` lock, then waits
   * until every registered build has finished (`onWait` is told how many once, when it must wait).
   */
  async exclusiveCache<T>(
    fn: () => Promise<T>,
    opts: { signal?: AbortSignal; onWait?: (builds: number) => void } = {},
  ): Promise<T> {
    const lock = await acquireLock(this.#scope, 'cache-gc', opts.signal ? { signal: opts.signal } : {});
    try {
      let told = false;
      for (;;) {
        const running = await this.runningBuilds();
        if (running.length === 0) break;
        if (!told) opts.onWait?.(running.length);
        told = true;
        if (opts.signal?.aborted) throw new CancelledError('waiting for running builds to finish');
        await sleep(200);
      }
      return await fn();
    } finally {
      await lock.release();
    }
  }
}
