/**
 * exporter/export — a solved build to every output it asked for, in an order that keeps
 * failures cheap: files (oci/docker archives, local trees, tarballs), then registry pushes,
 * then the Docker engine, and the local store's names last, so that a failed output leaves
 * the names as they were.
 *
 * `prepareExports` runs before the build: each destination can be written, each registry
 * takes a push with the credentials at hand, the Docker engine `--load` needs answers (and
 * can hold the image), the annotations fit the platforms. Then `runExports` assembles the
 * image once per format (media types, annotations, compression level; layers compressed once
 * for all) and writes it out, each output in a progress step named as BuildKit names it.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContentStore } from '../content/interfaces.js';
import { assertNever, InvalidArgumentError } from '../errors.js';
import { type Digest, digestOf } from '../oci/digest.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { formatPlatform } from '../platforms/index.js';
import type { Progress, VertexHandle } from '../progress/writer.js';
import { parseReference, repositoryName } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import { allowsInsecure, insecureRegistriesEnv, parseInsecureList } from '../registry/hosts.js';
import type { SnapshotStore } from '../snapshot/index.js';
import { type TarWriteEntry, writeTar } from '../tar/index.js';
import { type AnnotationSet, resolveAnnotations } from './annotations.js';
import { type Assembled, assembleImages, type PlatformBuild } from './assemble.js';
import { checkDestination, writeDirAtomic, writeFileAtomic } from './dest.js';
import {
  type DockerEndpoint,
  DockerEngine,
  defaultDockerSocket,
  dockerEndpoint,
  formatEndpoint,
} from './docker-engine.js';
import { type PlatformTree, treeTarEntries, writeTrees } from './filesystem.js';
import type { ExportLayer } from './image.js';
import { layoutTarEntries, planLayout, writeLayoutDir } from './layout.js';
import type { ExportResponse } from './metadata.js';
import { type Destination, formatKey, type ImageFormat, type LoadOutput, type Output } from './outputs.js';
import { checkPushAccess, pushBuilt } from './push.js';

export interface PrepareOptions {
  /** the platforms being built */
  platforms: readonly Platform[];
  registry: RegistryClient;
  env: NodeJS.ProcessEnv;
  /** a warning for the user (an automatic load skipped) */
  warn: (message: string) => void;
  /** for tests: whether a path exists (the default Docker socket) */
  exists?: (path: string) => boolean;
}

/** Outputs checked against the world, ready to run. */
export interface PreparedExports {
  outputs: Output[];
  /** the engine a load goes to; absent when there is none (an automatic load then stays local) */
  docker?: DockerEngine;
}

function loadOf(outputs: readonly Output[]): LoadOutput | undefined {
  return outputs.find((o): o is LoadOutput => o.type === 'load');
}

/** The engine `--load` goes to, checked; undefined when an automatic load has none. */
async function prepareDocker(load: LoadOutput, o: PrepareOptions): Promise<DockerEngine | undefined> {
  const required = load.docker === 'required';
  let endpoint: DockerEndpoint | undefined;
  try {
    endpoint = dockerEndpoint(o.env, o.exists);
  } catch (err) {
    if (required) throw err;
    o.warn(
      `--load: ${err instanceof Error ? err.message : String(err)}; the image goes to the local store only`,
    );
    return undefined;
  }
  if (!endpoint) {
    if (required) {
      throw new InvalidArgumentError(
        `--load=docker: no Docker engine: DOCKER_HOST is not set and ${defaultDockerSocket} does not exist`,
      );
    }
    return undefined;
  }
  const engine = new DockerEngine(endpoint);
  const where = formatEndpoint(endpoint);
  try {
    await engine.ping();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (required) {
      throw new InvalidArgumentError(`--load=docker: no Docker engine answers at ${where}: ${why}`, {
        cause: err,
      });
    }
    o.warn(`--load: no Docker engine answers at ${where} (${why}); the image goes to the local store only`);
    return undefined;
  }
  if (o.platforms.length > 1) {
    const info = await engine.info();
    if (!info.containerdStore) {
      const msg =
        `the Docker engine at ${where} (${info.serverVersion || 'unknown version'}) keeps one platform per image ` +
        `(its containerd image store is off): it cannot load a ${o.platforms.length}-platform image; ` +
        `build one platform for it with --platform (e.g. --platform ${formatPlatform(o.platforms[0]!)}), ` +
        'or push the image and pull it there';
      if (required) throw new InvalidArgumentError(`--load=docker: ${msg}`);
      o.warn(`--load: ${msg}; the image goes to the local store only`);
      return undefined;
    }
  }
  return engine;
}

/** Checks every output before the build (see the module comment). */
export async function prepareExports(outputs: Output[], o: PrepareOptions): Promise<PreparedExports> {
  for (const out of outputs) {
    if ('format' in out) resolveAnnotations(out.format.annotations, o.platforms);
    if ('dest' in out && out.dest.kind !== 'stdout') {
      await checkDestination(out.dest.path, out.dest.kind, `output type=${out.type}`);
    }
  }
  const repos = new Map<string, string>();
  const insecureHosts = parseInsecureList(o.env[insecureRegistriesEnv]);
  for (const out of outputs) {
    if (out.type !== 'image' || !out.push) continue;
    for (const n of out.names) {
      const domain = parseReference(n).domain;
      if (out.insecure && !allowsInsecure(domain, insecureHosts)) {
        throw new InvalidArgumentError(
          `output type=image: registry.insecure for ${domain}: plain HTTP is used for loopback hosts and those listed in $${insecureRegistriesEnv} only; add ${domain} there`,
        );
      }
      const key = repositoryName(parseReference(n));
      if (!repos.has(key)) repos.set(key, n);
    }
  }
  for (const name of repos.values()) await checkPushAccess(o.registry, name);
  const load = loadOf(outputs);
  const docker = load ? await prepareDocker(load, o) : undefined;
  return { outputs, ...(docker ? { docker } : {}) };
}

export interface RunExportsOptions {
  content: ContentStore;
  snapshots: SnapshotStore;
  registry: RegistryClient;
  progress: Progress;
  host: Platform;
  /** scratch space for tarballs of file trees */
  tmpDir: string;
  /** where layers exported with SOURCE_DATE_EPOCH are remembered */
  exportsDir: string;
  /** `dest=-` */
  stdout: NodeJS.WritableStream;
  sourceDateEpoch?: number;
}

/** An output's step in the progress, started; `open` collects it until it completes. */
function step(progress: Progress, name: string, n: number, open: Set<VertexHandle>): VertexHandle {
  const v = progress.vertex(digestOf(`${name} ${n}`), name);
  v.start();
  open.add(v);
  return v;
}

/** A tarball to stdout (left open) or, crash-safely, to the file `dest` names. */
async function sendTar(
  entries: AsyncIterable<TarWriteEntry>,
  dest: Destination,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const tar = () => Readable.from(writeTar(entries));
  if (dest.kind === 'stdout') await pipeline(tar(), stdout, { end: false });
  else await writeFileAtomic(dest.path, (w) => pipeline(tar(), w));
}

const stepNames: Record<Output['type'], string> = {
  image: 'exporting to image',
  load: 'exporting to image',
  oci: 'exporting to oci image format',
  docker: 'exporting to docker image format',
  local: 'exporting to client directory',
  tar: 'exporting to client tarball',
  cacheonly: 'exporting cache',
};

/** Runs the prepared outputs for the solved platforms; answers what buildx's metadata needs. */
export async function runExports(
  prepared: PreparedExports,
  builds: readonly PlatformBuild[],
  o: RunExportsOptions,
): Promise<ExportResponse> {
  const open = new Set<VertexHandle>();
  try {
    const res = await exportAll(prepared, builds, o, open);
    for (const v of open) v.complete();
    return res;
  } catch (err) {
    for (const v of open) v.fail(err instanceof Error ? err.message : String(err));
    throw err;
  }
}

async function exportAll(
  prepared: PreparedExports,
  builds: readonly PlatformBuild[],
  o: RunExportsOptions,
  open: Set<VertexHandle>,
): Promise<ExportResponse> {
  const { outputs } = prepared;
  const done = (v: VertexHandle) => {
    v.complete();
    open.delete(v);
  };
  const layerMemo = new Map<string, Promise<ExportLayer>>();
  const assemblies = new Map<string, Promise<Assembled>>();
  const annotationSets = new Map<string, AnnotationSet>();
  const platforms = builds.map((b) => b.platform);
  const assemble = (format: ImageFormat, progress: VertexHandle): Promise<Assembled> => {
    const key = formatKey(format);
    let a = assemblies.get(key);
    if (!a) {
      const set = resolveAnnotations(format.annotations, platforms);
      annotationSets.set(key, set);
      a = assembleImages(builds, {
        content: o.content,
        snapshots: o.snapshots,
        oci: format.oci,
        annotations: set.index,
        platformAnnotations: (p) => ({ manifest: set.manifest(p), descriptor: set.manifestDescriptor(p) }),
        ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
        ...(format.gzipLevel !== undefined ? { gzipLevel: format.gzipLevel } : {}),
        layerMemo,
        exportsDir: o.exportsDir,
        progress,
      });
      assemblies.set(key, a);
    }
    return a;
  };
  const trees: PlatformTree[] = builds.map((b) => ({
    platform: b.platform,
    ...(b.layers.length ? { top: b.layers[b.layers.length - 1]!.snapshot } : {}),
  }));

  let primary: Assembled | undefined;
  const names: string[] = [];
  const addNames = (list: readonly string[]) => {
    for (const n of list) if (!names.includes(n)) names.push(n);
  };
  const toName: { names: readonly string[]; top: Descriptor; step: VertexHandle }[] = [];
  const loads: { out: LoadOutput; image: Assembled; step: VertexHandle }[] = [];
  const pushes: { names: readonly string[]; byDigest: boolean; image: Assembled; step: VertexHandle }[] = [];

  // 1. files; the image outputs are assembled (blobs into the store) on the way
  for (const [i, out] of outputs.entries()) {
    switch (out.type) {
      case 'cacheonly':
        break;
      case 'image':
      case 'load': {
        const v = step(o.progress, stepNames[out.type], i, open);
        const image = await assemble(out.format, v);
        primary ??= image;
        addNames(out.names);
        if (out.type === 'image' && out.push) {
          pushes.push({ names: out.names, byDigest: out.pushByDigest, image, step: v });
        }
        if (out.type === 'load') loads.push({ out, image, step: v });
        if (out.type === 'load' || out.store) toName.push({ names: out.names, top: image.top, step: v });
        break;
      }
      case 'oci':
      case 'docker': {
        const v = step(o.progress, stepNames[out.type], i, open);
        const image = await assemble(out.format, v);
        primary ??= image;
        addNames(out.names);
        const set = annotationSets.get(formatKey(out.format))!;
        const layout = await planLayout({
          store: o.content,
          top: image.top,
          names: out.names,
          variant: out.type,
          host: o.host,
          descriptorAnnotations: set.indexDescriptor,
          ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
        });
        const s = v.status('sending tarball');
        if (out.dest.kind === 'dir') {
          await writeDirAtomic(out.dest.path, (dir) => writeLayoutDir(o.content, layout, dir));
        } else {
          const mtime = o.sourceDateEpoch ?? 0;
          await sendTar(layoutTarEntries(o.content, layout, mtime), out.dest, o.stdout);
        }
        s.done();
        done(v);
        break;
      }
      case 'local':
      case 'tar': {
        const v = step(o.progress, stepNames[out.type], i, open);
        const s = v.status(out.type === 'local' ? 'copying files' : 'sending tarball');
        const split = out.platformSplit;
        if (out.type === 'local') {
          if (out.dest.kind !== 'dir') throw new Error('local output without a directory');
          await writeDirAtomic(out.dest.path, (dir) => writeTrees(o.snapshots, trees, dir, split));
        } else {
          const scratch = join(o.tmpDir, `tar-output-${process.pid}-${i}`);
          const entries = treeTarEntries(o.snapshots, trees, scratch, {
            ...(split !== undefined ? { split } : {}),
            ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
          });
          await sendTar(entries, out.dest, o.stdout);
        }
        s.done();
        done(v);
        break;
      }
      default:
        assertNever(out, 'output');
    }
  }

  // 2. registries
  for (const p of pushes) {
    await pushBuilt({
      client: o.registry,
      store: o.content,
      top: p.image.top,
      names: p.names,
      byDigest: p.byDigest,
      progress: p.step,
    });
  }

  // 3. the Docker engine
  for (const l of loads) {
    if (!prepared.docker) continue;
    const layout = await planLayout({
      store: o.content,
      top: l.image.top,
      names: l.out.names,
      variant: 'docker',
      host: o.host,
      ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
    });
    const s = l.step.status('importing to docker');
    await prepared.docker.load(
      Readable.from(writeTar(layoutTarEntries(o.content, layout, o.sourceDateEpoch ?? 0))),
    );
    s.done();
  }

  // 4. the local store's names, last
  for (const n of toName) {
    for (const name of n.names) {
      await o.content.setName(name, n.top);
      n.step.status(`naming to ${name}`).done();
    }
  }

  if (!primary) return { names };
  const top = primary.top;
  const single = primary.images.length === 1 ? primary.images[0] : undefined;
  return {
    descriptor: {
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.size,
      ...(single ? { platform: single.platform } : {}),
    },
    ...(single ? { configDigest: single.config.digest as Digest } : {}),
    names,
  };
}
