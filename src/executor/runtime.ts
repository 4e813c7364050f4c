/**
 * executor/runtime — driving an OCI runtime binary (runc, or crun) for one container: the
 * command lines, `run` with its output streamed, `kill` and `delete`, the containers a state
 * root holds, and reading the runtime's JSON log to tell its own failures from the process's
 * exit code.
 *
 * A run is one `runtime run` process (no separate create/start/delete: in the foreground the
 * runtime destroys the container itself when the process exits). The runtime runs in its own
 * session so that a terminal's Ctrl-C reaches polyarch, which then kills the container, rather
 * than the runtime directly (BuildKit's `Setpgid`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type RuntimeName = 'runc' | 'crun';

export interface OciRuntimeOptions {
  /** which runtime (default `runc`) */
  name?: RuntimeName;
  /** the binary (default: the name, looked up in PATH) */
  binary?: string;
  /** the runtime's state root (default /run/runc or /run/crun) */
  root?: string;
}

/** A runtime binary with its state root. */
export interface OciRuntime {
  readonly name: RuntimeName;
  readonly binary: string;
  readonly root: string;
}

export function ociRuntime(opts: OciRuntimeOptions = {}): OciRuntime {
  const name = opts.name ?? 'runc';
  return { name, binary: opts.binary ?? name, root: opts.root ?? `/run/${name}` };
}

/** The global flags: state root and a JSON log (errors go there as well as to stderr). */
export function globalArgs(rt: OciRuntime, logPath: string): string[] {
  return ['--root', rt.root, '--log', logPath, '--log-format', 'json'];
}

/** `runtime run` in the foreground; the container's init pid goes to `pidFile`. */
export function runArgs(
  rt: OciRuntime,
  id: string,
  bundle: string,
  logPath: string,
  pidFile: string,
): string[] {
  return [...globalArgs(rt, logPath), 'run', '--bundle', bundle, '--pid-file', pidFile, id];
}

export interface RunIO {
  /** the process's standard input (`run -i`); none when absent */
  stdin?: NodeJS.ReadableStream;
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
}

export interface RunningContainer {
  readonly child: ChildProcess;
  /** resolves once the runtime exited and both output streams are drained */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `runtime run`; stdin is /dev/null, stdout and stderr go to the callbacks as they come. */
export function startRun(
  rt: OciRuntime,
  id: string,
  bundle: string,
  logPath: string,
  pidFile: string,
  io: RunIO,
): RunningContainer {
  const child = spawn(rt.binary, runArgs(rt, id, bundle, logPath, pidFile), {
    stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', io.stderr ? 'pipe' : 'ignore'],
    detached: true,
  });
  if (io.stdin) {
    const input = io.stdin;
    // the process may exit before reading all of it: that is not an error
    child.stdin!.on('error', () => {});
    input.pipe(child.stdin!);
    child.once('close', () => input.unpipe(child.stdin!));
  }
  if (io.stdout) child.stdout!.on('data', io.stdout);
  if (io.stderr) child.stderr!.on('data', io.stderr);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, done };
}

/** Runs a short runtime command (`kill`, `delete`) and returns its exit code and stderr. */
function runtimeCommand(
  rt: OciRuntime,
  logPath: string,
  args: readonly string[],
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(rt.binary, [...globalArgs(rt, logPath), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.once('error', (err) => resolve({ code: -1, stderr: err.message }));
    child.once('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/** `runtime delete --force ID`: kills what is left and removes the container's state. */
export function forceDelete(
  rt: OciRuntime,
  id: string,
  logPath: string,
): Promise<{ code: number; stderr: string }> {
  return runtimeCommand(rt, logPath, ['delete', '--force', id]);
}

/** True when the runtime still holds state for `id`. */
export function hasContainer(rt: OciRuntime, id: string): boolean {
  return existsSync(join(rt.root, id));
}

/** The ids of the containers in the runtime's state root (no process spawned). */
export function containerIds(rt: OciRuntime): string[] {
  try {
    return readdirSync(rt.root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** The error messages a runtime wrote to its JSON log (one object a line). */
export function logErrors(content: string): string[] {
  const out: string[] = [];
  for (const line of content.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) out.push(entry.msg);
    } catch {
      // a line that is not JSON: runtimes print some plain text on early failures
      out.push(line.trim());
    }
  }
  return out;
}

/** The error messages in a log file (none when the file does not exist). */
export function readLogErrors(logPath: string): string[] {
  try {
    return logErrors(readFileSync(logPath, 'utf8'));
  } catch {
    return [];
  }
}

/** crun (1.8 at least) refuses hosts with cgroup v1 controllers next to a cgroup v2 hierarchy with controllers. */
export function isHybridCgroupFailure(message: string): boolean {
  return /hybrid mode not supported/i.test(message);
}

/**
 * The message runc 1.1's init prints when exec'ing the process itself fails
 * (`exec /bin/busybox: exec format error`), when it ends `stderr`.
 */
export function initExecFailure(stderrTail: string): string | undefined {
  const m = /(?:^|\n)(exec [^\n]+: [^\n]+)\n?$/.exec(stderrTail);
  return m?.[1];
}

export function isExecFormatError(message: string): boolean {
  return /exec format error/i.test(message);
}
