/**
 * cli/store-env — what the image commands share: the local store under `--root`, a registry
 * client configured from the environment (docker's config.json for credentials,
 * `$POLYARCH_INSECURE_REGISTRIES` for plain-HTTP hosts besides loopback, `--debug` for a line
 * per request), the host platform, and finding a local image by name or digest.
 */
import { setFlagsFromString } from 'node:v8';
import { findLocalImages as findLocalImagesIn } from '../content/images.js';
import { type ContentStore, type ImageRecord, openContentStore, rootLayout } from '../content/index.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { detectHostPlatform } from '../platforms/host.js';
import {
  DockerConfigCredentials,
  insecureRegistriesEnv,
  parseInsecureList,
  type RegistryClient,
  type TransportOptions,
} from '../registry/index.js';
import { homeOf, polyarchRoot, registryClientFor } from '../worker/worker.js';
import type { CommandContext } from './command.js';

/** The polyarch root directory for this command (`--root`, `$POLYARCH_ROOT`, defaults). */
export function rootDirOf(ctx: CommandContext): string {
  return polyarchRoot(ctx.globals.string('root'), ctx.env, ctx.cwd);
}

export function openStoreOf(ctx: CommandContext): Promise<ContentStore> {
  return openContentStore(rootLayout(rootDirOf(ctx)).content);
}

export function credentialsOf(ctx: CommandContext): DockerConfigCredentials {
  return new DockerConfigCredentials({ env: ctx.env, home: homeOf(ctx.env) });
}

/**
 * undici parses HTTP with llhttp compiled to WebAssembly; V8's optimising tier for it costs
 * about 35 MB of RSS per process and buys nothing measurable for registry traffic (bodies pass
 * through as slices). The CLI owns the process, so `main` asks V8 for the baseline compiler
 * only, before any command runs (and so before the first request compiles the module).
 */
export function useBaselineWasm(): void {
  setFlagsFromString('--liftoff-only');
}

/** How this command talks to registries: plain-HTTP hosts, cancellation, `--debug` lines. */
export function transportOptionsOf(ctx: CommandContext): TransportOptions {
  const debug = ctx.globals.bool('debug');
  return {
    insecureRegistries: parseInsecureList(ctx.env[insecureRegistriesEnv]),
    signal: ctx.signal,
    ...(debug ? { debug: (line: string) => ctx.stderr.write(`DEBUG: ${line}\n`) } : {}),
  };
}

export function registryClientOf(ctx: CommandContext): RegistryClient {
  const { signal, debug } = transportOptionsOf(ctx);
  return registryClientFor({ env: ctx.env, ...(signal ? { signal } : {}), ...(debug ? { debug } : {}) });
}

export function hostPlatformOf(): Platform {
  return detectHostPlatform();
}

/** Runs `fn` with the store and a registry client, closing both after. */
export async function withStoreAndClient<T>(
  ctx: CommandContext,
  fn: (store: ContentStore, client: RegistryClient) => Promise<T>,
): Promise<T> {
  const store = await openStoreOf(ctx);
  const client = registryClientOf(ctx);
  try {
    return await fn(store, client);
  } finally {
    await client.close();
    await store.close();
  }
}

/** Local images by name or ID (see content's findLocalImages): their records. */
export async function findLocalImages(store: ContentStore, arg: string): Promise<ImageRecord[]> {
  return (await findLocalImagesIn(store, arg)).map((m) => m.record);
}

/** One local image by name or digest: its record (the first name when found by digest). */
export async function findLocalImage(
  store: ContentStore,
  arg: string,
): Promise<{ name: string; target: Descriptor }> {
  return (await findLocalImages(store, arg))[0]!;
}
