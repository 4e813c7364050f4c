/**
 * api/run — `polyarch run`: one platform's variant of an image from the local store (pulled
 * first when missing), run with its entrypoint, cmd, env, workdir and user on a throw-away
 * overlay, emulated when foreign. The process's exit code is the result.
 */
import { findLocalImages, loadImage, readImageConfig, selectLocalPlatform } from '../content/index.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { checkPlatforms } from '../executor/emulation/index.js';
import type { ImageConfig } from '../oci/types.js';
import { formatPlatform, type Platform, platformMatcher } from '../platforms/index.js';
import { formatReference, parseImageReference } from '../reference/index.js';
import { pullImage } from '../registry/index.js';
import { ensureImageLayers } from '../worker/layers.js';
import { openWorker, type Worker } from '../worker/worker.js';

export interface RunOptions {
  image: string;
  /** the platform to run (default: the host's) */
  platform?: Platform;
  /** replaces the image's CMD */
  args: string[];
  /** replaces the image's ENTRYPOINT ('' clears it) */
  entrypoint?: string;
  user?: string;
  workdir?: string;
  /** extra `KEY=value` (a bare `KEY` takes the caller's environment value) */
  env: string[];
  network: 'host' | 'none';
  privileged: boolean;
  hostname?: string;
  /** `-v SRC:DST[:ro]` bind mounts */
  volumes: string[];
  /** `missing` (default), `always`, `never` */
  pull: 'missing' | 'always' | 'never';
  /** `-i`: the process reads the caller's standard input */
  interactive?: boolean;
}

export interface RunContext {
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  root?: string;
}

/** The process a container of `config` runs, with docker's rules for --entrypoint and arguments. */
export function processArgs(
  config: ImageConfig,
  entrypoint: string | undefined,
  args: readonly string[],
): string[] {
  const c = config.config ?? {};
  const ep = entrypoint !== undefined ? (entrypoint === '' ? [] : [entrypoint]) : (c.Entrypoint ?? []);
  const cmd = args.length > 0 ? [...args] : entrypoint !== undefined ? [] : (c.Cmd ?? []);
  return [...ep, ...cmd];
}

/**
 * The image to run: from the local store by name or ID (an ID of one platform's image runs
 * that image unless --platform asks for another), else pulled by name.
 */
async function findOrPull(
  w: Worker,
  platform: Platform,
  explicit: boolean,
  opts: RunOptions,
  ctx: RunContext,
) {
  if (opts.pull !== 'always') {
    const match = await findLocalImages(w.content, opts.image).then(
      (m) => m[0],
      (err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      },
    );
    if (match) {
      const name = match.record.name;
      const img = await loadImage(w.content, match.record.target, name);
      const pool = match.manifests
        ? { ...img, manifests: img.manifests.filter((m) => match.manifests!.has(m.descriptor.digest)) }
        : img;
      const only = pool.manifests.length === 1 ? pool.manifests[0]!.platform : undefined;
      const want = !explicit && match.by === 'id' && only ? only : platform;
      try {
        return {
          ref: parseImageReference(name),
          chosen: selectLocalPlatform(pool, platformMatcher(want), name, formatPlatform(want)),
        };
      } catch (err) {
        // an ID names what is here; a name may have the platform in its registry
        if (opts.pull === 'never' || match.by === 'id') throw err;
      }
    }
  }
  // a whole image ID is not a name to pull (`sha256:…` would read as the tag of an image "sha256")
  if (/^(?:sha256:)?[0-9a-f]{64}$/.test(opts.image)) {
    throw new NotFoundError(`No such image: ${opts.image} (no local image has that ID)`);
  }
  const ref = parseImageReference(opts.image);
  const full = formatReference(ref);
  if (opts.pull === 'never')
    throw new NotFoundError(`no image ${full} in the local store (and --pull=never)`);
  ctx.stderr.write(`Unable to find image '${full}' locally for ${formatPlatform(platform)}; pulling it\n`);
  await pullImage({
    client: w.registry,
    store: w.content,
    ref,
    host: platform,
    platforms: [platform],
    name: full,
  });
  const again = await w.content.getName(full);
  if (!again) throw new NotFoundError(`pulling ${full}: the image was not stored`);
  const img = await loadImage(w.content, again.target, full);
  return { ref, chosen: selectLocalPlatform(img, platformMatcher(platform), full, formatPlatform(platform)) };
}

function parseVolume(v: string): { source: string; target: string; readonly: boolean } {
  const parts = v.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0]!.startsWith('/') || !parts[1]!.startsWith('/')) {
    throw new InvalidArgumentError(`invalid volume "${v}": expected /host/path:/container/path[:ro]`);
  }
  if (parts[2] !== undefined && parts[2] !== 'ro' && parts[2] !== 'rw') {
    throw new InvalidArgumentError(`invalid volume "${v}": mode must be ro or rw`);
  }
  return { source: parts[0]!, target: parts[1]!, readonly: parts[2] === 'ro' };
}

/** Runs the image; returns the process's exit code. */
export async function runImage(ctx: RunContext, opts: RunOptions): Promise<number> {
  const volumes = opts.volumes.map(parseVolume);
  const w = await openWorker({ ...(ctx.root ? { root: ctx.root } : {}), env: ctx.env });
  try {
    const platform = opts.platform ?? w.host;
    const { ref, chosen } = await findOrPull(w, platform, opts.platform !== undefined, opts, ctx);
    const manifest = chosen.manifest!;
    const config = await readImageConfig(w.content, manifest);
    const imagePlatform = chosen.platform ?? platform;
    const args = processArgs(config, opts.entrypoint, opts.args);
    if (args.length === 0) {
      throw new InvalidArgumentError(
        `${formatReference(ref)} has no ENTRYPOINT or CMD: give a command to run`,
      );
    }
    checkPlatforms([imagePlatform]);
    const { top } = await ensureImageLayers(w, {
      ref,
      manifest,
      manifestDescriptor: chosen.descriptor,
      config,
      platform: imagePlatform,
      signal: ctx.signal,
    });
    const env = [...(config.config?.Env ?? [])];
    for (const e of opts.env) {
      const i = e.indexOf('=');
      const kv = i < 0 ? (ctx.env[e] !== undefined ? `${e}=${ctx.env[e]}` : undefined) : e;
      if (!kv) continue;
      const key = kv.slice(0, kv.indexOf('='));
      const at = env.findIndex((x) => x.startsWith(`${key}=`));
      if (at >= 0) env[at] = kv;
      else env.push(kv);
    }
    const active = await w.snapshots.prepare(top);
    try {
      const result = await w.executor.run({
        rootfs: active.merged,
        args,
        env,
        cwd: opts.workdir || config.config?.WorkingDir || '/',
        ...((opts.user ?? config.config?.User) ? { user: opts.user ?? config.config?.User } : {}),
        ...(opts.hostname ? { hostname: opts.hostname } : {}),
        mounts: volumes.map((v) => ({
          type: 'bind' as const,
          source: v.source,
          target: v.target,
          readonly: v.readonly,
        })),
        network: opts.network,
        security: opts.privileged ? 'insecure' : 'sandbox',
        platform: formatPlatform(imagePlatform),
        ...(opts.interactive && ctx.stdin ? { stdin: ctx.stdin } : {}),
        stdout: (b) => ctx.stdout.write(b),
        stderr: (b) => ctx.stderr.write(b),
        signal: ctx.signal,
      });
      return result.exitCode;
    } finally {
      await w.snapshots.discard(active);
    }
  } finally {
    await w.close();
  }
}
