/**
 * driver/local/node — polyarch's own engine as a builder node (the `local` driver): a share of
 * a build is planned into op graphs (driver/local/graphs) and solved on this machine's worker
 * (graph/solver with worker/runners: snapshots, runc, QEMU), one solve for all its platforms
 * so that equal steps run once.
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type Capture, captureGraph } from '../../attest/capture.js';
import { fetchLazyBlobs } from '../../cache/lazy.js';
import type { CacheImports } from '../../cache/source.js';
import { type BuildContext, loadContext } from '../../context/index.js';
import { InvalidArgumentError } from '../../errors.js';
import { checkPlatforms, emulationReport, knownPlatforms } from '../../executor/emulation/index.js';
import type { PlatformBuild } from '../../exporter/assemble.js';
import type { ConvertResult, HistoryStep } from '../../graph/convert.js';
import { isLazy, type Vertex } from '../../graph/ops.js';
import { type Result, Solver, type SolverOptions } from '../../graph/solver.js';
import type { Digest } from '../../oci/digest.js';
import { type Platform, parsePlatform } from '../../platforms/index.js';
import { startInternalStep } from '../../progress/writer.js';
import { lazyImported, materializeLayers } from '../../worker/imported.js';
import { imageResolver } from '../../worker/resolve.js';
import { createRunners } from '../../worker/runners.js';
import type { Worker } from '../../worker/worker.js';
import type { BuildNode, NodeEnv, NodePlan, SolveRequest, WorkerPlatforms } from '../types.js';
import { planGraphs } from './graphs.js';
import { type PlannedScan, planScans, solveScans } from './sbom.js';

export interface LocalNodeOptions {
  /** the node's name (`default`, `mybuilder0`) */
  name: string;
  /** `create --platform` */
  configured: readonly Platform[];
  /** the worker of this machine, opened by the caller for the builder's cache */
  worker: Worker;
}

/** The engine on this machine as a node. */
export function localNode(opts: LocalNodeOptions): BuildNode {
  return {
    name: opts.name,
    configured: opts.configured,
    workers: async () => workerPlatforms(opts.worker.host),
    plan: (request, env) => planLocal(opts.worker, request, env),
  };
}

/** What this machine runs: natively, and through the binfmt_misc handlers registered now. */
function workerPlatforms(host: Platform): WorkerPlatforms {
  const report = emulationReport([...knownPlatforms]);
  const native = report.filter((r) => r.status === 'native').map((r) => parsePlatform(r.platform));
  return {
    native: native.length ? native : [host],
    emulated: report.filter((r) => r.status === 'emulated').map((r) => parsePlatform(r.platform)),
  };
}

async function planLocal(w: Worker, request: SolveRequest, env: NodeEnv): Promise<NodePlan> {
  const contextDir = request.contextDir ?? (await emptyContextDir(w));
  const context = contextLoader(w, request, contextDir, env);
  await context('context');
  const resolveOptions = { pull: request.pull, progress: env.progress, signal: env.signal };
  const graphs = await planGraphs({
    request,
    buildPlatform: w.host,
    contextDir,
    resolveImage: imageResolver(w, { ...resolveOptions, multiPlatform: request.multiPlatform }),
    checkPlatforms,
  });
  // the scanner is no target's: BuildKit names its `[internal] load metadata for …` without a platform
  const scans = request.sbom
    ? await planScans(request.sbom, graphs, {
        buildPlatform: w.host,
        resolveImage: imageResolver(w, { ...resolveOptions, multiPlatform: false }),
      })
    : undefined;
  return {
    platforms: request.platforms,
    solve: () => solveLocal(w, request, env, { graphs, scans }, context),
  };
}

async function solveLocal(
  w: Worker,
  request: SolveRequest,
  env: NodeEnv,
  plan: { graphs: readonly ConvertResult[]; scans: readonly PlannedScan[] | undefined },
  context: (name: string) => Promise<BuildContext>,
): Promise<PlatformBuild[]> {
  const { graphs, scans } = plan;
  const solver = new Solver({
    cache: w.cache,
    runners: createRunners({
      worker: w,
      context,
      secrets: new Map(request.secrets.map((s) => [s.id, s])),
      env: env.env,
      ...(request.sourceDateEpoch !== undefined ? { sourceDateEpoch: request.sourceDateEpoch } : {}),
      ...(request.shmSize ? { shmSize: request.shmSize } : {}),
      ...(request.ulimits.length ? { ulimits: request.ulimits } : {}),
    }),
    progress: env.progress,
    concurrency: maxParallelism(env.env),
    noCache: request.noCache || noCacheStages(request.noCacheFilter),
    usable: async (layers) =>
      layers.length === 0 || (await w.snapshots.get(layers.at(-1)!.snapshot)) !== undefined,
    ...(request.cacheImports?.size
      ? {
          imported: importedLookup(request.cacheImports),
          materialize: (layers, signal) => materializeLayers(w, layers, signal),
        }
      : {}),
    signal: env.signal,
  });
  const [results, sboms] = await Promise.all([
    Promise.all(
      graphs.map(async (g) =>
        unlazy(w, await solver.solve(g.vertex), request.sbom ? 'snapshots' : request.unlazy, env.signal),
      ),
    ),
    scans && request.sbom ? solveScans(w, solver, request.sbom, scans) : undefined,
  ]);
  (await context('context')).flush?.();
  const steps = await solver.steps(graphs.map((g) => g.vertex));
  return Promise.all(
    graphs.map(async (g, i) => {
      const r = results[i]!;
      const stepKeys = new Map<HistoryStep, Digest>();
      for (const h of g.history) if (h.step) stepKeys.set(h, await solver.key(h.step));
      return {
        platform: g.platform,
        config: g.image.config ?? {},
        ...(g.image.author ? { author: g.image.author } : {}),
        history: g.history,
        stepKeys,
        layers: r.kind === 'layers' ? r.layers : [],
        key: await solver.key(g.vertex),
        steps,
        ...(request.provenance ? { provenance: await captureWithKeys(g.vertex, solver) } : {}),
        ...(sboms ? { sbom: sboms[i]! } : {}),
      };
    }),
  );
}

/** The graph's provenance capture, each step named with its cache key. */
async function captureWithKeys(root: Vertex, solver: Solver): Promise<Capture> {
  const keys = new Map<Vertex, Digest>();
  const walk = async (v: Vertex): Promise<void> => {
    if (keys.has(v)) return;
    keys.set(v, await solver.key(v));
    for (const i of v.inputs) await walk(i);
  };
  await walk(root);
  return captureGraph(root, (v) => keys.get(v));
}

/** The solver's look-up in the imported caches: a hit is lazy (nothing fetched yet). */
function importedLookup(imports: CacheImports): NonNullable<SolverOptions['imported']> {
  return async (key) => {
    const rec = imports.lookup(key);
    return rec && { layers: lazyImported(rec), description: rec.description };
  };
}

/** A final result as the outputs need it (SolveRequest.unlazy). */
async function unlazy(
  w: Worker,
  r: Result,
  need: SolveRequest['unlazy'],
  signal: AbortSignal,
): Promise<Result> {
  if (r.kind !== 'layers' || !isLazy(r.layers) || !need || need === 'none') return r;
  if (need === 'snapshots') return { kind: 'layers', layers: await materializeLayers(w, r.layers, signal) };
  await fetchLazyBlobs(w.content, [r.layers], signal);
  return r;
}

/**
 * The local contexts by op name (`context` is the build context, `context:NAME` a
 * `--build-context` directory), each loaded once with BuildKit's progress step.
 */
function contextLoader(
  w: Worker,
  request: SolveRequest,
  contextDir: string,
  env: NodeEnv,
): (name: string) => Promise<BuildContext> {
  const loaded = new Map<string, Promise<BuildContext>>();
  const dirOf = (name: string): string | undefined => {
    if (name === 'context') return contextDir;
    const source = request.namedContexts.get(name.slice('context:'.length));
    return source?.kind === 'local' ? source.dir : undefined;
  };
  return (name) => {
    let p = loaded.get(name);
    if (!p) {
      const dir = dirOf(name);
      if (dir === undefined) throw new Error(`no local context named ${name}`);
      const dockerfile = name === 'context' ? request.definition.path : undefined;
      p = loadOne(w, env, name, dir, dockerfile);
      loaded.set(name, p);
    }
    return p;
  };
}

async function loadOne(
  w: Worker,
  env: NodeEnv,
  name: string,
  dir: string,
  dockerfile: string | undefined,
): Promise<BuildContext> {
  const label = name === 'context' ? '[internal]' : `[context ${name.slice('context:'.length)}]`;
  const step = startInternalStep(env.progress, `${label} load .dockerignore`);
  const c = await loadContext({
    dir,
    ...(dockerfile ? { dockerfile } : {}),
    statCacheDir: join(w.root, 'cache', 'context'),
    signal: env.signal,
  });
  step.complete();
  return c;
}

/**
 * `build -`: the Dockerfile came on stdin and there is no context; an empty directory stands
 * in (one for every such build: nothing ever writes into it).
 */
async function emptyContextDir(w: Worker): Promise<string> {
  const dir = join(w.tmpDir, 'empty-context');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * `--no-cache-filter`: the steps of these stages ignore the cache, and so does every step that
 * depends on one of them (else a cached later step would keep them from running at all).
 */
function noCacheStages(stages: readonly string[]): false | ((v: Vertex) => boolean) {
  if (stages.length === 0) return false;
  const set = new Set(stages.map((s) => s.toLowerCase()));
  const memo = new Map<Vertex, boolean>();
  const test = (v: Vertex): boolean => {
    let r = memo.get(v);
    if (r === undefined) {
      r = (v.stage !== undefined && set.has(v.stage.toLowerCase())) || v.inputs.some(test);
      memo.set(v, r);
    }
    return r;
  };
  return test;
}

/**
 * How many steps run at once: `$POLYARCH_MAX_PARALLELISM` (BuildKit's `max-parallelism`), by
 * default the number of cores.
 */
function maxParallelism(env: NodeJS.ProcessEnv): number {
  const v = env.POLYARCH_MAX_PARALLELISM;
  if (v !== undefined && v !== '') {
    if (!/^[1-9]\d*$/.test(v)) {
      throw new InvalidArgumentError(`invalid POLYARCH_MAX_PARALLELISM "${v}": expected a positive number`);
    }
    return Number(v);
  }
  return Math.max(1, availableParallelism());
}
