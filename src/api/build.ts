/**
 * api/build — the library entry point for a build: `BuildOptions` (every `buildx build` flag
 * as a typed value) and `runBuild`, which the build engine implements.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { type BuildContext, loadContext, parseContextArg } from '../context/index.js';
import {
  type Dockerfile,
  formatExcerpt,
  type LintWarning,
  lintDockerfile,
  parseCheckDirective,
  readDockerfile,
} from '../dockerfile/index.js';
import {
  BuildError,
  DockerfileError,
  EmulationError,
  InvalidArgumentError,
  NotFoundError,
  PolyarchError,
  UnsupportedError,
} from '../errors.js';
import { checkPlatforms } from '../executor/emulation/index.js';
import type { Annotation } from '../exporter/annotations.js';
import type { PlatformBuild } from '../exporter/assemble.js';
import { writeBytesAtomic } from '../exporter/dest.js';
import { prepareExports, runExports } from '../exporter/export.js';
import { buildMetadata, imageID, newBuildRef } from '../exporter/metadata.js';
import { type Output, resolveOutputs, writesStdout } from '../exporter/outputs.js';
import { isTarHeader } from '../fileop/archive.js';
import { convertDockerfile, type HistoryStep, type NamedContext, namedContextKey } from '../graph/convert.js';
import type { ExecOp, Vertex } from '../graph/ops.js';
import { Solver, VertexError } from '../graph/solver.js';
import { type Digest, digestOf } from '../oci/digest.js';
import { formatPlatform, type Platform } from '../platforms/index.js';
import { createRenderer } from '../progress/render.js';
import { Progress } from '../progress/writer.js';
import { parseImageReference } from '../reference/index.js';
import { imageResolver } from '../worker/resolve.js';
import { createRunners } from '../worker/runners.js';
import { openWorker, type Worker } from '../worker/worker.js';

/** `-o` / `--output`, `--cache-from`, `--cache-to`: a type and its attributes. */
export interface ExportSpec {
  /** `image`, `registry` (normalised to `image` with push=true), `local`, `tar`, `oci`, `docker`, … */
  type: string;
  /** `dest=` value, when given */
  destination?: string;
  attrs: Record<string, string>;
}

export interface CacheSpec {
  type: string;
  attrs: Record<string, string>;
}

/** `--secret id=x[,src=path|,env=VAR][,type=file|env]`. */
export interface SecretSpec {
  id: string;
  /** file to read */
  src?: string;
  /** environment variable to read */
  env?: string;
}

/** `--ssh default|<id>[=<socket>|<key>[,<key>]]`. */
export interface SSHSpec {
  id: string;
  paths: string[];
}

/** `--attest type=…,…`, `--sbom`, `--provenance`. */
export interface AttestSpec {
  type: string;
  disabled: boolean;
  attrs: Record<string, string>;
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** `--call`: what to do with the Dockerfile instead of (or before) building it. */
export interface CallSpec {
  name: 'build' | 'check' | 'outline' | 'targets';
  /** `format=json` */
  format: 'text' | 'json';
  /** `ignorestatus=true`: exit 0 even when checks warn */
  ignoreStatus: boolean;
}

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'quiet' | 'rawjson';
export type NetworkMode = 'default' | 'none' | 'host';

export interface BuildOptions {
  /** PATH, URL or `-` (build context from stdin) */
  contextPath: string;
  /** `-f`: the Dockerfile, default `PATH/Dockerfile`; `-` reads stdin */
  file?: string;
  tags: string[];
  /** target platforms; empty = the host platform */
  platforms: Platform[];
  /** `--build-arg`, bare names resolved from the environment */
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** `--no-cache-filter`: stages not to cache */
  noCacheFilter: string[];
  pull: boolean;
  outputs: ExportSpec[];
  push: boolean;
  /** `--load`: the local store, and a Docker engine when one is configured or its socket exists */
  load: boolean;
  /** `--load=docker`: a Docker engine must take the image (an error before the build when none answers) */
  loadDocker?: boolean;
  progress: ProgressMode;
  quiet: boolean;
  labels: Record<string, string>;
  annotations: Annotation[];
  metadataFile?: string;
  iidfile?: string;
  network: NetworkMode;
  secrets: SecretSpec[];
  ssh: SSHSpec[];
  cacheFrom: CacheSpec[];
  cacheTo: CacheSpec[];
  /** `--build-context name=path|image|url` */
  buildContexts: Record<string, string>;
  attests: AttestSpec[];
  /** `--allow network.host,security.insecure` */
  allow: string[];
  /** `--add-host host:ip` */
  addHosts: { host: string; ip: string }[];
  /** `--shm-size` in bytes, 0 = default */
  shmSize: number;
  ulimits: Ulimit[];
  cgroupParent?: string;
  call: CallSpec;
  /** the global `--builder` */
  builder?: string;
}

/** What a build needs from its caller: streams, environment and cancellation. */
export interface BuildRunContext {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  /** the global `--root` directory, when given */
  root?: string;
  debug?: boolean;
}

/** The outcome of a build. */
export interface BuildResult {
  /** the image (or index) digest, when an image was produced */
  digest?: string;
  /** the image ID buildx reports (`--iidfile`, `--quiet`): the config digest for one platform, else the digest */
  imageID?: string;
  /** what `--metadata-file` gets */
  metadata?: Record<string, unknown>;
}

/** The outputs the options ask for, checked (before anything is opened or built). */
function outputsOf(ctx: BuildRunContext, o: BuildOptions): Output[] {
  return resolveOutputs({
    outputs: o.outputs,
    tags: o.tags,
    push: o.push,
    load: o.loadDocker ? 'docker' : o.load,
    annotations: o.annotations,
    cwd: ctx.cwd,
    stdoutIsTTY: ctx.stdout.isTTY === true,
  });
}

/** Reads the Dockerfile the options name: `-f` (relative to the working directory), stdin, or PATH/Dockerfile. */
export async function loadDockerfileSource(
  ctx: Pick<BuildRunContext, 'cwd' | 'stdin'>,
  o: Pick<BuildOptions, 'file' | 'contextPath'>,
): Promise<{ name: string; path?: string; source: Buffer }> {
  if (o.file === '-' || (o.contextPath === '-' && o.file === undefined)) {
    const source = await buffer(ctx.stdin);
    if (source.length >= 512 && isTarHeader(source.subarray(0, 512))) {
      throw new UnsupportedError(
        'a build context as a tar archive on stdin is not supported yet: unpack it and build the directory',
      );
    }
    return { name: 'Dockerfile', source };
  }
  if (/^[a-z]+:\/\//.test(o.contextPath) && o.file === undefined) {
    throw new InvalidArgumentError(
      `reading a Dockerfile from a remote context (${o.contextPath}) is not supported`,
    );
  }
  const path = o.file
    ? isAbsolute(o.file)
      ? o.file
      : resolve(ctx.cwd, o.file)
    : join(resolve(ctx.cwd, o.contextPath), 'Dockerfile');
  try {
    return { name: o.file ? basename(o.file) : 'Dockerfile', path, source: await readFile(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new InvalidArgumentError(`failed to read dockerfile: open ${path}: no such file or directory`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** A build check warning as buildx lists it: `FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)`. */
function warningLine(w: LintWarning): string {
  return `${w.rule.name}: ${w.message} (line ${w.location.startLine})`;
}

/** The internal steps BuildKit shows, as plain vertices: started, optional status, completed. */
function internalStep(progress: Progress, name: string) {
  const v = progress.vertex(digestOf(name), name);
  v.start();
  return v;
}

/** SOURCE_DATE_EPOCH from the build args or the environment, as buildx passes it. */
function sourceDateEpochOf(o: BuildOptions, env: NodeJS.ProcessEnv): number | undefined {
  const raw = o.buildArgs.SOURCE_DATE_EPOCH ?? env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw))
    throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH "${raw}": expected seconds since the epoch`);
  return Number(raw);
}

/** The RUN steps of these graphs, each once. */
function execSteps(roots: readonly Vertex[]): (Vertex & { op: ExecOp })[] {
  const seen = new Set<Vertex>();
  const out: (Vertex & { op: ExecOp })[] = [];
  const walk = (v: Vertex) => {
    if (seen.has(v)) return;
    seen.add(v);
    if (v.op.type === 'exec') out.push(v as Vertex & { op: ExecOp });
    for (const i of v.inputs) walk(i);
  };
  for (const r of roots) walk(r);
  return out;
}

/**
 * `RUN --security=insecure` and `RUN --network=host` need the matching `--allow` entitlement,
 * as in BuildKit; the error names the step.
 */
function checkEntitlements(steps: readonly (Vertex & { op: ExecOp })[], allow: readonly string[]): void {
  for (const v of steps) {
    const need =
      v.op.security === 'insecure'
        ? 'security.insecure'
        : v.op.network === 'host'
          ? 'network.host'
          : undefined;
    if (need && !allow.includes(need)) {
      throw new VertexError(
        v,
        `granting entitlement ${need} is not allowed by build daemon configuration: pass --allow ${need}`,
      );
    }
  }
}

/**
 * Builds the Dockerfile for every requested platform in one solve, stores the images (an
 * index for several platforms) and names them with the tags. Progress goes to `ctx.stderr`;
 * a failure prints BuildKit's error summary and the Dockerfile excerpt there, then throws.
 */
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
 * `--build-context name=value`: the local directories among them, by context op name
 * (`context:NAME`); `docker-image://REF` values are images; other sources are refused.
 */
function namedLocalContexts(cwd: string, contexts: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(contexts)) {
    if (value.startsWith('docker-image://')) {
      parseImageReference(value.slice('docker-image://'.length));
      continue;
    }
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(value)?.[1];
    if (scheme || value.startsWith('target:') || value.startsWith('git@')) {
      throw new PolyarchError(
        'UNSUPPORTED',
        `--build-context ${name}=${value}: only local directories and docker-image:// references are supported`,
      );
    }
    const dir = resolve(cwd, value);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new InvalidArgumentError(`--build-context ${name}=${value}: ${dir} is not a directory`);
    }
    out.set(`context:${name}`, dir);
  }
  return out;
}

/** `--secret id=…,src=FILE` names a file that must be readable before the build starts, as in buildx. */
function checkSecrets(cwd: string, secrets: readonly SecretSpec[]): void {
  for (const s of secrets) {
    if (s.src === undefined) continue;
    const path = resolve(cwd, s.src);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new InvalidArgumentError(`--secret id=${s.id}: ${path} is not a readable file`);
    }
  }
}

/** Options buildx has that polyarch parses but does not do yet: one clear error, before any work. */
function refuseUnsupported(o: BuildOptions): void {
  const refuse = (what: string, why: string) => {
    throw new PolyarchError('UNSUPPORTED', `${what} is not supported yet: ${why}`);
  };
  if (o.cacheFrom.length || o.cacheTo.length) {
    refuse('--cache-from/--cache-to', 'polyarch keeps its build cache under its root (see "polyarch du")');
  }
  if (o.ssh.length) refuse('--ssh', 'SSH agent forwarding into RUN --mount=type=ssh is not implemented');
  const wanted = o.attests.filter((a) => !a.disabled);
  if (wanted.length) refuse(`--attest type=${wanted[0]!.type}`, 'polyarch does not make attestations');
}

export async function runBuild(ctx: BuildRunContext, options: BuildOptions): Promise<BuildResult> {
  refuseUnsupported(options);
  checkSecrets(ctx.cwd, options.secrets);
  // the context: a directory, or `-` (a Dockerfile on stdin and no context, as buildx takes it)
  const contextInput = parseContextArg(options.contextPath);
  if (contextInput.kind === 'url') {
    throw new UnsupportedError(`a remote build context (${contextInput.url}) is not supported yet`);
  }
  if (contextInput.kind === 'dir') {
    const st = await stat(resolve(ctx.cwd, contextInput.dir)).catch(() => undefined);
    if (!st)
      throw new InvalidArgumentError(`unable to prepare context: path "${contextInput.dir}" not found`);
    if (!st.isDirectory()) {
      throw new InvalidArgumentError(
        `unable to prepare context: path "${contextInput.dir}" is not a directory`,
      );
    }
  }
  const namedLocal = namedLocalContexts(ctx.cwd, options.buildContexts);
  const outputs = outputsOf(ctx, options);
  const mode = options.quiet ? 'quiet' : options.progress;
  const renderer = createRenderer(mode === 'auto' ? undefined : mode, { stream: ctx.stderr, env: ctx.env });
  const progress = new Progress(renderer);
  let rendered = false;
  const finishProgress = async () => {
    if (rendered) return;
    rendered = true;
    await renderer.done();
  };
  let worker: Worker | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  let df: Dockerfile | undefined;
  let lintWarnings: LintWarning[] = [];
  const printWarnings = () => {
    // buildx's summary under the progress (rawjson carries them as warnings, quiet prints none)
    if (lintWarnings.length === 0 || mode === 'quiet' || mode === 'rawjson') return;
    const n = lintWarnings.length;
    ctx.stderr.write(`\n ${n} warning${n === 1 ? '' : 's'} found (use --debug to expand):\n`);
    for (const w of lintWarnings) ctx.stderr.write(` - ${warningLine(w)}\n`);
  };
  try {
    worker = await openWorker({
      ...(ctx.root ? { root: ctx.root } : {}),
      env: ctx.env,
      ...(options.builder ? { builder: options.builder } : {}),
      build: true,
      signal: ctx.signal,
      ...(ctx.debug ? { debug: (line: string) => ctx.stderr.write(`DEBUG: ${line}\n`) } : {}),
    });
    const w = worker;
    if (
      outputs.length === 0 &&
      options.call.name === 'build' &&
      !options.quiet &&
      options.progress !== 'quiet'
    ) {
      // buildx says the same when its builder has nowhere to put the result
      ctx.stderr.write(
        'WARNING: No output specified and no tag given. Build result will only remain in the build cache. To keep the image in the local store name it with -t, or use --push, --load or --output\n',
      );
    }
    const sourceDateEpoch = sourceDateEpochOf(options, ctx.env);
    // before anything is pulled or built: the outputs can be written (destinations, registry
    // credentials, the Docker engine)
    const prepared = await prepareExports(outputs, {
      platforms: options.platforms.length ? options.platforms : [w.host],
      registry: w.registry,
      env: ctx.env,
      warn: (m) => ctx.stderr.write(`WARNING: ${m}\n`),
    });

    const defStep = internalStep(progress, '[internal] load build definition from Dockerfile');
    const { name, path, source } = await loadDockerfileSource(ctx, options);
    const transfer = defStep.status('transferring dockerfile:');
    transfer.update(source.length);
    transfer.done();
    df = readDockerfile(source, { file: name });
    const dockerfile = df;
    lintWarnings = lintDockerfile(dockerfile, {
      targetPlatform: options.platforms[0] ?? w.host,
      buildPlatform: w.host,
      buildArgs: options.buildArgs,
      ...(options.target ? { target: options.target } : {}),
    });
    for (const w of lintWarnings) defStep.warn(warningLine(w), [w.rule.description], w.rule.url);
    if (lintWarnings.length && parseCheckDirective(dockerfile.check, dockerfile.file).error) {
      throw new DockerfileError(
        { file: dockerfile.file, line: lintWarnings[0]!.location.startLine, column: 1 },
        `lint violation found for rules: ${[...new Set(lintWarnings.map((w) => w.rule.name))].join(', ')}`,
      );
    }
    defStep.complete();

    // `-`: the Dockerfile came on stdin and there is no context: an empty directory stands in
    const contextDir =
      contextInput.kind === 'dir'
        ? resolve(ctx.cwd, contextInput.dir)
        : await mkdir(w.tmpDir, { recursive: true }).then(() => mkdtemp(join(w.tmpDir, 'empty-context-')));
    if (contextInput.kind !== 'dir') cleanups.push(() => rm(contextDir, { recursive: true, force: true }));
    const contexts = new Map<string, Promise<BuildContext>>();
    /** A local context by name: `context` is the build context, the others --build-context dirs. */
    const context = (name = 'context') => {
      let p = contexts.get(name);
      if (!p) {
        const dir = name === 'context' ? contextDir : namedLocal.get(name);
        if (dir === undefined) throw new Error(`no local context named ${name}`);
        p = (async () => {
          const label = name === 'context' ? '[internal]' : `[context ${name.slice('context:'.length)}]`;
          const ignore = internalStep(progress, `${label} load .dockerignore`);
          const c = await loadContext({
            dir,
            ...(name === 'context' && path ? { dockerfile: path } : {}),
            statCacheDir: join(w.root, 'cache', 'context'),
            signal: ctx.signal,
          });
          ignore.complete();
          return c;
        })();
        contexts.set(name, p);
      }
      return p;
    };
    await context();

    const host = w.host;
    const platforms = options.platforms.length ? options.platforms : [host];
    const multiPlatform = platforms.length > 1;
    const resolveImage = imageResolver(w, {
      pull: options.pull,
      progress,
      multiPlatform,
      signal: ctx.signal,
    });
    const contextVertex: Vertex = {
      op: { type: 'context', name: 'context', dir: contextDir },
      inputs: [],
      name: '[internal] load build context',
    };
    const namedContexts = new Map<string, NamedContext>();
    for (const [name, value] of Object.entries(options.buildContexts)) {
      const key = namedContextKey(name);
      const local = namedLocal.get(`context:${name}`);
      namedContexts.set(
        key,
        local !== undefined
          ? {
              kind: 'local',
              vertex: {
                op: { type: 'context', name: `context:${name}`, dir: local },
                inputs: [],
                name: `[context ${name}] load from client`,
              },
            }
          : { kind: 'image', ref: value.slice('docker-image://'.length) },
      );
    }
    const buildArgs = new Map(Object.entries(options.buildArgs));
    const converted = await Promise.all(
      platforms.map((p) =>
        convertDockerfile({
          dockerfile,
          targetPlatform: p,
          buildPlatform: host,
          buildArgs,
          ...(options.target ? { target: options.target } : {}),
          multiPlatform,
          context: contextVertex,
          resolveImage,
          network: options.network,
          extraHosts: options.addHosts.map((h) => `${h.host}:${h.ip}`),
          labels: options.labels,
          namedContexts,
        }),
      ),
    );

    const runSteps = execSteps(converted.map((c) => c.vertex));
    checkEntitlements(runSteps, options.allow);
    // emulation preflight: before anything runs, every platform a RUN needs must be runnable
    checkPlatforms([
      ...new Map(runSteps.map((v) => [formatPlatform(v.op.platform), v.op.platform])).values(),
    ]);

    const solver = new Solver({
      cache: w.cache,
      runners: createRunners({
        worker: w,
        context,
        secrets: new Map(
          options.secrets.map((s) => [
            s.id,
            { ...(s.src ? { src: resolve(ctx.cwd, s.src) } : {}), ...(s.env ? { env: s.env } : {}) },
          ]),
        ),
        env: ctx.env,
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
        ...(options.shmSize ? { shmSize: options.shmSize } : {}),
        ...(options.ulimits.length ? { ulimits: options.ulimits } : {}),
      }),
      progress,
      concurrency: maxParallelism(ctx.env),
      noCache: options.noCache || noCacheStages(options.noCacheFilter),
      usable: async (layers) =>
        layers.length === 0 || (await w.snapshots.get(layers.at(-1)!.snapshot)) !== undefined,
      signal: ctx.signal,
    });
    const results = await Promise.all(converted.map((c) => solver.solve(c.vertex)));
    (await context()).flush?.();

    const builds: PlatformBuild[] = await Promise.all(
      converted.map(async (c, i) => {
        const r = results[i]!;
        const stepKeys = new Map<HistoryStep, Digest>();
        for (const h of c.history) if (h.step) stepKeys.set(h, await solver.key(h.step));
        return {
          platform: c.platform,
          config: c.image.config ?? {},
          ...(c.image.author ? { author: c.image.author } : {}),
          history: c.history,
          stepKeys,
          layers: r.kind === 'layers' ? r.layers : [],
        };
      }),
    );

    const response = await runExports(prepared, builds, {
      content: w.content,
      snapshots: w.snapshots,
      registry: w.registry,
      progress,
      host,
      tmpDir: w.tmpDir,
      exportsDir: join(w.root, 'cache', 'layer-exports'),
      stdout: ctx.stdout,
      ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    });
    await finishProgress();
    printWarnings();
    const id = imageID(response);
    const metadata = buildMetadata(response, newBuildRef(options.builder ?? 'default'));
    if (options.metadataFile) {
      await writeBytesAtomic(
        resolve(ctx.cwd, options.metadataFile),
        `${JSON.stringify(metadata, null, 2)}\n`,
      );
    }
    if (options.iidfile && id) await writeBytesAtomic(resolve(ctx.cwd, options.iidfile), id);
    if ((options.quiet || options.progress === 'quiet') && id && !writesStdout(outputs)) {
      ctx.stdout.write(`${id}\n`);
    }
    return {
      ...(response.descriptor ? { digest: response.descriptor.digest } : {}),
      ...(id ? { imageID: id } : {}),
      metadata,
    };
  } catch (err) {
    await finishProgress();
    printWarnings();
    throw failure(err, df, ctx.stderr);
  } finally {
    if (!rendered) {
      await finishProgress();
      printWarnings();
    }
    for (const c of cleanups) await c().catch(() => undefined);
    await worker?.close();
  }
}

/** Prints the Dockerfile excerpt of a failed step and returns the error the CLI reports. */
function failure(err: unknown, df: Dockerfile | undefined, stderr: NodeJS.WritableStream): unknown {
  if (err instanceof VertexError && err.vertex.location && df) {
    const loc = err.vertex.location;
    const excerpt = formatExcerpt(df.file, df.lines, loc.startLine, loc.endLine);
    if (excerpt) stderr.write(excerpt);
    return new BuildError(`failed to build: failed to solve: ${err.message}`, { cause: err });
  }
  if (
    err instanceof DockerfileError ||
    err instanceof EmulationError ||
    err instanceof InvalidArgumentError ||
    err instanceof NotFoundError ||
    err instanceof UnsupportedError
  ) {
    return err;
  }
  if (err instanceof PolyarchError)
    return new PolyarchError(err.code, `failed to build: ${err.message}`, { cause: err });
  return err;
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
