/**
 * snapshot/mountcall — mount(2) and umount2(2) made by one long-lived helper process, so that
 * a mount costs a system call rather than a run of mount(8).
 *
 * Node has no mount API. mount(8) itself takes well under a millisecond in the kernel, but
 * starting it (a fork of a shell, the exec, the dynamic linking of libmount) takes about 7 ms
 * here, and a build step mounts and unmounts at least once. The helper is Perl, which Debian
 * and Ubuntu always install (perl-base is essential) and whose `syscall` makes any system
 * call: it is started once, then reads one request per line and answers each with the errno
 * (0 for success). System call numbers differ by architecture; where perl is missing or the
 * architecture is not one listed here, `mount` and `umount` answer `undefined` and the caller
 * runs mount(8) as before.
 */
import type { ChildProcess } from 'node:child_process';
import { StoreError } from '../errors.js';

/** mount(2) and umount2(2) numbers, by Node's `process.arch` (Linux's unistd tables). */
const syscallNumbers: Partial<Record<string, { mount: number; umount2: number }>> = {
  x64: { mount: 165, umount2: 166 },
  // asm-generic: arm64, riscv64, loong64
  arm64: { mount: 40, umount2: 39 },
  riscv64: { mount: 40, umount2: 39 },
  loong64: { mount: 40, umount2: 39 },
};

/** umount2's MNT_DETACH: detach now, clean up once no longer busy (umount -l). */
export const MNT_DETACH = 2;

/**
 * The helper: each line is `op NUL cwd NUL args…`; it changes to `cwd`, makes the call and
 * prints the errno (0 when it succeeded). Arguments that are numbers are added to 0 so that
 * `syscall` passes them as integers; the rest go as pointers to their bytes.
 */
const script = `use strict; $| = 1;
my ($nmount, $numount) = @ARGV;
while (defined(my $l = <STDIN>)) {
  chomp $l;
  my ($op, $cwd, @a) = split /\\0/, $l, -1;
  my $r = -1; $! = 22;
  if (!chdir $cwd) {}
  elsif ($op eq 'mount' && @a == 5) { $r = syscall($nmount + 0, $a[0], $a[1], $a[2], $a[3] + 0, $a[4]); }
  elsif ($op eq 'umount' && @a == 2) { $r = syscall($numount + 0, $a[0], $a[1] + 0); }
  print $r == 0 ? "0\\n" : ($! + 0) . "\\n";
}`;

export interface MountRequest {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data: string;
  /** the directory relative paths are resolved in (default /) */
  cwd?: string;
}

export interface MountCallOptions {
  /** the perl binary (default `perl`, looked up in PATH) */
  perl?: string;
  /** the architecture whose system call numbers to use (default `process.arch`) */
  arch?: string;
}

interface Waiting {
  resolve: (errno: number | undefined) => void;
  reject: (e: Error) => void;
  /** the call, for an error */
  what: string;
}

/** Whether a value can travel in one request line. */
function travels(s: string): boolean {
  return !/[\n\0]/.test(s);
}

export class MountCall {
  readonly #perl: string;
  readonly #numbers: { mount: number; umount2: number } | undefined;
  #child: ChildProcess | undefined;
  /** set once the helper could not be started or went away: mount(8) from then on */
  #broken = false;
  #buffered = '';
  readonly #waiting: Waiting[] = [];

  constructor(opts: MountCallOptions = {}) {
    this.#perl = opts.perl ?? 'perl';
    this.#numbers = syscallNumbers[opts.arch ?? process.arch];
  }

  /** mount(2): the errno, 0 when mounted; `undefined` when the helper cannot make the call. */
  mount(req: MountRequest): Promise<number | undefined> {
    const flags = String(req.flags);
    return this.#call('mount', req.cwd ?? '/', [req.source, req.target, req.fstype, flags, req.data]);
  }

  /** umount2(2): the errno, 0 when unmounted; `undefined` when the helper cannot make the call. */
  umount(target: string, flags = 0, cwd = '/'): Promise<number | undefined> {
    return this.#call('umount', cwd, [target, String(flags)]);
  }

  /** The helper's process id, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Ends the helper (a call still on its way is answered first). */
  close(): void {
    this.#child?.stdin?.end();
    this.#child = undefined;
  }

  #call(op: string, cwd: string, args: readonly string[]): Promise<number | undefined> {
    const fields = [op, cwd, ...args];
    if (this.#broken || this.#numbers === undefined || !fields.every(travels)) {
      return Promise.resolve(undefined);
    }
    const child = this.#child ?? this.#start();
    if (child === undefined) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) hold(child, true);
      this.#waiting.push({ resolve, reject, what: `${op} ${args[op === 'mount' ? 1 : 0]}` });
      child.stdin!.write(`${fields.join('\0')}\n`);
    });
  }

  #start(): ChildProcess | undefined {
    const numbers = this.#numbers!;
    let child: ChildProcess;
    try {
      child = process
        .getBuiltinModule('node:child_process')
        .spawn(this.#perl, ['-e', script, String(numbers.mount), String(numbers.umount2)], {
          stdio: ['pipe', 'pipe', 'ignore'],
        });
    } catch {
      this.#broken = true;
      return undefined;
    }
    this.#child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => this.#onData(child, s));
    child.stdin!.on('error', () => {
      // the helper went away; its exit answers what was waiting
    });
    const gone = (why: string, ran: boolean) => {
      this.#broken = true;
      if (this.#child === child) this.#child = undefined;
      for (const w of this.#waiting.splice(0)) {
        // a helper that never ran made no call: mount(8) makes it instead. One that went away
        // during a call may or may not have made it, and a second mount would stack on the
        // first: that call fails.
        if (ran) w.reject(new StoreError(`${w.what}: the mount helper (${this.#perl}) ${why}`));
        else w.resolve(undefined);
      }
    };
    child.on('error', (e) => gone(`could not run: ${e.message}`, child.pid !== undefined));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `status ${code}`})`, true));
    hold(child, false);
    return child;
  }

  #onData(child: ChildProcess, s: string): void {
    this.#buffered += s;
    for (let nl = this.#buffered.indexOf('\n'); nl >= 0; nl = this.#buffered.indexOf('\n')) {
      const line = this.#buffered.slice(0, nl);
      const errno = line === '' ? Number.NaN : Number(line);
      this.#buffered = this.#buffered.slice(nl + 1);
      const w = this.#waiting.shift();
      if (!w) continue;
      if (Number.isInteger(errno)) w.resolve(errno);
      else w.reject(new StoreError(`${w.what}: the mount helper answered "${line}"`));
    }
    if (this.#waiting.length === 0) hold(child, false);
  }
}

/** Keeps the event loop alive while a call is on its way, and only then. */
function hold(child: ChildProcess, on: boolean): void {
  const out = child.stdout as unknown as { ref(): void; unref(): void };
  if (on) {
    child.ref();
    out.ref();
  } else {
    child.unref();
    out.unref();
  }
  (child.stdin as unknown as { unref(): void }).unref();
}
