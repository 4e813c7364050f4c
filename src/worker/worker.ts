/**
 * worker/worker — what carries out the ops of a build on this machine: the local content
 * store, the snapshot store, the build cache, the registry client and the OCI runtime, opened
 * once per command under one root directory (BuildKit's worker), and the pool of threads that
 * compress layers. The build cache is the
 * builder instance's (`--builder`, else the current one; see builder/store).
 *
 *     const worker = await openWorker({ root, env, signal });
 *     try { … } finally { await worker.close(); }
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type Builder, BuilderStore } from '../builder/store.js';
import { CompressPool } from '../compress/pool.js';
import { type ContentStore, openContentStore, rootLayout } from '../content/index.js';
import { Executor } from '../executor/index.js';
import { CacheStore } from '../graph/cache.js';
import type { Platform } from '../oci/types.js';
import { detectHostPlatform } from '../platforms/host.js';
import {
  DockerConfigCredentials,
  insecureRegistriesEnv,
  parseInsecureList,
  RegistryClient,
} from '../registry/index.js';
import { SnapshotStore } from '../snapshot/index.js';
import { homeOf, polyarchRoot } from './root.js';

export interface WorkerOptions {
  /** `--root`; default from `$POLYARCH_ROOT`, then `/var/lib/polyarch` (root) or the XDG data dir */
  root?: string;
  env: NodeJS.ProcessEnv;
  /** `runc` (default) or `crun`, from `$POLYARCH_RUNTIME` when not given */
  runtime?: 'runc' | 'crun';
  /** cancels waiting for a builder and registry requests */
  signal?: AbortSignal;
  /** `--debug`: a line per registry request */
  debug?: (line: string) => void;
  /**
   * The builder instance whose build cache to use (`--builder`, `$BUILDX_BUILDER`); default
   * the current one. One that does not exist is a NotFoundError (`no builder "x" found`).
   */
  builder?: string;
  /**
   * A build: registers with the builder until `close()`, so that `prune` and `rm` wait for
   * it (and it waits for them), and records the builder's last activity.
   */
  build?: boolean;
}

export interface Worker {
  readonly root: string;
  readonly content: ContentStore;
  readonly snapshots: SnapshotStore;
  readonly cache: CacheStore;
  readonly registry: RegistryClient;
  readonly executor: Executor;
  readonly host: Platform;
  /** the builder instance whose cache this is */
  readonly builder: Builder;
  /** `<root>/cache-mounts` (the default builder), `<root>/builders/<name>/cache-mounts`: the directories of `RUN --mount=type=cache` */
  readonly cacheMountsDir: string;
  /** `<root>/tmp`: scratch space removed when done */
  readonly tmpDir: string;
  /** layer compression in worker threads, one per core, started on first use */
  readonly compressor: CompressPool;
  close(): Promise<void>;
}

/** A registry client with the user's docker credentials and `$POLYARCH_INSECURE_REGISTRIES`. */
export function registryClientFor(opts: {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  debug?: (line: string) => void;
}): RegistryClient {
  return new RegistryClient({
    credentials: new DockerConfigCredentials({ env: opts.env, home: homeOf(opts.env) }),
    insecureRegistries: parseInsecureList(opts.env[insecureRegistriesEnv]),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.debug ? { debug: opts.debug } : {}),
  });
}

export async function openWorker(opts: WorkerOptions): Promise<Worker> {
  const root = polyarchRoot(opts.root, opts.env);
  const builders = await BuilderStore.open(root);
  const builder = await builders.resolve(opts.builder);
  const hold = opts.build ? await builders.registerBuild(builder, opts.signal) : undefined;
  const layout = rootLayout(root);
  let content: ContentStore;
  let snapshots: SnapshotStore;
  try {
    content = await openContentStore(layout.content);
    snapshots = await SnapshotStore.open({ root });
  } catch (err) {
    await hold?.release();
    throw err;
  }
  const cache = new CacheStore({ dir: builder.cacheDir });
  const registry = registryClientFor(opts);
  const runtimeName = opts.runtime ?? (opts.env.POLYARCH_RUNTIME === 'crun' ? 'crun' : 'runc');
  const executor = new Executor({ stateDir: join(root, 'executor'), runtime: { name: runtimeName } });
  // the calling thread is one lane and the workers the others: one core each, and a lone
  // layer starts no worker
  const compressor = new CompressPool({
    localLanes: 1,
    size: Math.max(1, availableParallelism() - 1),
    ...(opts.debug ? { debug: opts.debug } : {}),
  });
  return {
    root,
    content,
    snapshots,
    cache,
    registry,
    executor,
    host: detectHostPlatform(),
    builder,
    cacheMountsDir: builder.cacheMountsDir,
    tmpDir: join(root, 'tmp'),
    compressor,
    async close() {
      await Promise.allSettled([registry.close(), content.close(), compressor.close()]);
      await hold?.release();
    },
  };
}
