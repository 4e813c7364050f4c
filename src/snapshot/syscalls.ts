/**
 * snapshot/syscalls — the system calls Node has no API for (mount(2), umount2(2), and reading
 * extended attributes), made by one long-lived helper process: a call costs a system call,
 * not the run of a program.
 *
 * mount(8), umount(8) and getfattr each take well under a millisecond of work, but starting
 * one (a fork of a shell, the exec, the dynamic linking) takes about 7 ms here, and a build
 * step mounts and unmounts at least once, and reads a copy's source attributes. The helper is
 * Perl, which Debian and Ubuntu always install (perl-base is essential) and whose `syscall`
 * makes any system call: it is started at the first call, then reads one request per line and
 * answers each with the errno (0 for success), followed by what it read. It answers in turn,
 * so a read (which may walk a large tree) is only asked of an idle helper, and nothing is
 * queued behind one: those calls run the program, as they would without it. System call numbers
 * differ by architecture; where perl is missing or the architecture is not one listed here,
 * every call answers `undefined` and the caller runs the program as before.
 */
import type { ChildProcess } from 'node:child_process';
import { StoreError } from '../errors.js';
import { holdWhileBusy } from '../proc.js';
import { carries } from './launcher.js';

interface SyscallNumbers {
  mount: number;
  umount2: number;
  lgetxattr: number;
  llistxattr: number;
}

/** The numbers, by Node's `process.arch` (Linux's unistd tables). */
const syscallNumbers: Partial<Record<string, SyscallNumbers>> = {
  x64: { mount: 165, umount2: 166, lgetxattr: 192, llistxattr: 195 },
  // asm-generic
  arm64: { mount: 40, umount2: 39, lgetxattr: 9, llistxattr: 12 },
  riscv64: { mount: 40, umount2: 39, lgetxattr: 9, llistxattr: 12 },
  loong64: { mount: 40, umount2: 39, lgetxattr: 9, llistxattr: 12 },
};

/** umount2's MNT_DETACH: detach now, clean up once no longer busy (umount -l). */
export const MNT_DETACH = 2;

/**
 * The most files a tree read walks before giving up (E2BIG) so that getfattr reads the tree
 * instead: the walk costs Perl about 6 µs a file against getfattr's 4.5, and getfattr's start
 * about 7 ms, so beyond a couple of thousand files the program is the faster of the two.
 */
const treeLimit = 2000;
const E2BIG = 7;

/**
 * The helper. Each line is `op NUL cwd NUL args…`; it changes to `cwd` and answers `errno\n`,
 * or for `xattrs` on success `0 length\n` and that many bytes: the attributes of every file
 * under a directory (symlinks not followed), as `getfattr --dump --absolute-names` prints
 * them with paths and names escaped as `snapshot/xattr`'s `quote` does and values in hex.
 * Arguments that are numbers are added to 0 so that `syscall` passes them as integers; the
 * rest go as pointers to their bytes. Buffers are 64 KiB, the kernel's limit for a value and
 * for a list of names. A file that goes away during the walk is skipped; one on a file system
 * without attributes (EOPNOTSUPP) has none.
 */
const script = `use strict; $| = 1;
my %nr; @nr{qw(mount umount2 lgetxattr llistxattr)} = @ARGV;
my $list = "\\0" x 65536; my $value = "\\0" x 65536;
sub esc { my $s = shift; $s =~ s/([\\x00-\\x20\\x7f-\\xff\\\\=])/sprintf("\\\\%03o", ord $1)/ge; $s }
sub attrs {
  my $p = shift;
  my $n = syscall($nr{llistxattr} + 0, $p, $list, 65536);
  if ($n < 0) { my $e = $! + 0; return (0) if $e == 2 || $e == 95; return ($e); }
  my @out;
  for my $name (grep { length } split /\\0/, substr($list, 0, $n)) {
    my $m = syscall($nr{lgetxattr} + 0, $p, $name, $value, 65536);
    if ($m < 0) { my $e = $! + 0; next if $e == 2 || $e == 61; return ($e); }
    push @out, esc($name) . '=0x' . unpack('H*', substr($value, 0, $m)) . "\\n";
  }
  return (0, @out ? ('# file: ' . esc($p) . "\\n", @out, "\\n") : ());
}
sub tree {
  my $root = shift;
  lstat $root or return ($! + 0);
  my @todo = ($root); my $text = ''; my $seen = 0;
  while (@todo) {
    return (${E2BIG}) if ++$seen > ${treeLimit};
    my $p = pop @todo;
    lstat $p or next;
    my $dir = -d _;
    my ($e, @lines) = attrs($p);
    return ($e) if $e;
    $text .= join '', @lines;
    next unless $dir;
    opendir(my $dh, $p) or do { next if $! + 0 == 2; return ($! + 0); };
    my $base = $p =~ m{/$} ? $p : "$p/";
    push @todo, map { "$base$_" } grep { $_ ne '.' && $_ ne '..' } readdir $dh;
    closedir $dh;
  }
  return (0, $text);
}
while (defined(my $l = <STDIN>)) {
  chomp $l;
  my ($op, $cwd, @a) = split /\\0/, $l, -1;
  my $r = -1; $! = 22;
  if (!chdir $cwd) {}
  elsif ($op eq 'mount' && @a == 5) { $r = syscall($nr{mount} + 0, $a[0], $a[1], $a[2], $a[3] + 0, $a[4]); }
  elsif ($op eq 'umount' && @a == 2) { $r = syscall($nr{umount2} + 0, $a[0], $a[1] + 0); }
  elsif ($op eq 'xattrs' && @a == 1) {
    my ($e, $text) = tree($a[0]);
    if ($e) { print "$e\\n"; } else { print '0 ', length($text), "\\n", $text; }
    next;
  }
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

/** A call's answer: the errno (0 for success) and what a read returned. */
export interface CallResult {
  errno: number;
  /** for `treeXattrs`: the dump (ASCII) */
  text?: string;
}

export interface SyscallsOptions {
  /** the perl binary (default `perl`, looked up in PATH) */
  perl?: string;
  /** the architecture whose system call numbers to use (default `process.arch`) */
  arch?: string;
}

interface Waiting {
  resolve: (r: CallResult | undefined) => void;
  reject: (e: Error) => void;
  /** the call, for an error */
  what: string;
  /** a read, which the caller may make again some other way should the helper go away */
  read: boolean;
}

export class Syscalls {
  readonly #perl: string;
  readonly #numbers: SyscallNumbers | undefined;
  #child: ChildProcess | undefined;
  /** set once the helper could not be started or went away: the programs from then on */
  #broken = false;
  #buffered = '';
  readonly #waiting: Waiting[] = [];

  constructor(opts: SyscallsOptions = {}) {
    this.#perl = opts.perl ?? 'perl';
    this.#numbers = syscallNumbers[opts.arch ?? process.arch];
  }

  /** mount(2): the errno, 0 when mounted; `undefined` when the helper cannot make the call. */
  async mount(req: MountRequest): Promise<number | undefined> {
    const args = [req.source, req.target, req.fstype, String(req.flags), req.data];
    return (await this.#call('mount', req.cwd ?? '/', args, `mount ${req.target}`, false))?.errno;
  }

  /** umount2(2): the errno, 0 when unmounted; `undefined` when the helper cannot make the call. */
  async umount(target: string, flags = 0, cwd = '/'): Promise<number | undefined> {
    return (await this.#call('umount', cwd, [target, String(flags)], `umount ${target}`, false))?.errno;
  }

  /**
   * Every extended attribute of every file under `root` (which is included; symlinks are not
   * followed), as a getfattr dump (`parseXattrDump`'s input); `undefined` when the helper
   * cannot read them, or when the tree has more than `treeLimit` files.
   */
  async treeXattrs(root: string): Promise<CallResult | undefined> {
    const r = await this.#call('xattrs', '/', [root], `reading extended attributes under ${root}`, true);
    return r?.errno === E2BIG ? undefined : r;
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

  #call(
    op: string,
    cwd: string,
    args: readonly string[],
    what: string,
    read: boolean,
  ): Promise<CallResult | undefined> {
    const fields = [op, cwd, ...args];
    if (this.#broken || this.#numbers === undefined || !carries(op, args, cwd)) {
      return Promise.resolve(undefined);
    }
    // calls are answered in turn: a read of a large tree would hold up the mounts of steps
    // running beside it, so a read is made only by an idle helper and a mount does not wait
    // behind a read; the caller runs the program instead, in a process of its own
    if (this.#waiting.length > 0 && (read || this.#waiting.some((w) => w.read))) {
      return Promise.resolve(undefined);
    }
    const child = this.#child ?? this.#start();
    if (child === undefined) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) holdWhileBusy(child, true);
      this.#waiting.push({ resolve, reject, what, read });
      child.stdin!.write(`${fields.join('\0')}\n`);
    });
  }

  #start(): ChildProcess | undefined {
    const n = this.#numbers!;
    const numbers = [n.mount, n.umount2, n.lgetxattr, n.llistxattr].map(String);
    let child: ChildProcess;
    try {
      child = process
        .getBuiltinModule('node:child_process')
        .spawn(this.#perl, ['-e', script, ...numbers], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      this.#broken = true;
      return undefined;
    }
    this.#child = child;
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (s: string) => this.#onData(child, s));
    child.stdin!.on('error', () => {
      // the helper went away; its exit answers what was waiting
    });
    const gone = (why: string, ran: boolean) => {
      // a helper ended by close() answered what it was sent; a later call started another
      if (this.#child !== child) return;
      this.#broken = true;
      this.#child = undefined;
      for (const w of this.#waiting.splice(0)) {
        // a helper that never ran made no call, and a read can be made again: the caller runs
        // the program instead. One that went away during a mount may or may not have made
        // it, and a second mount would stack on the first: that call fails.
        if (ran && !w.read) w.reject(new StoreError(`${w.what}: the helper (${this.#perl}) ${why}`));
        else w.resolve(undefined);
      }
    };
    child.on('error', (e) => gone(`could not run: ${e.message}`, child.pid !== undefined));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `status ${code}`})`, true));
    holdWhileBusy(child, false);
    return child;
  }

  /** Answers the calls in order: `errno\n`, or `0 length\n` and that many bytes. */
  #onData(child: ChildProcess, s: string): void {
    this.#buffered += s;
    for (let nl = this.#buffered.indexOf('\n'); nl >= 0; nl = this.#buffered.indexOf('\n')) {
      const header = this.#buffered.slice(0, nl);
      const m = /^(\d+)(?: (\d+))?$/.exec(header);
      if (!m) {
        // not the helper this module wrote: it is not asked again, and the programs take over
        this.#broken = true;
        this.#buffered = '';
        const err = (w: Waiting) => new StoreError(`${w.what}: the helper answered "${header.slice(0, 80)}"`);
        for (const w of this.#waiting.splice(0)) w.reject(err(w));
        child.kill();
        return;
      }
      const size = m[2] === undefined ? 0 : Number(m[2]);
      if (this.#buffered.length < nl + 1 + size) break;
      const text = m[2] === undefined ? undefined : this.#buffered.slice(nl + 1, nl + 1 + size);
      this.#buffered = this.#buffered.slice(nl + 1 + size);
      const errno = Number(m[1]);
      this.#waiting.shift()?.resolve(text === undefined ? { errno } : { errno, text });
    }
    if (this.#waiting.length === 0) holdWhileBusy(child, false);
  }
}

let shared: Syscalls | undefined;

/** The process's helper, started at its first call and ended when the process exits. */
export function sharedSyscalls(): Syscalls {
  if (!shared) {
    const s = new Syscalls();
    shared = s;
    process.once('exit', () => s.close());
  }
  return shared;
}
