/**
 * api/build — the library entry point for a build: `runBuild(ctx, options)`.
 *
 * A build is a pipeline, each stage its own module:
 *
 *     check (build/check)       options against the world: contexts, secrets, outputs
 *     prepare (exporter)        every output can be written: destinations, push access, engine
 *     definition (build/…)      the Dockerfile read, parsed and checked
 *     solve (build/solve)       each node of the builder plans its share of the platforms,
 *                               then all solve at once (driver/: the local engine)
 *     export (exporter)         the per-platform results → images → every output
 *
 * Reporting is the caller's: progress goes to `ctx.progress` as BuildKit's status stream,
 * warnings for the user to `ctx.warn`, and the result carries what `--metadata-file`,
 * `--iidfile` and `--quiet` need.
 */
import { join } from 'node:path';
import { attestationSource } from '../build/attest.js';
import { type CheckedBuild, checkBuild } from '../build/check.js';
import { loadDefinition } from '../build/definition.js';
import { buildFailure } from '../build/failure.js';
import type { BuildOptions } from '../build/options.js';
import { type BuildRequest, solveOnNodes } from '../build/solve.js';
import type { Builder } from '../builder/store.js';
import { lazyNeeds } from '../cache/lazy.js';
import { exportCaches, loadCacheImports } from '../cache/transfer.js';
import { type BuildNode, openNodes } from '../driver/index.js';
import type { Definition } from '../driver/types.js';
import { UnsupportedError } from '../errors.js';
import type { AttestationSource } from '../exporter/assemble.js';
import { writeBytesAtomic } from '../exporter/dest.js';
import { prepareExports, runExports } from '../exporter/export.js';
import { buildMetadata, type ExportResponse, imageID, newBuildRef } from '../exporter/metadata.js';
import { checkPushAccess } from '../exporter/push.js';
import type { StatusSink } from '../progress/events.js';
import { Progress, startInternalStep } from '../progress/writer.js';
import { formatReference } from '../reference/index.js';
import { openWorker, type Worker } from '../worker/worker.js';

export { loadDockerfileSource } from '../build/definition.js';
export type * from '../build/options.js';
export { type Annotation, type AnnotationType, parseAnnotation } from '../exporter/annotations.js';

/** What a build needs from its caller: streams, environment, cancellation and where to report. */
export interface BuildRunContext {
  /** read for `-f -` and `build -` */
  stdin: NodeJS.ReadableStream;
  /** where an output with `dest=-` writes */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  /** the global `--root` directory, when given */
  root?: string;
  /** progress, as BuildKit's SolveStatus batches (the CLI renders them); default: dropped */
  progress?: StatusSink;
  /** something the user should know that is not a step's (buildx prints these as `WARNING: …`) */
  warn?: (message: string) => void;
  /** a line per registry request (`--debug`) */
  debug?: (line: string) => void;
}

/** The outcome of a build. */
export interface BuildResult {
  /** the image (or index) digest, when an image was produced */
  digest?: string;
  /** the image ID buildx reports (`--iidfile`, `--quiet`): the config digest for one platform, else the digest */
  imageID?: string;
  /** what `--metadata-file` gets (buildx's keys) */
  metadata: Record<string, unknown>;
}

const noOutputWarning =
  'No output specified and no tag given. Build result will only remain in the build cache. To keep the image in the local store name it with -t, or use --push, --load or --output';

/**
 * Builds the Dockerfile for every requested platform, stores, pushes or writes the images as
 * the outputs say, and answers the image's digest and ID. A failed step is a BuildError
 * carrying the instruction's lines (`source`); the store and cache are left as they were.
 */
export async function runBuild(ctx: BuildRunContext, options: BuildOptions): Promise<BuildResult> {
  const checked = await checkBuild(
    { cwd: ctx.cwd, env: ctx.env, stdoutIsTTY: ctx.stdout.isTTY === true },
    options,
  );
  const progress = new Progress(ctx.progress ?? { write() {} });
  const startedOn = new Date();
  let worker: Worker | undefined;
  let definition: Definition | undefined;
  let nodes: BuildNode[] = [];
  try {
    worker = await openWorker({
      ...(ctx.root ? { root: ctx.root } : {}),
      env: ctx.env,
      ...(options.builder ? { builder: options.builder } : {}),
      build: true,
      signal: ctx.signal,
      ...(ctx.debug ? { debug: ctx.debug } : {}),
    });
    if (checked.outputs.length === 0) ctx.warn?.(noOutputWarning);
    const platforms = options.platforms.length ? options.platforms : [worker.host];
    const prepared = await prepareExports(checked.outputs, {
      platforms,
      registry: worker.registry,
      env: ctx.env,
      warn: (m) => ctx.warn?.(m),
    });
    definition = await loadDefinition(options, { ...ctx, progress, buildPlatform: worker.host });
    const onNodes = cacheOnBuildkitNodes(checked, worker.builder);
    refuseRemoteAttestations(checked, worker.builder);
    // a cache push that would be refused fails now, not after the build (unless ignore-error)
    for (const t of checked.cacheExports) {
      if (t.type === 'registry' && !t.ignoreError)
        await checkPushAccess(worker.registry, formatReference(t.ref));
    }
    const cacheImports = await loadCacheImports(onNodes ? [] : checked.cacheImports, {
      registry: worker.registry,
      ...(checked.sourceDateEpoch !== undefined ? { sourceDateEpoch: checked.sourceDateEpoch } : {}),
      ...(ctx.warn ? { warn: ctx.warn } : {}),
    });
    nodes = openNodes(worker.builder, { worker, env: ctx.env });
    const builds = await solveOnNodes(
      nodes,
      {
        ...solveRequest(options, checked, definition, platforms),
        cacheImports,
        unlazy: lazyNeeds(checked.outputs),
        ...(onNodes ? { nodeCache: { exports: options.cacheTo, imports: options.cacheFrom } } : {}),
      },
      { progress, signal: ctx.signal, env: ctx.env },
      ctx.warn,
    );
    const response = await runExports(prepared, builds, {
      content: worker.content,
      snapshots: worker.snapshots,
      registry: worker.registry,
      progress,
      host: worker.host,
      tmpDir: worker.tmpDir,
      exportsDir: join(worker.root, 'cache', 'layer-exports'),
      stdout: ctx.stdout,
      compressor: worker.compressor,
      ...(checked.cacheExports.some((t) => t.type === 'inline') ? { inlineCache: true } : {}),
      ...(checked.sourceDateEpoch !== undefined ? { sourceDateEpoch: checked.sourceDateEpoch } : {}),
      ...attestationsOf(checked, options, definition, worker, startedOn),
    });
    if (checked.cacheExports.length && !onNodes) {
      const step = startInternalStep(progress, 'exporting cache');
      await exportCaches(checked.cacheExports, builds, {
        registry: worker.registry,
        content: worker.content,
        snapshots: worker.snapshots,
        exportsDir: join(worker.root, 'cache', 'layer-exports'),
        compressor: worker.compressor,
        ...(checked.sourceDateEpoch !== undefined ? { sourceDateEpoch: checked.sourceDateEpoch } : {}),
        ...(ctx.warn ? { warn: ctx.warn } : {}),
      });
      step.complete();
    }
    return resultOf(response, options.builder);
  } catch (err) {
    throw buildFailure(err, definition);
  } finally {
    for (const n of nodes) n.close?.();
    await worker?.close();
  }
}

/**
 * Whether `--cache-from`/`--cache-to` go to BuildKit nodes (a builder of BuildKit nodes only:
 * each node exports and imports its own cache) rather than to polyarch's engine. A builder
 * that mixes both is refused them: two cache formats under one ref would overwrite each other.
 */
function cacheOnBuildkitNodes(checked: CheckedBuild, builder: Builder): boolean {
  if (!checked.cacheExports.length && !checked.cacheImports.length) return false;
  const remote = builder.nodes.find((n) => n.driver !== 'local');
  if (!remote) return false;
  const local = builder.nodes.find((n) => n.driver === 'local');
  if (local) {
    throw new UnsupportedError(
      `--cache-from/--cache-to are not supported on builder "${builder.name}": it mixes polyarch's engine (node ${local.name}) and BuildKit (node ${remote.name}, driver ${remote.driver}), whose caches differ; build with a builder of one kind`,
    );
  }
  return true;
}

/** Attestations are made by polyarch's engine: a builder with BuildKit nodes is refused them. */
function refuseRemoteAttestations(checked: CheckedBuild, builder: Builder): void {
  if (!checked.attest.provenance && !checked.attest.sbom) return;
  const remote = builder.nodes.find((n) => n.driver !== 'local');
  if (remote) {
    throw new UnsupportedError(
      `--provenance/--sbom/--attest are not supported yet on builder "${builder.name}": its node ${remote.name} (driver ${remote.driver}) is a BuildKit node`,
    );
  }
}

/** The exporter's attestation source, when the build asked for any. */
function attestationsOf(
  checked: CheckedBuild,
  options: BuildOptions,
  definition: Definition,
  worker: Worker,
  startedOn: Date,
): { attestations?: AttestationSource } {
  const names = [...new Set(checked.outputs.flatMap((o) => ('names' in o ? o.names : [])))];
  const source = attestationSource({
    request: checked.attest,
    options,
    definition,
    builderPlatform: worker.host,
    startedOn,
    names,
    layerDir: async (id) => (await worker.snapshots.mustGet(id)).dir,
  });
  return source ? { attestations: source } : {};
}

/** What every node is asked to build. */
function solveRequest(
  o: BuildOptions,
  checked: CheckedBuild,
  definition: Definition,
  platforms: BuildRequest['platforms'],
): BuildRequest {
  return {
    definition,
    ...(checked.contextDir !== undefined ? { contextDir: checked.contextDir } : {}),
    namedContexts: checked.namedContexts,
    platforms,
    multiPlatform: platforms.length > 1,
    buildArgs: o.buildArgs,
    ...(o.target ? { target: o.target } : {}),
    labels: o.labels,
    network: o.network,
    addHosts: o.addHosts,
    noCache: o.noCache,
    noCacheFilter: o.noCacheFilter,
    pull: o.pull,
    secrets: checked.secrets,
    allow: o.allow,
    shmSize: o.shmSize,
    ulimits: o.ulimits,
    ...(checked.sourceDateEpoch !== undefined ? { sourceDateEpoch: checked.sourceDateEpoch } : {}),
    ...(checked.attest.sbom ? { sbom: checked.attest.sbom } : {}),
    ...(checked.attest.provenance ? { provenance: true } : {}),
  };
}

function resultOf(response: ExportResponse, builder: string | undefined): BuildResult {
  const id = imageID(response);
  return {
    ...(response.descriptor ? { digest: response.descriptor.digest } : {}),
    ...(id ? { imageID: id } : {}),
    metadata: buildMetadata(response, newBuildRef(builder ?? 'default')),
  };
}

/**
 * Writes what buildx's `--metadata-file` (the result's metadata as indented JSON) and
 * `--iidfile` (the image ID, when there is one) get, each whole or not at all.
 */
export async function writeBuildFiles(
  result: BuildResult,
  files: { metadataFile?: string; iidfile?: string },
): Promise<void> {
  if (files.metadataFile) {
    await writeBytesAtomic(files.metadataFile, `${JSON.stringify(result.metadata, null, 2)}\n`);
  }
  if (files.iidfile && result.imageID) await writeBytesAtomic(files.iidfile, result.imageID);
}
