/**
 * snapshot/tools — running the few external programs the snapshotter needs (getfattr,
 * setfattr, tar for device nodes, mount, umount, cp), once per tree or per mount, never per file.
 *
 * Which binaries to run is configurable (`Tools`), so tests and unusual hosts can point
 * elsewhere; a missing program yields an error that names the package to install. Programs
 * are started by long-lived shells (`snapshot/launcher`), which spares this process a fork
 * for each; one fed on standard input is spawned directly.
 */
import { StoreError } from '../errors.js';
import { carries, Launcher } from './launcher.js';

/** The programs used, by name or absolute path. */
export interface Tools {
  getfattr: string;
  setfattr: string;
  tar: string;
  mount: string;
  umount: string;
  cp: string;
}

export const defaultTools: Tools = {
  getfattr: 'getfattr',
  setfattr: 'setfattr',
  tar: 'tar',
  mount: 'mount',
  umount: 'umount',
  cp: 'cp',
};

const packageOf: Record<string, string> = {
  getfattr: 'attr',
  setfattr: 'attr',
  tar: 'tar',
  mount: 'mount',
  umount: 'mount',
  cp: 'coreutils',
};

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Written to the program's standard input, which is then closed. */
  input?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Capture stdout (default true); when false it is discarded. */
  captureStdout?: boolean;
}

let launcher: Launcher | undefined;

/** The process's launcher, made at first use and closed when the process exits. */
function sharedLauncher(): Launcher {
  if (!launcher) {
    const l = new Launcher();
    launcher = l;
    process.once('exit', () => l.close());
  }
  return launcher;
}

function notFound(cmd: string, cause?: Error): StoreError {
  const base = cmd.slice(cmd.lastIndexOf('/') + 1);
  const pkg = packageOf[base];
  return new StoreError(
    `${base} not found${pkg ? ` (install the "${pkg}" package)` : ''}`,
    cause ? { cause } : {},
  );
}

/**
 * Runs a program to completion; rejects only when it cannot be started. A program without
 * input is started by the process's launcher (`snapshot/launcher`), one with input directly.
 */
export async function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  if (options.input !== undefined || !carries(cmd, args, options.cwd)) return spawnRun(cmd, args, options);
  const r = await sharedLauncher().run(cmd, args, options.cwd);
  // the shell's "not found" (status 127) is a direct spawn's ENOENT
  if (r.code === 127 && /: not found\n?$/.test(r.stderr)) throw notFound(cmd);
  return options.captureStdout === false ? { ...r, stdout: Buffer.alloc(0) } : r;
}

/** Runs a program by spawning it from this process. */
function spawnRun(cmd: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // node:child_process is loaded at the first tool run, not when a command starts
    const child = process.getBuiltinModule('node:child_process').spawn(cmd, args, {
      cwd: options.cwd,
      stdio: [
        options.input === undefined ? 'ignore' : 'pipe',
        options.captureStdout === false ? 'ignore' : 'pipe',
        'pipe',
      ],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(notFound(cmd, e));
      else
        reject(new StoreError(`running ${cmd.slice(cmd.lastIndexOf('/') + 1)}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (options.input !== undefined && child.stdin) {
      const stdin = child.stdin;
      stdin.on('error', () => {
        // the program exited early; its exit status says why
      });
      const input = options.input;
      if (input instanceof Uint8Array) stdin.end(input);
      else {
        (async () => {
          for await (const chunk of input) {
            if (!stdin.write(chunk)) await new Promise<void>((r) => stdin.once('drain', () => r()));
          }
          stdin.end();
        })().catch((e) => {
          child.kill();
          reject(e);
        });
      }
    }
  });
}

/** Runs a program and throws a StoreError with its stderr when it exits non-zero. */
export async function runChecked(
  what: string,
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    const detail = r.stderr.trim().split('\n').slice(0, 8).join('; ');
    throw new StoreError(`${what}: ${cmd} exited with status ${r.code}${detail ? `: ${detail}` : ''}`);
  }
  return r;
}
