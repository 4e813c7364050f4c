/**
 * worker/runners — the typed registry of op runners: how each op of the build graph is carried
 * out on this machine (image sources pulled and unpacked, RUN through the OCI runtime on an
 * overlay, COPY/ADD and mkdir with BuildKit's file-op rules), each producing a layer chain.
 *
 * A step runs on a fresh overlay of its parent's chain; its upper dir becomes its layer, or
 * nothing when it changed nothing. A failed or cancelled step throws its overlay away, so the
 * snapshot store and the cache only ever hold finished results.
 */
import { chown, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type BuildContext, checksumSources, dirSource } from '../context/index.js';
import { goQuote } from '../dockerfile/shell/quote.js';
import { BuildError, ExecError, messageOf, NotFoundError } from '../errors.js';
import { type ExecMount as RuntimeMount, readExecUser, resolveInRoot } from '../executor/index.js';
import {
  add,
  type CopyReuseSession,
  copy,
  type ExtractTar,
  type FetchedUrl,
  fetchUrl,
  isHttpSource,
  openCopyReuse,
} from '../fileop/index.js';
import type {
  ContextOp,
  CopyAction,
  ExecOp,
  FileOp,
  ImageOp,
  LayerInfo,
  MkdirAction,
  Vertex,
} from '../graph/ops.js';
import { Semaphore } from '../graph/semaphore.js';
import type { OpRunners, Result, RunContext } from '../graph/solver.js';
import { digestHex, digestOf } from '../oci/digest.js';
import type { ImageConfig, ImageManifest } from '../oci/types.js';
import { formatPlatform } from '../platforms/index.js';
import { parseImageReference } from '../reference/index.js';
import type { Active, Snapshot } from '../snapshot/index.js';
import { sidecarPath, unpackTar } from '../snapshot/index.js';
import { ensureImageLayers } from './layers.js';
import { StepMounts } from './mounts.js';
import type { Worker } from './worker.js';

export interface SecretSource {
  /** a file to read */
  src?: string;
  /** an environment variable to read */
  env?: string;
}

export interface RunnerOptions {
  worker: Worker;
  /** a local context by name (`context` is the build context; others come from --build-context), loaded once */
  context: (name: string) => Promise<BuildContext>;
  /** `--secret` values by id */
  secrets: ReadonlyMap<string, SecretSource>;
  env: NodeJS.ProcessEnv;
  /** SOURCE_DATE_EPOCH, seconds */
  sourceDateEpoch?: number;
  /** `--shm-size` in bytes (0: the runtime's default /dev/shm) */
  shmSize?: number;
  /** `--ulimit` */
  ulimits?: readonly { name: string; soft: number; hard: number }[];
}

/** The top snapshot of a result, or undefined for an empty filesystem. */
async function topOf(w: Worker, r: Result): Promise<Snapshot | undefined> {
  if (r.kind !== 'layers' || r.layers.length === 0) return undefined;
  const id = r.layers[r.layers.length - 1]!.snapshot;
  const s = await w.snapshots.get(id);
  if (!s) {
    // the solver checks cached results before it uses them: only a concurrent prune gets here
    throw new BuildError(`snapshot ${id} was removed while the build used it; run the build again`);
  }
  return s;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

/**
 * Commits the step's upper dir as a layer on top of `parent`, or throws it away when the
 * step changed nothing.
 */
async function finish(
  w: Worker,
  ctx: RunContext,
  active: Active,
  parent: Result,
  commit: CommitOptions,
): Promise<Result> {
  const layers = parent.kind === 'layers' ? parent.layers : [];
  if (commit.beforeCommit !== undefined) {
    await w.snapshots.unmount(active.merged);
    await commit.beforeCommit(active);
  }
  if (!commit.keepEmpty && (await isEmptyDir(active.upper))) {
    await w.snapshots.discard(active);
    return { kind: 'layers', layers };
  }
  const snap = await w.snapshots.commit(
    active,
    commit.lineage !== undefined ? { lineage: commit.lineage } : {},
  );
  const layer: LayerInfo = { snapshot: snap.id, producedBy: ctx.key, created: new Date().toISOString() };
  return { kind: 'layers', layers: [...layers, layer] };
}

/** How a step's overlay becomes its layer. */
interface CommitOptions {
  /** a layer even when nothing changed */
  keepEmpty?: boolean;
  /** the snapshot's lineage (`SnapshotMeta.lineage`) */
  lineage?: string;
  /** runs on the upper dir after the overlay is unmounted, before the commit */
  beforeCommit?: (active: Active) => Promise<void>;
}

/** Runs `fn` on a fresh overlay of the input's chain, discarding it on failure. */
async function onOverlay(
  w: Worker,
  ctx: RunContext,
  fn: (active: Active) => Promise<void>,
  commit: CommitOptions = {},
): Promise<Result> {
  const parent = ctx.inputs[0]!;
  const active = await w.snapshots.prepare(await topOf(w, parent));
  try {
    await fn(active);
  } catch (err) {
    await w.snapshots.discard(active).catch(() => undefined);
    throw err;
  }
  try {
    return await finish(w, ctx, active, parent, commit);
  } catch (err) {
    await w.snapshots.discard(active).catch(() => undefined);
    throw err;
  }
}

async function secretData(opts: RunnerOptions, id: string): Promise<Buffer | undefined> {
  const s = opts.secrets.get(id);
  if (!s) return undefined;
  if (s.env !== undefined) {
    const v = opts.env[s.env];
    return v === undefined ? undefined : Buffer.from(v);
  }
  if (s.src !== undefined) return readFile(s.src);
  return undefined;
}

async function runExec(opts: RunnerOptions, op: ExecOp, ctx: RunContext): Promise<Result> {
  const w = opts.worker;
  const mounts = new StepMounts(w);
  try {
    const env = [...op.env, ...(op.proxyEnv ?? [])];
    const runtimeMounts = await execMounts(opts, op, ctx, mounts, env);
    if (opts.shmSize)
      runtimeMounts.push({ type: 'tmpfs', target: '/dev/shm', size: opts.shmSize, mode: 0o1777 });
    const run = (rootfs: string, extra: RuntimeMount[] = []) =>
      runProcess(opts, op, ctx, { rootfs, env, mounts: [...runtimeMounts, ...extra] });
    if (op.output !== undefined) {
      const target = op.output;
      return await intoOutput(w, ctx, (rootfs, out) =>
        run(rootfs, [{ type: 'bind', source: out, target, readonly: false }]),
      );
    }
    return await onOverlay(w, ctx, (active) => run(active.merged));
  } finally {
    await mounts.release();
  }
}

/**
 * An exec op with an output mount: the process runs on a throw-away overlay of its root and
 * the result is what it wrote into a fresh directory (nothing when it wrote nothing).
 */
async function intoOutput(
  w: Worker,
  ctx: RunContext,
  fn: (rootfs: string, out: string) => Promise<void>,
): Promise<Result> {
  const out = await w.snapshots.prepare(undefined, { mount: false });
  try {
    const root = await w.snapshots.prepare(await topOf(w, ctx.inputs[0]!));
    try {
      await fn(root.merged, out.upper);
    } finally {
      await w.snapshots.discard(root).catch(() => undefined);
    }
    return await finish(w, ctx, out, { kind: 'layers', layers: [] }, {});
  } catch (err) {
    await w.snapshots.discard(out).catch(() => undefined);
    throw err;
  }
}

/** The exec op's mounts as the runtime takes them; a secret with `env` adds to `env`. */
async function execMounts(
  opts: RunnerOptions,
  op: ExecOp,
  ctx: RunContext,
  mounts: StepMounts,
  env: string[],
): Promise<RuntimeMount[]> {
  const w = opts.worker;
  const runtimeMounts: RuntimeMount[] = [];
  for (const m of op.mounts) {
    switch (m.type) {
      case 'bind': {
        const root = await mounts.view(ctx.inputs[m.input]!);
        runtimeMounts.push({
          type: 'bind',
          source: join(root, m.source),
          target: m.target,
          readonly: m.readonly,
        });
        break;
      }
      case 'cache': {
        const dir = join(w.cacheMountsDir, digestHex(digestOf(m.id)));
        try {
          await stat(dir);
        } catch {
          await mkdir(dir, { recursive: true, mode: m.mode ?? 0o755 });
          if (m.uid !== undefined || m.gid !== undefined) await chown(dir, m.uid ?? 0, m.gid ?? 0);
        }
        runtimeMounts.push({ type: 'bind', source: dir, target: m.target, readonly: m.readonly });
        break;
      }
      case 'tmpfs':
        runtimeMounts.push({ type: 'tmpfs', target: m.target, ...(m.size ? { size: m.size } : {}) });
        break;
      case 'secret': {
        const data = await secretData(opts, m.id);
        if (!data) {
          if (m.required)
            throw new BuildError(`secret ${m.id}: not found (pass it with --secret id=${m.id},src=FILE)`);
          break;
        }
        if (m.env) env.push(`${m.env}=${data.toString()}`);
        const dir = await mounts.scratch();
        const file = join(dir, 'secret');
        await writeFile(file, data, { mode: m.mode });
        await chown(file, m.uid, m.gid);
        runtimeMounts.push({ type: 'bind', source: file, target: m.target, readonly: true });
        break;
      }
      case 'ssh':
        if (m.required)
          throw new BuildError(`ssh mount ${m.id}: SSH agent forwarding (--ssh) is not supported yet`);
        break;
      case 'files': {
        const dir = await mounts.files(m.files);
        runtimeMounts.push({ type: 'bind', source: dir, target: m.target, readonly: true });
        break;
      }
    }
  }
  return runtimeMounts;
}

/** Runs the op's process on `rootfs`; a non-zero exit is a BuildError worded as BuildKit's. */
async function runProcess(
  opts: RunnerOptions,
  op: ExecOp,
  ctx: RunContext,
  p: { rootfs: string; env: string[]; mounts: RuntimeMount[] },
): Promise<void> {
  const result = await opts.worker.executor
    .run({
      ...(opts.ulimits?.length ? { ulimits: opts.ulimits } : {}),
      rootfs: p.rootfs,
      args: op.args,
      env: p.env,
      cwd: op.cwd,
      ...(op.user ? { user: op.user } : {}),
      mounts: p.mounts,
      network: op.network === 'none' ? 'none' : 'host',
      security: op.security,
      ...(op.extraHosts?.length
        ? {
            extraHosts: op.extraHosts.map((h) => {
              const i = h.lastIndexOf(':');
              return { host: h.slice(0, i), ip: h.slice(i + 1) };
            }),
          }
        : {}),
      platform: formatPlatform(op.platform),
      stdout: (b) => ctx.progress.log(1, b),
      stderr: (b) => ctx.progress.log(2, b),
      signal: ctx.signal,
    })
    .catch((err: unknown) => {
      // the runtime could not start the process: BuildKit's wording, without our paths
      if (!(err instanceof ExecError)) throw err;
      throw new BuildError(
        `process ${goQuote(op.args.join(' '))} did not complete successfully: ${err.reason}`,
        { cause: err },
      );
    });
  if (result.exitCode !== 0) {
    throw new BuildError(
      `process ${goQuote(op.args.join(' '))} did not complete successfully: exit code: ${result.exitCode}`,
    );
  }
}

/** ADD's tar extraction: our own safe reader, applied onto the destination tree, with ADD's --chown and SOURCE_DATE_EPOCH. */
const extractTar: ExtractTar = async (tar, destDir, opts) => {
  await unpackTar(tar, destDir, {
    whiteouts: 'apply',
    ...(opts.chown ? { owner: { uid: opts.chown.uid, gid: opts.chown.gid } } : {}),
    ...(opts.createdTime ? { mtime: Math.floor(opts.createdTime.getTime() / 1000) } : {}),
  });
};

async function runFile(
  opts: RunnerOptions,
  op: FileOp,
  ctx: RunContext,
  fetched: Map<string, FetchedUrl>,
): Promise<Result> {
  const w = opts.worker;
  if (await madeAlready(w, op, ctx)) {
    // nothing to make, so no overlay to mount: the step's layer is an empty one
    const parent = ctx.inputs[0]!;
    const active = await w.snapshots.prepare(await topOf(w, parent), { mount: false });
    try {
      return await finish(w, ctx, active, parent, { keepEmpty: op.keepEmpty === true });
    } catch (err) {
      await w.snapshots.discard(active).catch(() => undefined);
      throw err;
    }
  }
  const mounts = new StepMounts(w);
  // the stages copied from are mounted while the step's own overlay is
  mounts.prefetch(stageSources(op, ctx));
  const lineage = reuseLineage(opts, op, ctx);
  let reuse: CopyReuseSession | undefined;
  try {
    return await onOverlay(
      w,
      ctx,
      async (active) => {
        if (lineage !== undefined) reuse = await openReuse(w, active, lineage);
        try {
          await runFileActions(opts, op, ctx, fetched, mounts, active, reuse);
        } finally {
          reuse?.close();
        }
        // what was copied from is unmounted while the step commits
        void mounts.release();
      },
      {
        keepEmpty: op.keepEmpty === true,
        ...(lineage !== undefined ? { lineage } : {}),
        ...(lineage !== undefined
          ? {
              beforeCommit: async () => {
                await reuse?.link();
              },
            }
          : {}),
      },
    );
  } finally {
    await mounts.release();
  }
}

/**
 * Whether the op only makes directories (WORKDIR) that its input certainly has already, as
 * its layer directories show without a mount; `mkdir -p` of those changes nothing.
 */
async function madeAlready(w: Worker, op: FileOp, ctx: RunContext): Promise<boolean> {
  const mkdirs = op.actions.filter((a): a is MkdirAction => a.action === 'mkdir');
  const parent = ctx.inputs[0];
  if (mkdirs.length === 0 || mkdirs.length < op.actions.length || parent?.kind !== 'layers') return false;
  const top = await topOf(w, parent);
  for (const a of mkdirs) if (!(await w.snapshots.certainlyDir(top, a.path))) return false;
  return true;
}

/** The results of other stages a file op copies from (mounted as views). */
function stageSources(op: FileOp, ctx: RunContext): Result[] {
  const out = new Set<Result>();
  for (const a of op.actions) {
    if (a.action !== 'copy' || a.input < 0) continue;
    const input = ctx.inputs[a.input];
    if (input?.kind === 'layers') out.add(input);
  }
  return [...out];
}

/**
 * The lineage of a file op whose next build may link its unchanged files from this one's layer
 * (`fileop/reuse`): a single COPY from a build context. Its parent and its definition.
 */
function reuseLineage(opts: RunnerOptions, op: FileOp, ctx: RunContext): string | undefined {
  const a = op.actions.length === 1 ? op.actions[0]! : undefined;
  if (a?.action !== 'copy' || a.allowURL || a.unpack || a.input < 0) return undefined;
  if (ctx.inputs[a.input]?.kind !== 'dir') return undefined;
  const parent = ctx.inputs[0]!;
  const top = parent.kind === 'layers' ? parent.layers[parent.layers.length - 1]?.snapshot : undefined;
  return digestHex(
    digestOf(JSON.stringify({ v: 1, parent: top ?? null, op, epoch: opts.sourceDateEpoch ?? null })),
  );
}

async function openReuse(w: Worker, active: Active, lineage: string): Promise<CopyReuseSession> {
  const donor = await w.snapshots.latestOfLineage(lineage);
  return openCopyReuse({
    record: sidecarPath(active, copyRecordName),
    upper: active.upper,
    ...(donor !== undefined ? { donor: { dir: donor.dir, record: sidecarPath(donor, copyRecordName) } } : {}),
  });
}

const copyRecordName = 'copy-record';

async function runFileActions(
  opts: RunnerOptions,
  op: FileOp,
  ctx: RunContext,
  fetched: Map<string, FetchedUrl>,
  mounts: StepMounts,
  active: Active,
  reuse: CopyReuseSession | undefined,
): Promise<void> {
  for (const a of op.actions) {
    ctx.signal.throwIfAborted();
    if (a.action === 'mkdir') {
      await mkdirAction(active.merged, a);
      continue;
    }
    const source = await copySource(opts, mounts, ctx, a);
    const common = {
      source,
      sources: a.sources,
      destRoot: active.merged,
      dest: a.dest,
      workdir: a.workdir,
      ...(a.chown ? { chown: a.chown } : {}),
      ...(a.chmod ? { chmod: a.chmod } : {}),
      ...(a.exclude ? { exclude: a.exclude } : {}),
      ...(a.parents ? { parents: true } : {}),
      followSymlinks: a.followSymlinks,
      ...(opts.sourceDateEpoch !== undefined ? { createdTime: new Date(opts.sourceDateEpoch * 1000) } : {}),
      ...(reuse !== undefined ? { reuse } : {}),
      signal: ctx.signal,
    };
    if (a.allowURL || a.unpack) {
      await add({
        ...common,
        extractTar,
        unpack: a.unpack,
        ...(a.checksum ? { checksum: a.checksum } : {}),
        fetched,
        fetch: { tmpDir: opts.worker.tmpDir },
      });
    } else {
      await copy(common);
    }
  }
}

async function copySource(opts: RunnerOptions, mounts: StepMounts, ctx: RunContext, a: CopyAction) {
  if (a.input < 0) return dirSource(await mounts.files(a.inline ?? []), 'inline document');
  const input = ctx.inputs[a.input]!;
  const from = ctx.vertex.inputs[a.input];
  if (input.kind === 'dir')
    return (await opts.context(from?.op.type === 'context' ? from.op.name : 'context')).source;
  const root = await mounts.view(input);
  return dirSource(root, ctx.vertex.inputs[a.input]?.name ?? 'stage');
}

/**
 * WORKDIR's mkdir -p: the path is resolved inside the root first (a symlink in the image points
 * into the image, never out to the host, as BuildKit's `fs.RootPath`), then each missing
 * directory is made, owned by the user when one is set.
 */
async function mkdirAction(root: string, a: MkdirAction): Promise<void> {
  const target = resolveInRoot(root, a.path);
  if (await exists(target)) return;
  const owner = a.chown ? readExecUser(root, a.chown) : undefined;
  let cur = root;
  for (const p of relative(root, target)
    .split('/')
    .filter((c) => c)) {
    cur = join(cur, p);
    if (await exists(cur)) continue;
    await mkdir(cur, { mode: a.mode });
    if (owner) await chown(cur, owner.uid, owner.gid);
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** The content checksums a file op's key needs: the context paths it copies, the URLs it fetches. */
async function fileChecksums(
  opts: RunnerOptions,
  op: FileOp,
  inputs: readonly Vertex[],
  fetched: Map<string, FetchedUrl>,
  signal: AbortSignal,
): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = inputs.map(() => undefined);
  const parts: string[] = [];
  for (const a of op.actions) {
    if (a.action !== 'copy' || a.input < 0) continue;
    const input = inputs[a.input];
    if (input?.op.type !== 'context') continue;
    const urls = a.allowURL ? a.sources.filter(isHttpSource) : [];
    const local = a.sources.filter((s) => !urls.includes(s));
    for (const url of urls) {
      let f = fetched.get(url);
      if (!f) {
        await mkdir(opts.worker.tmpDir, { recursive: true });
        f = await fetchUrl(url, {
          dir: opts.worker.tmpDir,
          ...(a.checksum ? { checksum: a.checksum } : {}),
          signal,
        });
        fetched.set(url, f);
      }
      parts.push(`${url}=${f.digest}`);
    }
    if (local.length) {
      const ctx = await opts.context(input.op.name);
      const d = await checksumSources(ctx.source, local, {
        followSymlinks: a.followSymlinks,
        ...(a.exclude ? { exclude: a.exclude } : {}),
        ...(a.parents ? { parents: true } : {}),
      });
      parts.push(d);
    }
    out[a.input] = parts.join(',');
  }
  return out;
}

/**
 * The content checksums an exec op's key needs: what each `RUN --mount` binds from a build
 * context (its `source`, or the whole context), as BuildKit's content checksum of a mount's
 * selector. Without it a changed file under a bind mount would still hit the cache.
 */
async function execChecksums(
  opts: RunnerOptions,
  op: ExecOp,
  inputs: readonly Vertex[],
): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = inputs.map(() => undefined);
  for (const m of op.mounts) {
    if (m.type !== 'bind' && m.type !== 'cache') continue;
    if (m.input === undefined) continue;
    const input = inputs[m.input];
    if (input?.op.type !== 'context') continue;
    const ctx = await opts.context(input.op.name);
    const d = await checksumSources(ctx.source, [m.source || '/'], { followSymlinks: true });
    out[m.input] = out[m.input] === undefined ? d : `${out[m.input]},${d}`;
  }
  return out;
}

/** The runners of this worker, keyed by op type. */
export function createRunners(opts: RunnerOptions): OpRunners {
  const w = opts.worker;
  const fetched = new Map<string, FetchedUrl>();
  const unpacks = new Semaphore(1);
  return {
    scratch: { uncached: true, run: async () => ({ kind: 'layers', layers: [] }) },
    context: {
      uncached: true,
      run: async (op: ContextOp) => ({ kind: 'dir', dir: (await opts.context(op.name)).dir }),
    },
    image: {
      uncached: true,
      reportResolved(op: ImageOp, progress) {
        progress.status(`resolve ${op.ref}`).done();
      },
      async run(op: ImageOp, ctx) {
        const status = ctx.progress.status(`resolve ${op.ref}`);
        status.done();
        const manifest = JSON.parse(
          (await w.content.readBlob(op.manifest.digest)).toString('utf8'),
        ) as ImageManifest;
        const config = JSON.parse(
          (await w.content.readBlob(manifest.config.digest)).toString('utf8'),
        ) as ImageConfig;
        // one image at a time: unpacking is disk-bound, and several at once only add memory
        const release = await unpacks.acquire();
        const { layers } = await ensureImageLayers(w, {
          ...(op.origin === 'registry' ? { ref: parseImageReference(op.ref) } : {}),
          manifest,
          manifestDescriptor: op.manifest,
          config,
          platform: op.platform,
          progress: ctx.progress,
          signal: ctx.signal,
        }).finally(release);
        return { kind: 'layers', layers };
      },
    },
    exec: {
      heavy: true,
      checksums: (op: ExecOp, inputs) => execChecksums(opts, op, inputs),
      run: (op: ExecOp, ctx) => runExec(opts, op, ctx),
    },
    file: {
      checksums: (op: FileOp, inputs, signal) => fileChecksums(opts, op, inputs, fetched, signal),
      run: (op: FileOp, ctx) =>
        runFile(opts, op, ctx, fetched).catch((err) => {
          if (err instanceof NotFoundError || err instanceof BuildError) throw err;
          throw new BuildError(messageOf(err), { cause: err });
        }),
    },
  };
}
