/**
 * worker/worker — what carries out the ops of a build on this machine: the local content
 * store, the snapshot store, the build cache, the registry client and the OCI runtime, opened
 * once per command under one root directory (BuildKit's worker).
 *
 *     const worker = await openWorker({ root, env, signal });
 *     try { … } finally { await worker.close(); }
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ContentStore, openContentStore, resolveRootDir, rootLayout } from '../content/index.js';
import { Executor } from '../executor/index.js';
import { CacheStore } from '../graph/cache.js';
import type { Platform } from '../oci/types.js';
import { detectHostPlatform } from '../platforms/host.js';
import { DockerConfigCredentials, parseInsecureList, RegistryClient } from '../registry/index.js';
import { SnapshotStore } from '../snapshot/index.js';

export interface WorkerOptions {
  /** `--root`; default from `$POLYARCH_ROOT`, then `/var/lib/polyarch` (root) or the XDG data dir */
  root?: string;
  env: NodeJS.ProcessEnv;
  /** `runc` (default) or `crun`, from `$POLYARCH_RUNTIME` when not given */
  runtime?: 'runc' | 'crun';
}

export interface Worker {
  readonly root: string;
  readonly content: ContentStore;
  readonly snapshots: SnapshotStore;
  readonly cache: CacheStore;
  readonly registry: RegistryClient;
  readonly executor: Executor;
  readonly host: Platform;
  /** `<root>/cache-mounts`: the directories of `RUN --mount=type=cache` */
  readonly cacheMountsDir: string;
  /** `<root>/tmp`: scratch space removed when done */
  readonly tmpDir: string;
  close(): Promise<void>;
}

/** Resolves the root directory the way every command does. */
export function polyarchRoot(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolveRootDir({
    ...(flag ? { flag } : {}),
    env,
    uid: process.getuid?.() ?? 0,
    home: homedir(),
  });
}

export async function openWorker(opts: WorkerOptions): Promise<Worker> {
  const root = polyarchRoot(opts.root, opts.env);
  const layout = rootLayout(root);
  const content = await openContentStore(layout.content);
  const snapshots = await SnapshotStore.open({ root });
  const cache = new CacheStore({ dir: join(root, 'cache') });
  const registry = new RegistryClient({
    credentials: new DockerConfigCredentials({ env: opts.env, home: homedir() }),
    insecureRegistries: parseInsecureList(opts.env.POLYARCH_INSECURE_REGISTRIES),
  });
  const runtimeName = opts.runtime ?? (opts.env.POLYARCH_RUNTIME === 'crun' ? 'crun' : 'runc');
  const executor = new Executor({ stateDir: join(root, 'executor'), runtime: { name: runtimeName } });
  return {
    root,
    content,
    snapshots,
    cache,
    registry,
    executor,
    host: detectHostPlatform(),
    cacheMountsDir: join(root, 'cache-mounts'),
    tmpDir: join(root, 'tmp'),
    async close() {
      await Promise.allSettled([registry.close(), content.close()]);
    },
  };
}
