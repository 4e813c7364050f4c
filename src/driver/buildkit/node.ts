/**
 * driver/buildkit/node — one BuildKit daemon as a node of a build: asked what its workers run,
 * given its share of the platforms as a `dockerfile.v0` solve (the session serves the context,
 * the Dockerfile, registry credentials and secrets), and its images brought back into the
 * content store as platform results (see driver.ts for how each driver sends them).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { BuildkitClient, type BuildkitEndpoint } from '../../buildkit/client.js';
import { GrpcCode, GrpcError } from '../../buildkit/grpc.js';
import type { SessionOptions } from '../../buildkit/session.js';
import { parseAddress } from '../../buildkit/transport.js';
import type { WorkerRecordMsg } from '../../buildkit/wire.js';
import { BuildError, messageOf, UnsupportedError } from '../../errors.js';
import type { PlatformBuild } from '../../exporter/assemble.js';
import { DockerEngine } from '../../exporter/docker-engine.js';
import { formatPlatform, type Platform, platformMatcher } from '../../platforms/index.js';
import type { SolveStatus } from '../../progress/events.js';
import { DockerConfigCredentials } from '../../registry/credentials.js';
import { homeOf } from '../../worker/root.js';
import type { Worker } from '../../worker/worker.js';
import type { BuildNode, NodeEnv, NodePlan, SolveRequest, WorkerPlatforms } from '../types.js';
import { type ArchivedImage, importImageArchive } from './archive.js';
import { frontendInput } from './attrs.js';
import { cacheRefusal, nodeCacheOptions } from './cache.js';
import { platformBuildOf } from './results.js';

export interface BuildkitNodeOptions {
  /** the builder's name, for errors */
  builder: string;
  name: string;
  configured: readonly Platform[];
  endpoint: BuildkitEndpoint;
  worker: Worker;
  env: NodeJS.ProcessEnv;
}

/** What a share of the build needs on the daemon's side, prepared by `plan`. */
interface Share {
  bk: BuildkitClient;
  request: SolveRequest;
  env: NodeEnv;
  dockerfileDir: string;
  dockerfileName: string;
  contextDir: string;
}

/** The platforms a daemon's workers build, the first worker's first (its native one) leading. */
export function workerPlatformsOf(workers: readonly WorkerRecordMsg[]): Platform[] {
  return workers.flatMap((w) =>
    w.platforms.map((p) => ({
      os: p.os,
      architecture: p.architecture,
      ...(p.variant ? { variant: p.variant } : {}),
    })),
  );
}

export function buildkitNode(o: BuildkitNodeOptions): BuildNode & { close(): void } {
  let client: Promise<BuildkitClient> | undefined;
  const where = `builder ${o.builder}, node ${o.name} (${o.endpoint.address})`;
  const connect = () => {
    client ??= BuildkitClient.connect(o.endpoint).catch((err: unknown) => {
      // `cannot reach <endpoint>: …` names the endpoint already
      const msg = messageOf(err);
      const who = msg.includes(o.endpoint.address) ? `builder ${o.builder}, node ${o.name}` : where;
      throw new BuildError(`${who}: ${msg}`, { cause: err });
    });
    return client;
  };
  return {
    name: o.name,
    configured: o.configured,
    async workers(): Promise<WorkerPlatforms> {
      const all = workerPlatformsOf(await (await connect()).listWorkers());
      return { native: all.slice(0, 1), emulated: all.slice(1) };
    },
    async plan(request, env): Promise<NodePlan> {
      if (request.sbom) {
        // polyarch reads a node's SBOM from its scan; BuildKit's attest:sbom result is not read back yet
        throw new UnsupportedError(
          `SBOM attestations are not supported yet on ${where}: a BuildKit node does not return its scan to polyarch; build on a local node`,
        );
      }
      const bk = await connect();
      const share = { bk, request, env, ...(await shareDirs(o.worker, request)) };
      return { platforms: request.platforms, solve: () => solveShare(o, share) };
    },
    close() {
      client?.then((c) => c.close()).catch(() => {});
    },
  };
}

/** The directories the session serves: the Dockerfile's (written out when it came on stdin) and the context. */
async function shareDirs(w: Worker, request: SolveRequest) {
  const def = request.definition;
  let dockerfileDir: string;
  let dockerfileName: string;
  if (def.path) {
    dockerfileDir = dirname(def.path);
    dockerfileName = basename(def.path);
  } else {
    await mkdir(w.tmpDir, { recursive: true });
    dockerfileDir = await mkdtemp(join(w.tmpDir, 'dockerfile-'));
    dockerfileName = 'Dockerfile';
    await writeFile(join(dockerfileDir, dockerfileName), def.source);
  }
  let contextDir = request.contextDir;
  if (contextDir === undefined) {
    await mkdir(w.tmpDir, { recursive: true });
    contextDir = await mkdtemp(join(w.tmpDir, 'context-'));
  }
  return { dockerfileDir, dockerfileName, contextDir };
}

function sessionFor(o: BuildkitNodeOptions, s: Share, dirs: Map<string, string>): SessionOptions {
  const creds = new DockerConfigCredentials({ env: o.env, home: homeOf(o.env) });
  return {
    dirs,
    env: o.env,
    secrets: s.request.secrets,
    credentials: async (host) => {
      const c = await creds.get(host);
      if (!c) return undefined;
      return { username: c.username ?? '', secret: c.identityToken ?? c.password ?? '' };
    },
  };
}

/** A daemon that went away mid-build is said with its builder, node and endpoint. */
function lostNode(o: BuildkitNodeOptions, err: unknown): unknown {
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof GrpcError && cause.code === GrpcCode.unavailable) {
    return new BuildError(`builder ${o.builder}, node ${o.name} (${o.endpoint.address}): ${cause.message}`, {
      cause: err,
    });
  }
  return err;
}

async function solveShare(o: BuildkitNodeOptions, s: Share): Promise<PlatformBuild[]> {
  try {
    // the engine: one solve (one image) per platform, in order; a buildkitd: one index
    const images =
      o.endpoint.driver === 'docker'
        ? await Promise.all(s.request.platforms.map(async (p) => (await solveIntoEngine(o, s, p))[0]))
        : imagesFor(s.request.platforms, await solveAsOCI(o, s));
    const builds: PlatformBuild[] = [];
    for (const [i, p] of s.request.platforms.entries()) {
      const image = images[i];
      if (!image) throw new BuildError(`node ${o.name} sent no image for ${formatPlatform(p)}`);
      builds.push(await platformBuildOf(o.worker, image, { signal: s.env.signal }));
    }
    return builds;
  } catch (err) {
    throw cacheRefusal(lostNode(o, err), `${o.name} (${o.endpoint.address})`);
  } finally {
    if (!s.request.definition.path) await rm(s.dockerfileDir, { recursive: true, force: true });
    if (s.request.contextDir === undefined) await rm(s.contextDir, { recursive: true, force: true });
  }
}

/** The index's image for each requested platform (the best match, as containerd picks one). */
function imagesFor(
  platforms: readonly Platform[],
  images: readonly ArchivedImage[],
): (ArchivedImage | undefined)[] {
  return platforms.map((p) => platformMatcher(p).best(images, (i) => i.platform));
}

/** A buildkitd: every platform in one solve, sent back as an OCI layout tarball. */
async function solveAsOCI(o: BuildkitNodeOptions, s: Share): Promise<ArchivedImage[]> {
  const input = frontendInput(s.request, s.request.platforms, s);
  const cache = nodeCacheOptions(s.request, { name: o.name, perPlatform: false });
  const tarball = new PassThrough();
  const imported = importImageArchive(tarball, o.worker.content);
  imported.catch(() => {});
  await s.bk
    .solve(
      {
        frontend: 'dockerfile.v0',
        frontendAttrs: { ...input.attrs, ...cache.frontendAttrs },
        exporters: [{ type: 'oci', attrs: {} }],
        entitlements: input.entitlements,
        ...cache.solve,
      },
      {
        session: { ...sessionFor(o, s, input.dirs), fileSend: () => tarball },
        onStatus: (st) => s.env.progress.forward(st),
        signal: s.env.signal,
      },
    )
    .catch((err: unknown) => {
      tarball.destroy();
      if (/exporter "oci" could not be found/.test(messageOf(err))) {
        throw new BuildError(
          `node ${o.name} (${o.endpoint.address}) cannot send images back: its BuildKit has no oci exporter (a Docker engine's BuildKit is a node of the docker driver: create it with --driver docker and the engine's address)`,
          { cause: err },
        );
      }
      throw err;
    });
  return imported;
}

/** Steps that every platform's solve shares, named alike whatever the platform. */
const sharedSteps = /^\[internal\] load (build definition|\.dockerignore)/;

/**
 * A one-platform solve's progress as a step of the whole build: names carry the platform as
 * BuildKit names a multi-platform build's steps (`[linux/arm64 2/3] RUN …`), and the engine's
 * own `exporting to image` (a temporary name polyarch removes) is left out.
 */
function engineStatus(s: Share, p: Platform, forward: (st: SolveStatus) => void): (st: SolveStatus) => void {
  const hidden = new Set<string>();
  const prefix = s.request.multiPlatform ? `${formatPlatform(p)} ` : '';
  return (st) => {
    for (const v of st.vertexes ?? []) if (v.name === 'exporting to image') hidden.add(v.digest);
    const keep = <T extends { vertex: string }>(list: T[] | undefined) =>
      list?.filter((x) => !hidden.has(x.vertex));
    const vertexes = st.vertexes
      ?.filter((v) => !hidden.has(v.digest))
      .map((v) =>
        prefix && v.name.startsWith('[') && !sharedSteps.test(v.name)
          ? { ...v, name: `[${prefix}${v.name.slice(1)}` }
          : v,
      );
    const out: SolveStatus = {
      ...(vertexes?.length ? { vertexes } : {}),
      ...(keep(st.statuses)?.length ? { statuses: keep(st.statuses)! } : {}),
      ...(keep(st.logs)?.length ? { logs: keep(st.logs)! } : {}),
      ...(keep(st.warnings)?.length ? { warnings: keep(st.warnings)! } : {}),
    };
    if (Object.keys(out).length) forward(out);
  };
}

/** A Docker engine's BuildKit: one platform per solve, into the engine, then `docker save`. */
async function solveIntoEngine(o: BuildkitNodeOptions, s: Share, p: Platform): Promise<ArchivedImage[]> {
  const input = frontendInput(s.request, [p], s);
  const cache = nodeCacheOptions(s.request, { name: o.name, perPlatform: true });
  const name = `polyarch-build-${randomBytes(6).toString('hex')}:${formatPlatform(p).replace(/\//g, '-')}`;
  await s.bk.solve(
    {
      frontend: 'dockerfile.v0',
      frontendAttrs: { ...input.attrs, ...cache.frontendAttrs },
      exporters: [{ type: 'moby', attrs: { name } }],
      entitlements: input.entitlements,
      ...cache.solve,
    },
    {
      session: sessionFor(o, s, input.dirs),
      onStatus: engineStatus(s, p, (st) => s.env.progress.forward(st)),
      signal: s.env.signal,
    },
  );
  const engine = new DockerEngine(parseAddress(o.endpoint.address));
  try {
    return await importImageArchive(await engine.save(name), o.worker.content);
  } finally {
    await engine.removeImage(name).catch(() => {});
  }
}
