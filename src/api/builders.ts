/**
 * api/builders — builder instances as a library: create one or change its nodes (`create`,
 * `create --append|--node|--leave`), list them and describe their nodes (`ls`, `inspect`),
 * make one current (`use`), stop one (`stop`) or remove some with their build cache (`rm`).
 * A builder is a list of nodes, each with its driver: polyarch's own engine (`local`), a
 * BuildKit daemon (`remote`), or a Docker engine's BuildKit (`docker`).
 *
 *     await createBuilder(ctx, { name: 'fleet', node: 'here', platforms: ['linux/amd64'] });
 *     await createBuilder(ctx, { name: 'fleet', append: true, node: 'armbox', driver: 'remote',
 *                                endpoint: 'tcp://armbox:1234', platforms: ['linux/arm64'] });
 *     const { builders } = await listBuilders(ctx);
 */
import type { Builder, NodeInfo } from '../builder/index.js';
import { generateBuilderName } from '../builder/names.js';
import { workerPlatforms } from '../builder/node.js';
import { isBuilderDriver } from '../builder/nodegroup.js';
import { BuilderStore } from '../builder/store.js';
import { describeNodes, nodeDriverOpts, nodeEndpoint } from '../driver/index.js';
import { BuildError, InvalidArgumentError } from '../errors.js';
import { csvRecord } from '../goparse.js';
import { detectHostPlatform } from '../platforms/host.js';
import { formatPlatform, type Platform, parsePlatformList } from '../platforms/index.js';
import { type PolyarchContext, rootOf } from './context.js';

export type { Builder, NodeInfo } from '../builder/index.js';
export { truncatePlatforms } from '../builder/platforms.js';

export interface CreateBuilderRequest {
  /** default: a generated `adjective_scientist` */
  name?: string;
  /** `--node`: the node to add or change */
  node?: string;
  /** `local` (default), `remote` or `docker` */
  driver?: string;
  /** the daemon's address (`tcp://host:1234`, `unix:///run/buildkit/buildkitd.sock`) */
  endpoint?: string;
  /** `--platform`: platforms this node builds first */
  platforms?: readonly string[];
  /** `--driver-opt` values, each `k=v[,k=v…]` */
  driverOpts?: readonly string[];
  append?: boolean;
  use?: boolean;
  /** check that every node answers (and boot the local one) */
  bootstrap?: boolean;
}

/** A builder with its nodes as `ls` and `inspect` show them. */
export interface DescribedBuilder {
  builder: Builder;
  nodes: NodeInfo[];
}

async function openBuilders(ctx: PolyarchContext): Promise<BuilderStore> {
  return BuilderStore.open(rootOf(ctx));
}

/** `--driver-opt a=b,c=d` values as one map (buildx's csvToMap). */
export function parseDriverOpts(values: readonly string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    for (const field of csvRecord(v)) {
      const eq = field.indexOf('=');
      if (eq <= 0) throw new InvalidArgumentError(`invalid value "${field}", expecting k=v`);
      out[field.slice(0, eq)] = field.slice(eq + 1);
    }
  }
  return out;
}

async function freeName(builders: BuilderStore): Promise<string> {
  const taken = new Set((await builders.list()).map((b) => b.name));
  const name = Array.from({ length: 20 }, () => generateBuilderName()).find((n) => !taken.has(n));
  if (name === undefined)
    throw new InvalidArgumentError('could not pick a free builder name; give one with --name');
  return name;
}

/** The driver a request means: the one given, else the named node's, else the builder's, else local. */
async function driverFor(builders: BuilderStore, req: CreateBuilderRequest, name: string): Promise<string> {
  if (req.driver) return req.driver;
  const existing = await builders.get(name).catch(() => undefined);
  const node = existing?.nodes.find((n) => n.name === req.node?.toLowerCase());
  if (node) return node.driver;
  if (existing && !existing.isDefault && req.append) return existing.driver;
  return 'local';
}

/**
 * Creates a builder, or adds (`append`) or changes (`node`) one of its nodes, as
 * `buildx create` does; answers the builder.
 */
export async function createBuilder(ctx: PolyarchContext, req: CreateBuilderRequest): Promise<Builder> {
  if (req.name === 'default') {
    throw new InvalidArgumentError(
      'default is a reserved name and cannot be used to identify builder instance',
    );
  }
  if (req.append && !req.name) throw new InvalidArgumentError('append requires a builder name');
  const builders = await openBuilders(ctx);
  const name = req.name || (await freeName(builders));
  const driver = await driverFor(builders, req, name);
  if (!isBuilderDriver(driver)) {
    throw new InvalidArgumentError(
      `failed to find driver "${driver}" (available: "local", "remote", "docker")`,
    );
  }
  const input = {
    driver,
    ...(req.endpoint !== undefined ? { endpoint: req.endpoint } : {}),
    ...(req.driverOpts?.length ? { driverOpts: parseDriverOpts(req.driverOpts)! } : {}),
    env: ctx.env,
    cwd: ctx.cwd,
  };
  const endpoint = nodeEndpoint(input);
  const driverOpts = nodeDriverOpts(input);
  const b = await builders.create({
    name,
    driver,
    ...(req.node !== undefined ? { node: req.node } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
    platforms: parsePlatformList([...(req.platforms ?? [])]).map(formatPlatform),
    ...(driverOpts !== undefined ? { driverOpts } : {}),
    append: req.append ?? false,
    use: req.use ?? false,
  });
  if (req.bootstrap) return bootstrapBuilder(ctx, builders, b);
  return b;
}

/** Boots a builder's local node and checks that every node answers. */
async function bootstrapBuilder(ctx: PolyarchContext, builders: BuilderStore, b: Builder): Promise<Builder> {
  const booted = await builders.boot(b.name);
  const nodes = await describeNodes(booted, describeContext(ctx));
  const down = nodes.find((n) => n.error !== undefined);
  if (down) {
    throw new BuildError(
      `failed to bootstrap builder ${b.name}: node ${down.name} (${down.endpoint}): ${down.error}`,
    );
  }
  return booted;
}

/** Removes a node from a builder (`create --leave --name N --node X`). */
export async function leaveBuilder(
  ctx: PolyarchContext,
  req: { name?: string; node?: string },
): Promise<Builder> {
  if (!req.name) throw new InvalidArgumentError('leave requires instance name');
  if (!req.node) throw new InvalidArgumentError('leave requires node name but --node not set');
  return (await openBuilders(ctx)).leave(req.name, req.node);
}

function describeContext(ctx: PolyarchContext): Parameters<typeof describeNodes>[1] {
  const host = detectHostPlatform();
  let detected: Platform[] | undefined;
  return {
    host,
    supported: () => {
      detected ??= workerPlatforms(host);
      return detected;
    },
    env: ctx.env,
  };
}

/** Every builder with its nodes, and the current builder's name (`ls`). */
export async function listBuilders(
  ctx: PolyarchContext,
): Promise<{ current: string; builders: DescribedBuilder[] }> {
  const builders = await openBuilders(ctx);
  const dctx = describeContext(ctx);
  const list = await builders.list();
  const described = await Promise.all(
    list.map(async (builder) => ({ builder, nodes: await describeNodes(builder, dctx) })),
  );
  return { current: await builders.currentName(), builders: described };
}

/** One builder with its nodes (`inspect [NAME] [--bootstrap]`): the named one, else the current one. */
export async function inspectBuilder(
  ctx: PolyarchContext,
  req: { name?: string; bootstrap?: boolean },
): Promise<DescribedBuilder> {
  const builders = await openBuilders(ctx);
  let builder = await builders.resolve(req.name);
  if (req.bootstrap) builder = await bootstrapBuilder(ctx, builders, builder);
  return { builder, nodes: await describeNodes(builder, describeContext(ctx)) };
}

/** The builder a name means, else the current one; its record, its nodes not asked anything. */
export async function getBuilder(ctx: PolyarchContext, name?: string): Promise<Builder> {
  return (await openBuilders(ctx)).resolve(name);
}

/** Makes a builder the current one (`use`). */
export async function useBuilder(ctx: PolyarchContext, name: string): Promise<Builder> {
  return (await openBuilders(ctx)).use(name);
}

/**
 * Stops a builder, the named one else the current one (`stop`). A local builder has no
 * daemon: it is marked stopped and boots again with its next build.
 */
export async function stopBuilder(ctx: PolyarchContext, name?: string): Promise<void> {
  const builders = await openBuilders(ctx);
  await builders.stop((await builders.resolve(name)).name);
}

export interface RemoveBuildersRequest {
  /** the builders to remove (default: the current one); all are checked before any goes */
  names?: readonly string[];
  /** keep the build cache (a builder created with the same name uses it) */
  keepState?: boolean;
  /** each builder as it is removed */
  onRemoved?: (name: string) => void;
  /** running builds are waited for (not with `keepState`): told once, with their number */
  onWait?: (builds: number) => void;
}

/**
 * Removes builders (`rm`) and, unless `keepState`, their build cache: the records and cache
 * mounts go with the builder's directory, then the snapshots no builder's records name any
 * more and the blobs only they held. The built-in `default` cannot be removed.
 */
export async function removeBuilders(ctx: PolyarchContext, req: RemoveBuildersRequest = {}): Promise<void> {
  const builders = await openBuilders(ctx);
  const names = req.names?.length ? req.names : [(await builders.resolve(undefined)).name];
  const targets: Builder[] = [];
  for (const n of names) {
    const b = await builders.get(n);
    if (b.isDefault) throw new InvalidArgumentError('default is the built-in builder and cannot be removed');
    targets.push(b);
  }
  const keepState = req.keepState ?? false;
  const removeAll = async () => {
    for (const b of targets) {
      await builders.remove(b.name, { keepState });
      req.onRemoved?.(b.name);
    }
  };
  if (keepState) return removeAll();
  const root = rootOf(ctx);
  // the stores and the sweep are imported here, by rm only: ls, inspect and use load none of
  // them (the builder barrel would bring the snapshot store through builder/usage)
  const [{ openContentStore }, { rootLayout }, { SnapshotStore }, { sweepUnreferenced }] = await Promise.all([
    import('../content/store.js'),
    import('../content/root.js'),
    import('../snapshot/store.js'),
    import('../builder/usage.js'),
  ]);
  const content = await openContentStore(rootLayout(root).content);
  try {
    const snapshots = await SnapshotStore.open({ root });
    await builders.exclusiveCache(
      async () => {
        await removeAll();
        await sweepUnreferenced({ builders, snapshots, content });
      },
      { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(req.onWait ? { onWait: req.onWait } : {}) },
    );
  } finally {
    await content.close();
  }
}
