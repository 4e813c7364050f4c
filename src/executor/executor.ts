/**
 * executor/executor — run one process in a mounted root filesystem with an OCI runtime, as
 * BuildKit's runc executor does.
 *
 *     const executor = new Executor({ stateDir: '/var/lib/polyarch/executor' });
 *     const { exitCode } = await executor.run({
 *       rootfs: merged, args: ['/bin/sh', '-c', 'make'], env, cwd: '/src', user: 'builder',
 *       stdout: (b) => progress.log(1, b), stderr: (b) => progress.log(2, b), signal,
 *     });
 *
 * Per run: the user is resolved from the rootfs, the working directory created when missing,
 * resolv.conf/hosts/hostname generated into a bundle directory under `stateDir`, `config.json`
 * written, and one `runc run` spawned. Mount points the runtime had to create in the rootfs are
 * removed afterwards (see stubs.ts), so only the process's own changes reach the layer.
 *
 * A non-zero exit is a result, not an error; the runtime failing to start the process is an
 * ExecError (an EmulationError for `exec format error`), an abort a CancelledError. Container
 * ids are `polyarch-<pid>-<n>-<random>`: a new executor removes the containers and bundles of
 * polyarch processes that no longer exist.
 */
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { CancelledError, EmulationError, ExecError, InvalidArgumentError, messageOf } from '../errors.js';
import { processAlive } from '../proc.js';
import { currentCapabilities } from './capabilities.js';
import { defaultHostname, hostnameFile, hostsFile, validateHostname } from './hosts.js';
import { containerResolvConf, hostResolvConfPath } from './resolvconf.js';
import { resolveInRoot } from './rootpath.js';
import {
  containerIds,
  forceDelete,
  hasContainer,
  initExecFailure,
  isExecFormatError,
  isHybridCgroupFailure,
  type OciRuntime,
  type OciRuntimeOptions,
  ociRuntime,
  readLogErrors,
  startRun,
} from './runtime.js';
import { type GeneratedFiles, generateSpec, type SpecDevice } from './spec.js';
import { findMountStubs, type MountStubs, removeMountStubs } from './stubs.js';
import type { ExecRequest, ExecResult, RuntimeNetwork } from './types.js';
import { readExecUser } from './user.js';

export interface ExecutorOptions {
  /** where bundles go (one directory per run, removed afterwards) */
  stateDir: string;
  /** the OCI runtime (default runc with its default state root) */
  runtime?: OciRuntimeOptions;
  /** the host's resolv.conf (default /etc/resolv.conf) */
  resolvConf?: string;
  /** containers' cgroups go to `<cgroupParent>/<id>` (default `polyarch`) */
  cgroupParent?: string;
  /** how long an aborted run may take to die before the runtime itself is killed (ms, default 2000) */
  killTimeoutMs?: number;
}

const idPrefix = 'polyarch-';
const staleId = /^polyarch-(\d+)-/;

/** True for an id (or bundle name) of a polyarch process that has exited. */
export function isStaleId(name: string, alive: (pid: number) => boolean = processAlive): boolean {
  const m = staleId.exec(name);
  return m !== null && !alive(Number(m[1]));
}

/** mkdir -p that chowns only the directories it creates (moby's `MkdirAllAndChown`). */
function mkdirAllAndChown(path: string, uid: number, gid: number): void {
  const missing: string[] = [];
  let p = path;
  while (!existsSync(p)) {
    missing.unshift(p);
    p = dirname(p);
  }
  for (const dir of missing) {
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, uid, gid);
  }
}

/** The host's loop devices, for insecure steps (BuildKit adds loop0…N as well). */
function hostLoopDevices(): SpecDevice[] {
  try {
    return readdirSync('/dev')
      .filter((n) => /^loop\d+$/.test(n))
      .map((n) => ({ path: `/dev/${n}`, type: 'b' as const, major: 7, minor: Number(n.slice(4)) }));
  } catch {
    return [];
  }
}

export class Executor {
  readonly runtime: OciRuntime;
  readonly stateDir: string;
  readonly #resolvConf: string | undefined;
  readonly #cgroupParent: string;
  readonly #killTimeoutMs: number;
  #counter = 0;
  #cleanup: Promise<string[]> | undefined;
  #allCaps: string[] | undefined;

  constructor(opts: ExecutorOptions) {
    this.stateDir = resolve(opts.stateDir);
    this.runtime = ociRuntime(opts.runtime);
    this.#resolvConf = opts.resolvConf;
    this.#cgroupParent = opts.cgroupParent ?? 'polyarch';
    this.#killTimeoutMs = opts.killTimeoutMs ?? 2000;
  }

  /**
   * Removes containers and bundles left by polyarch processes that died (once per executor;
   * `run` calls it first). Returns the container ids it deleted.
   */
  cleanupStale(): Promise<string[]> {
    this.#cleanup ??= this.#cleanupStale();
    return this.#cleanup;
  }

  async #cleanupStale(): Promise<string[]> {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o711 });
    const deleted: string[] = [];
    const log = join(this.stateDir, 'cleanup.log');
    for (const id of containerIds(this.runtime).filter((n) => n.startsWith(idPrefix) && isStaleId(n))) {
      const r = await forceDelete(this.runtime, id, log);
      if (r.code === 0 || !hasContainer(this.runtime, id)) deleted.push(id);
    }
    for (const name of readdirSync(this.stateDir).filter((n) => isStaleId(n))) {
      rmSync(join(this.stateDir, name), { recursive: true, force: true });
    }
    rmSync(log, { force: true });
    return deleted;
  }

  #newId(): string {
    return `${idPrefix}${process.pid}-${++this.#counter}-${randomBytes(4).toString('hex')}`;
  }

  #capabilities(): string[] {
    this.#allCaps ??= currentCapabilities();
    return this.#allCaps;
  }

  /** Runs the process to completion; see the module comment for what is an error. */
  async run(req: ExecRequest): Promise<ExecResult> {
    const rootfs = validate(req);
    await this.cleanupStale();
    if (req.signal?.aborted) throw new CancelledError();

    const id = this.#newId();
    const bundle = join(this.stateDir, id);
    const logPath = join(bundle, 'runtime.log');
    const pidFile = join(bundle, 'init.pid');
    const what = `running ${JSON.stringify(req.args[0])} in ${rootfs}`;
    mkdirSync(bundle, { mode: 0o711 });
    let stubs: MountStubs | undefined;
    try {
      const user = readExecUser(rootfs, req.user ?? '');
      const cwd = req.cwd || '/';
      const cwdPath = resolveInRoot(rootfs, cwd);
      try {
        if (!existsSync(cwdPath)) mkdirAllAndChown(cwdPath, user.uid, user.gid);
      } catch (err) {
        throw execError(what, `creating working directory ${cwd}: ${messageOf(err)}`, err);
      }

      const network = req.network ?? 'host';
      const hostname = req.hostname || defaultHostname;
      const files = this.#writeFiles(bundle, network, hostname, req);
      const mounts = req.mounts ?? [];
      stubs = findMountStubs(rootfs, [
        '/proc',
        '/dev',
        '/sys',
        '/etc/resolv.conf',
        '/etc/hosts',
        '/etc/hostname',
        ...mounts.map((m) => m.target),
      ]);
      const security = req.security ?? 'sandbox';
      const spec = generateSpec({
        rootfs,
        args: req.args,
        env: req.env ?? [],
        cwd,
        user,
        hostname,
        network,
        security,
        mounts,
        files,
        readonlyRootfs: req.readonlyRootfs ?? false,
        ulimits: req.ulimits ?? [],
        allCapabilities: security === 'insecure' ? this.#capabilities() : [],
        extraDevices: security === 'insecure' ? hostLoopDevices() : [],
        cgroupsPath: `/${this.#cgroupParent}/${id}`,
      });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));

      if (req.signal?.aborted) throw new CancelledError(`${what}: cancelled`, { cause: req.signal.reason });
      const started = Date.now();
      // the tail of stderr: runc 1.1 reports a failed exec of args[0] only there
      let stderrTail = '';
      const stderr = (b: Buffer) => {
        stderrTail = (stderrTail + b.toString('latin1')).slice(-512);
        req.stderr?.(b);
      };
      const outcome = await this.#runContainer(id, bundle, logPath, pidFile, { ...req, stderr });
      const durationMs = Date.now() - started;
      if (outcome.aborted) throw new CancelledError(`${what}: cancelled`, { cause: req.signal?.reason });
      if (outcome.code === 0) return { id, exitCode: 0, durationMs };
      const errors = readLogErrors(logPath);
      if (errors.length > 0) throw this.#runtimeError(what, errors, req);
      const initError = initExecFailure(stderrTail);
      if (outcome.code === 1 && initError && isExecFormatError(initError)) {
        throw this.#runtimeError(what, [initError], req);
      }
      if (outcome.code === null) {
        throw execError(what, `${this.runtime.name} was killed by ${outcome.signal ?? 'a signal'}`);
      }
      return { id, exitCode: outcome.code, durationMs };
    } finally {
      if (stubs) removeMountStubs(stubs);
      rmSync(bundle, { recursive: true, force: true });
    }
  }

  /** resolv.conf, hosts and hostname for the container, in its bundle. */
  #writeFiles(bundle: string, network: RuntimeNetwork, hostname: string, req: ExecRequest): GeneratedFiles {
    const files = {
      resolvConf: join(bundle, 'resolv.conf'),
      hosts: join(bundle, 'hosts'),
      hostname: join(bundle, 'hostname'),
    };
    let host = '';
    try {
      host = readFileSync(this.#resolvConf ?? hostResolvConfPath(network), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    writeFileSync(files.resolvConf, containerResolvConf(host, network), { mode: 0o644 });
    writeFileSync(files.hosts, hostsFile(hostname, req.extraHosts), { mode: 0o644 });
    writeFileSync(files.hostname, hostnameFile(hostname), { mode: 0o644 });
    return files;
  }

  #runtimeError(what: string, errors: string[], req: ExecRequest): Error {
    const msg = errors[errors.length - 1]!;
    if (isHybridCgroupFailure(msg)) {
      return execError(
        what,
        `${this.runtime.name} cannot run containers on this host: ${msg}. The host mounts ` +
          'cgroup v1 controllers next to a cgroup v2 hierarchy that has controllers of its own ("hybrid" ' +
          `mode), which ${this.runtime.name} does not support; use runc instead, or boot the host with a ` +
          'unified cgroup v2 hierarchy',
      );
    }
    if (isExecFormatError(msg)) {
      const platform = req.platform ? ` for ${req.platform}` : '';
      return new EmulationError(
        `${what}: the binary${platform} cannot be executed on this host (${msg}); ` +
          `register an emulator with \`polyarch emulators install ${req.platform ?? 'all'}\` ` +
          'or `apt-get install qemu-user-static`',
      );
    }
    return execError(what, `${this.runtime.name}: ${msg.replace(/^(runc|crun) run failed: /, '')}`);
  }

  #spawnError(err: unknown): ExecError {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const hint = missing
      ? `: not found; install it (apt-get install ${this.runtime.name})`
      : `: ${messageOf(err)}`;
    return new ExecError(`starting the OCI runtime ${this.runtime.binary}${hint}`, { cause: err });
  }

  async #runContainer(
    id: string,
    bundle: string,
    logPath: string,
    pidFile: string,
    req: ExecRequest,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; aborted: boolean }> {
    let running: ReturnType<typeof startRun>;
    try {
      running = startRun(this.runtime, id, bundle, logPath, pidFile, {
        ...(req.stdin ? { stdin: req.stdin } : {}),
        ...(req.stdout ? { stdout: req.stdout } : {}),
        ...(req.stderr ? { stderr: req.stderr } : {}),
      });
    } catch (err) {
      throw this.#spawnError(err);
    }
    const { child } = running;
    let aborted = false;
    let poll: NodeJS.Timeout | undefined;
    let hardKill: NodeJS.Timeout | undefined;
    const killInit = (): boolean => {
      try {
        const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
        if (pid > 0) {
          process.kill(pid, 'SIGKILL');
          return true;
        }
      } catch {
        // not started yet, or already gone
      }
      return false;
    };
    const onAbort = () => {
      aborted = true;
      // killing the container's init ends every process in its pid namespace; the runtime
      // then exits and destroys the container on its own
      if (!killInit()) poll = setInterval(() => killInit() && clearInterval(poll), 20);
      hardKill = setTimeout(() => child.kill('SIGKILL'), this.#killTimeoutMs);
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let result: { code: number | null; signal: NodeJS.Signals | null };
    try {
      result = await running.done;
    } catch (err) {
      throw this.#spawnError(err);
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      clearInterval(poll);
      clearTimeout(hardKill);
    }
    if (aborted && hasContainer(this.runtime, id)) {
      await forceDelete(this.runtime, id, join(bundle, 'delete.log'));
    }
    return { ...result, aborted };
  }
}

function validate(req: ExecRequest): string {
  if (req.args.length === 0 || req.args[0] === '') {
    throw new InvalidArgumentError('running a process: no command given');
  }
  if (!isAbsolute(req.rootfs))
    throw new InvalidArgumentError(`root filesystem ${req.rootfs} is not absolute`);
  const rootfs = resolve(req.rootfs);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new InvalidArgumentError(`root filesystem ${rootfs} is not a directory`);
  if (req.cwd && !req.cwd.startsWith('/')) {
    throw new InvalidArgumentError(`working directory ${req.cwd} is not absolute`);
  }
  if (req.hostname) validateHostname(req.hostname);
  for (const m of req.mounts ?? []) {
    if (!m.target.startsWith('/')) throw new InvalidArgumentError(`mount target ${m.target} is not absolute`);
    if (m.type === 'bind' && !isAbsolute(m.source)) {
      throw new InvalidArgumentError(`bind mount source ${m.source} is not absolute`);
    }
    if (m.type === 'bind') {
      try {
        lstatSync(m.source);
      } catch (err) {
        throw new InvalidArgumentError(`bind mount source for ${m.target}: ${messageOf(err)}`);
      }
    }
  }
  if (rootfs.endsWith(sep) && rootfs !== sep) return rootfs.slice(0, -1);
  return rootfs;
}

/** An ExecError that says what was being done, keeping the reason apart for callers that word it their way. */
function execError(what: string, reason: string, cause?: unknown): ExecError {
  return new ExecError(`${what}: ${reason}`, { reason, ...(cause !== undefined ? { cause } : {}) });
}
