/**
 * exporter/exporters/image — `type=image` (`--push`, `type=registry`): the image assembled into
 * the content store, pushed to registries, and named in the local store; and `--load`
 * (`type=docker` without `dest`): the local store and, when there is one, a Docker engine.
 * Layers a build took lazily from an imported cache are pushed from there (exporter/push).
 */
import { Readable } from 'node:stream';
import { lazyOrigins } from '../../cache/lazy.js';
import { InvalidArgumentError, messageOf } from '../../errors.js';
import { formatPlatform } from '../../platforms/index.js';
import type { VertexHandle } from '../../progress/writer.js';
import { parseReference, repositoryName } from '../../reference/index.js';
import { allowsInsecure, insecureRegistriesEnv, parseInsecureList } from '../../registry/hosts.js';
import { writeTar } from '../../tar/index.js';
import type { Assembled } from '../assemble.js';
import {
  type DockerEndpoint,
  DockerEngine,
  defaultDockerSocket,
  dockerEndpoint,
  formatEndpoint,
} from '../docker-engine.js';
import { layoutTarEntries, planLayout } from '../layout.js';
import type { ImageOutput, LoadOutput } from '../outputs.js';
import { checkPushAccess, pushBuilt } from '../push.js';
import type { ExportContext, Exported, Exporter, PrepareContext } from './types.js';

const stepName = 'exporting to image';

/**
 * The local store's names for an image, given in the last phase. A pushed image whose lazy
 * layers (from an imported cache) are not in the store is not named: the push took them from
 * the cache, and naming it would make an incomplete local image.
 */
function naming(ctx: ExportContext, names: readonly string[], image: Assembled, v: VertexHandle) {
  return {
    phase: 'names' as const,
    run: async () => {
      for (const d of lazyOrigins(ctx.builds.map((b) => b.layers)).keys()) {
        if (await ctx.o.content.has(d)) continue;
        v.status(
          `not naming ${names.join(', ')} in the local store: its layers stay in the imported cache`,
        ).done();
        return;
      }
      for (const name of names) {
        await ctx.o.content.setName(name, image.top);
        v.status(`naming to ${name}`).done();
      }
    },
  };
}

export const imageExporter: Exporter<ImageOutput> = {
  stepName,
  async prepare(out, ctx) {
    if (out.format.referrers && !out.push) {
      throw new InvalidArgumentError(
        'output type=image: attestation-storage=referrers keeps attestations in a registry: it needs push=true (or --push)',
      );
    }
    if (!out.push) return;
    const insecureHosts = parseInsecureList(ctx.env[insecureRegistriesEnv]);
    for (const n of out.names) {
      const ref = parseReference(n);
      if (out.insecure && !allowsInsecure(ref.domain, insecureHosts)) {
        throw new InvalidArgumentError(
          `output type=image: registry.insecure for ${ref.domain}: plain HTTP is used for loopback hosts and those listed in $${insecureRegistriesEnv} only; add ${ref.domain} there`,
        );
      }
      const repo = repositoryName(ref);
      if (ctx.checkedRepos.has(repo)) continue;
      ctx.checkedRepos.add(repo);
      await checkPushAccess(ctx.registry, n);
    }
  },
  async export(out, ctx) {
    const v = ctx.step(stepName);
    const image = await ctx.assemble(out.format, v);
    const later: Exported['later'] = [];
    if (out.push) {
      later.push({
        phase: 'registry',
        run: async () => {
          await pushBuilt({
            client: ctx.o.registry,
            store: ctx.o.content,
            top: image.top,
            names: out.names,
            byDigest: out.pushByDigest,
            ...(image.referrers ? { referrers: image.referrers } : {}),
            elsewhere: lazyOrigins(ctx.builds.map((b) => b.layers)),
            progress: v,
          });
        },
      });
    }
    if (out.store) later.push(naming(ctx, out.names, image, v));
    return { image, names: out.names, later };
  },
};

export const loadExporter: Exporter<LoadOutput> = {
  stepName,
  async prepare(out, ctx) {
    const docker = await findDocker(out, ctx);
    if (docker) ctx.docker = docker;
  },
  async export(out, ctx) {
    const v = ctx.step(stepName);
    const image = await ctx.assemble(out.format, v);
    const later: Exported['later'] = [];
    const { docker } = ctx;
    if (docker) later.push({ phase: 'engine', run: () => loadInto(docker, ctx, out, image, v) });
    later.push(naming(ctx, out.names, image, v));
    return { image, names: out.names, later };
  },
};

async function loadInto(
  docker: DockerEngine,
  ctx: ExportContext,
  out: LoadOutput,
  image: Assembled,
  v: VertexHandle,
): Promise<void> {
  const { o } = ctx;
  const layout = await planLayout({
    store: o.content,
    top: image.top,
    names: out.names,
    variant: 'docker',
    host: o.host,
    ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
  });
  const s = v.status('importing to docker');
  await docker.load(Readable.from(writeTar(layoutTarEntries(o.content, layout, o.sourceDateEpoch ?? 0))));
  s.done();
}

/** The engine `--load` goes to, checked; undefined when an automatic load has none. */
async function findDocker(load: LoadOutput, o: PrepareContext): Promise<DockerEngine | undefined> {
  const required = load.docker === 'required';
  /** a reason the load cannot reach an engine: fatal for `--load=docker`, a warning otherwise */
  const without = (msg: string, cause?: unknown): undefined => {
    if (required) throw new InvalidArgumentError(`--load=docker: ${msg}`, cause ? { cause } : undefined);
    o.warn(`--load: ${msg}; the image goes to the local store only`);
    return undefined;
  };
  let endpoint: DockerEndpoint | undefined;
  try {
    endpoint = dockerEndpoint(o.env, o.exists);
  } catch (err) {
    if (required) throw err;
    return without(messageOf(err));
  }
  if (!endpoint) {
    if (required)
      return without(`no Docker engine: DOCKER_HOST is not set and ${defaultDockerSocket} does not exist`);
    return undefined;
  }
  const engine = new DockerEngine(endpoint);
  const where = formatEndpoint(endpoint);
  try {
    await engine.ping();
  } catch (err) {
    return required
      ? without(`no Docker engine answers at ${where}: ${messageOf(err)}`, err)
      : without(`no Docker engine answers at ${where} (${messageOf(err)})`);
  }
  if (o.platforms.length > 1) {
    const info = await engine.info();
    if (!info.containerdStore) {
      return without(
        `the Docker engine at ${where} (${info.serverVersion || 'unknown version'}) keeps one platform per image ` +
          `(its containerd image store is off): it cannot load a ${o.platforms.length}-platform image; ` +
          `build one platform for it with --platform (e.g. --platform ${formatPlatform(o.platforms[0]!)}), ` +
          'or push the image and pull it there',
      );
    }
  }
  return engine;
}
