/**
 * snapshot/launcher — long-lived `/bin/sh` processes that start the snapshotter's programs
 * (mount, umount, getfattr, cp) for this process.
 *
 * A spawn from Node forks the whole Node process on the main thread and waits there until the
 * child has exec'd: about 7 ms for a build's process each time, and a build step runs two to
 * four of these programs. A shell is spawned once and then runs one program at a time, as a
 * foreground command (so Ctrl-C reaches the program as it reaches a directly spawned one; a
 * shell's background commands would ignore it), with the program's output in two files of a
 * private directory and its exit status coming back as one line. Programs that run at the
 * same time each get a shell of their own; an idle shell waits for the next one.
 *
 * The programs, their arguments, working directory and environment are those a direct spawn
 * would have given them: arguments travel single-quoted, which the shell passes on literally.
 * A line that cannot travel (an argument with a newline or NUL) is not sent (`carries`); the
 * caller spawns it directly.
 */
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { holdWhileBusy, processAlive } from '../proc.js';

/** What a program's run gave back. */
export interface LaunchResult {
  /** exit status; 128 + n when killed by signal n; 127 when the shell found no such program */
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * A shell's loop: each line is a command, run with its stdin empty and its output in `$1.o`
 * and `$1.e`; then its status is printed.
 */
const loop = 'while IFS= read -r l; do eval "$l" </dev/null >"$1.o" 2>"$1.e"; echo "$?"; done';

/** Idle shells kept for the next programs; a build runs a few at once. */
const maxIdle = 4;

/** A string as one single-quoted shell word. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Whether a command line can be sent as one line (no newline or NUL in any part). */
export function carries(cmd: string, args: readonly string[], cwd?: string): boolean {
  return [cmd, ...args, cwd ?? ''].every((s) => !/[\n\0]/.test(s));
}

interface Pending {
  resolve: (r: LaunchResult) => void;
  reject: (e: Error) => void;
}

/** One shell: its process, the base of its output files, and the program it runs now. */
interface Shell {
  readonly child: ChildProcess;
  readonly out: string;
  pending: Pending | undefined;
  buffered: string;
}

export class Launcher {
  #dir: string | undefined;
  #count = 0;
  #last: Shell | undefined;
  readonly #idle: Shell[] = [];
  readonly #all = new Set<Shell>();

  /** Runs `cmd args` in `cwd` through a shell; rejects only when the shell cannot be used. */
  run(cmd: string, args: readonly string[], cwd?: string): Promise<LaunchResult> {
    if (!carries(cmd, args, cwd)) {
      return Promise.reject(new StoreError(`launcher: a newline or NUL in the command line of ${cmd}`));
    }
    const shell = this.#idle.pop() ?? this.#spawn();
    const words = [cmd, ...args].map(shellQuote).join(' ');
    const line = `${cwd !== undefined ? `cd -- ${shellQuote(cwd)} && ` : ''}${words}\n`;
    return new Promise((resolve, reject) => {
      shell.pending = { resolve, reject };
      holdWhileBusy(shell.child, true);
      shell.child.stdin!.write(line);
    });
  }

  /** The process id of the shell started last, while it runs. */
  get pid(): number | undefined {
    return this.#last && this.#all.has(this.#last) ? this.#last.child.pid : undefined;
  }

  /** Ends the shells (a program still running finishes) and removes their directory. */
  close(): void {
    for (const s of this.#all) s.child.stdin?.end();
    this.#all.clear();
    this.#idle.length = 0;
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  #spawn(): Shell {
    if (this.#dir === undefined) {
      const ns = pidNamespace();
      removeStaleDirs(tmpdir(), ns);
      this.#dir = mkdtempSync(join(tmpdir(), `${dirPrefix}${ns}-${process.pid}-`));
    }
    const out = join(this.#dir, String(this.#count++));
    const child = process
      .getBuiltinModule('node:child_process')
      .spawn('/bin/sh', ['-c', loop, 'sh', out], { stdio: ['pipe', 'pipe', 'ignore'] });
    const shell: Shell = { child, out, pending: undefined, buffered: '' };
    this.#all.add(shell);
    this.#last = shell;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => this.#onData(shell, s));
    child.stdin!.on('error', () => {
      // the shell went away; its exit rejects what it was running
    });
    const gone = (why: string) => {
      this.#all.delete(shell);
      const i = this.#idle.indexOf(shell);
      if (i >= 0) this.#idle.splice(i, 1);
      const p = shell.pending;
      shell.pending = undefined;
      p?.reject(new StoreError(`the program launcher (/bin/sh) ${why}`));
    };
    child.on('error', (e) => gone(`could not run: ${e.message}`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `status ${code}`})`));
    return shell;
  }

  #onData(shell: Shell, s: string): void {
    shell.buffered += s;
    const nl = shell.buffered.indexOf('\n');
    if (nl < 0) return;
    const code = Number(shell.buffered.slice(0, nl));
    shell.buffered = shell.buffered.slice(nl + 1);
    const p = shell.pending;
    if (!p) return;
    shell.pending = undefined;
    holdWhileBusy(shell.child, false);
    let result: LaunchResult;
    try {
      result = {
        code,
        stdout: readFileSync(`${shell.out}.o`),
        stderr: readFileSync(`${shell.out}.e`, 'utf8'),
      };
      // what a program printed is not kept on disk until the shell's next one
      unlinkSync(`${shell.out}.o`);
      unlinkSync(`${shell.out}.e`);
    } catch (e) {
      // its directory is gone or unreadable: the shell is not used again, and when the
      // directory itself is gone, neither are the idle shells writing into it
      this.#end(shell);
      if (this.#dir !== undefined && !existsSync(this.#dir)) this.#forgetDir();
      p.reject(new StoreError(`the program launcher lost the output of a program: ${(e as Error).message}`));
      return;
    }
    // more shells than programs usually run at once: this one ends
    if (this.#all.has(shell) && this.#idle.length < maxIdle) this.#idle.push(shell);
    else this.#end(shell);
    p.resolve(result);
  }

  /** The next shell gets a new directory; the idle ones, whose files were in the old, end. */
  #forgetDir(): void {
    for (const s of this.#idle.splice(0)) this.#end(s);
    this.#dir = undefined;
  }

  #end(shell: Shell): void {
    this.#all.delete(shell);
    shell.child.stdin!.end();
  }
}

/**
 * The launchers' directories: `polyarch-launch-<pidns>-<pid>-<random>` in the temporary
 * directory, where `<pidns>` names the PID namespace the pid belongs to (the inode of
 * /proc/self/ns/pid; 0 when unknown).
 */
const dirPrefix = 'polyarch-launch-';

/** This process's PID namespace (the inode of /proc/self/ns/pid), or '0' when it cannot be read. */
export function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/**
 * Removes the directories of launchers whose process is gone: one killed (kill -9, or a
 * signal it does not handle) leaves its directory, with the output of what was running. Only
 * those of this PID namespace: a temporary directory shared with a container holds those of
 * processes whose pids mean nothing here. (A directory named before the namespace was part
 * of the name, `polyarch-launch-<pid>-<random>`, is judged by its pid alone.)
 */
export function removeStaleDirs(parent: string, namespace: string = pidNamespace()): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(dirPrefix)) continue;
    const rest = name.slice(dirPrefix.length);
    const m = /^(\d+)-(\d+)-/.exec(rest);
    const pid = m ? (m[1] === namespace ? m[2] : undefined) : /^(\d+)-/.exec(rest)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}
