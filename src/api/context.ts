/**
 * api/context — what the library's image, store, builder and auth calls need from their
 * caller: where polyarch's state lives, the process environment (docker's config.json for
 * credentials, `$POLYARCH_INSECURE_REGISTRIES` for plain-HTTP registries), cancellation, and
 * where a line per registry request goes. The helpers below open what a call uses from it and
 * close it after; they are the api's own, not exported from the package.
 */
import type { ContentStore } from '../content/interfaces.js';
import { rootLayout } from '../content/root.js';
import { insecureRegistriesEnv, parseInsecureList } from '../registry/hosts.js';
import type { RegistryClient } from '../registry/index.js';
import { polyarchRoot } from '../worker/root.js';

/** Where a call works and what the process gives it. */
export interface PolyarchContext {
  /** the root directory (`--root`); default `$POLYARCH_ROOT`, else per user (see DESIGN) */
  root?: string;
  env: NodeJS.ProcessEnv;
  /** what a relative `root` is resolved against */
  cwd: string;
  signal?: AbortSignal;
  /** a line per registry request (`--debug`) */
  debug?: (line: string) => void;
}

/** The root directory the context means. */
export function rootOf(ctx: PolyarchContext): string {
  return polyarchRoot(ctx.root, ctx.env, ctx.cwd);
}

/** How the context talks to registries: plain-HTTP hosts, cancellation, debug lines. */
export function transportOptionsOf(ctx: PolyarchContext) {
  return {
    insecureRegistries: parseInsecureList(ctx.env[insecureRegistriesEnv]),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.debug ? { debug: ctx.debug } : {}),
  };
}

/** Runs `fn` with the local store, closing it after. */
export async function withStore<T>(
  ctx: PolyarchContext,
  fn: (store: ContentStore) => Promise<T>,
): Promise<T> {
  // imported here: commands that list builders or print help never load the store's code
  const { openContentStore } = await import('../content/store.js');
  const store = await openContentStore(rootLayout(rootOf(ctx)).content);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Runs `fn` with a registry client (the user's docker credentials), closing it after. */
export async function withClient<T>(
  ctx: PolyarchContext,
  fn: (client: RegistryClient) => Promise<T>,
): Promise<T> {
  // the registry client comes with the worker's module, loaded by the calls that speak to a
  // registry only: listing or removing local images loads neither
  const { registryClientFor } = await import('../worker/worker.js');
  const client = registryClientFor({
    env: ctx.env,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.debug ? { debug: ctx.debug } : {}),
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Runs `fn` with the store and a registry client, closing both after. */
export function withStoreAndClient<T>(
  ctx: PolyarchContext,
  fn: (store: ContentStore, client: RegistryClient) => Promise<T>,
): Promise<T> {
  return withStore(ctx, (store) => withClient(ctx, (client) => fn(store, client)));
}
