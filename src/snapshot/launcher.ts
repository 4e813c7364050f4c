/**
 * snapshot/launcher — one long-lived `/bin/sh` that starts the snapshotter's programs (mount,
 * umount, getfattr, cp) for this process.
 *
 * A spawn from Node forks the whole Node process on the main thread and waits there until the
 * child has exec'd: about 7 ms for a build's process each time, and a build step runs two to
 * four of these programs. The launcher is spawned once; after that each program is forked by
 * the small shell (in the background, so programs run side by side as direct spawns do), its
 * output going to two files in a private directory, its exit status coming back as one line
 * on the shell's standard output.
 *
 * The programs, their arguments, working directory and environment are those a direct spawn
 * would have given them: arguments travel single-quoted, which the shell passes on literally.
 * A line that cannot travel (an argument with a newline or NUL) is not sent (`carries`); the
 * caller spawns it directly.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../errors.js';

/** What a program's run gave back. */
export interface LaunchResult {
  /** exit status; 128 + n when killed by signal n; 127 when the shell found no such program */
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * The shell's loop: a line is `<id> <command>`; the command runs in a background subshell with
 * its stdin empty and its output in `<dir>/<id>.o` and `.e`, then `<id> <status>` is printed.
 */
const loop =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${…} is the shell's parameter expansion
  'd=$1; while IFS= read -r l; do i=${l%% *}; { eval "${l#* }" </dev/null >"$d/$i.o" 2>"$d/$i.e"; echo "$i $?"; } & done';

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

export class Launcher {
  #child: ChildProcess | undefined;
  #dir: string | undefined;
  #next = 0;
  #buffered = '';
  readonly #pending = new Map<number, Pending>();

  /** Runs `cmd args` in `cwd` through the shell; rejects only when the shell cannot be used. */
  run(cmd: string, args: readonly string[], cwd?: string): Promise<LaunchResult> {
    if (!carries(cmd, args, cwd)) {
      return Promise.reject(new StoreError(`launcher: a newline or NUL in the command line of ${cmd}`));
    }
    const child = this.#start();
    const id = this.#next++;
    const words = [cmd, ...args].map(shellQuote).join(' ');
    const line = `${id} ${cwd !== undefined ? `cd -- ${shellQuote(cwd)} && ` : ''}${words}\n`;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#hold(true);
      child.stdin!.write(line);
    });
  }

  /** The shell's process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Stops the shell (programs it started run on) and removes its directory. */
  close(): void {
    this.#child?.stdin?.end();
    this.#child = undefined;
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  #start(): ChildProcess {
    if (this.#child) return this.#child;
    this.#dir ??= mkdtempSync(join(tmpdir(), 'polyarch-launch-'));
    const child = process
      .getBuiltinModule('node:child_process')
      .spawn('/bin/sh', ['-c', loop, 'sh', this.#dir], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.#child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => this.#onData(s));
    child.stdin!.on('error', () => {
      // the shell went away; its exit rejects what was pending
    });
    const gone = (why: string) => {
      if (this.#child === child) this.#child = undefined;
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of pending) p.reject(new StoreError(`the program launcher (/bin/sh) ${why}`));
    };
    child.on('error', (e) => gone(`could not run: ${e.message}`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `status ${code}`})`));
    // an idle launcher does not keep the process alive
    this.#hold(false);
    return child;
  }

  /** Keeps the event loop alive while a program runs, and only then. */
  #hold(on: boolean): void {
    const c = this.#child;
    const out = c?.stdout as { ref?: () => void; unref?: () => void } | undefined;
    const inp = c?.stdin as { unref?: () => void } | undefined;
    if (on) {
      c?.ref();
      out?.ref?.();
    } else {
      c?.unref();
      out?.unref?.();
    }
    inp?.unref?.();
  }

  #onData(s: string): void {
    this.#buffered += s;
    let nl = this.#buffered.indexOf('\n');
    while (nl >= 0) {
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      this.#finish(line);
      nl = this.#buffered.indexOf('\n');
    }
  }

  #finish(line: string): void {
    const [idText, codeText] = line.split(' ');
    const id = Number(idText);
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#hold(false);
    try {
      const base = join(this.#dir!, String(id));
      const stdout = readFileSync(`${base}.o`);
      const stderr = readFileSync(`${base}.e`, 'utf8');
      unlinkSync(`${base}.o`);
      unlinkSync(`${base}.e`);
      p.resolve({ code: Number(codeText), stdout, stderr });
    } catch (e) {
      p.reject(new StoreError(`the program launcher lost the output of a program: ${(e as Error).message}`));
    }
  }
}
