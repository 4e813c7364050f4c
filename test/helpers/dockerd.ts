/**
 * test/helpers/dockerd — a private Docker engine (Debian's docker.io) for tests that check our
 * output with a real one: its own data root, exec root, pidfile and socket, no bridge and no
 * iptables (nothing here needs a network; `localhost:5000` is a registry Docker trusts
 * without TLS). Stopped by `stop()`, and killed when the test process exits.
 *
 * `startDockerd({ netns: true })` makes it a "remote host": the daemon runs in a network
 * namespace of its own, joined to this one by a veth pair, and answers the Engine API on
 * `tcp://<its address>:2375` as well as its socket. Its `localhost:5000` is bridged to the
 * fixture registry here (through a unix socket, since loopback is per namespace), so image
 * references stay the same on both sides. `kill()` ends it with SIGKILL, as a host that dies.
 *
 * An engine killed in the middle of a build leaves its BuildKit's runc container and overlay
 * mounts behind; `stop()` and the exit of the test process delete and unmount them.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

/** Debian's docker.io CLI (its BuildKit client matches its daemon). */
export const dockerCli = '/usr/bin/docker';
export const dockerdBin = '/usr/sbin/dockerd';

export interface Dockerd {
  /** `unix://…/docker.sock` */
  host: string;
  /** `tcp://10.x.y.2:2375` when it runs in a network namespace of its own */
  tcpHost?: string;
  /** SIGKILL, at once (a host that dies) */
  kill(): void;
  /** the environment that points the docker CLI (and polyarch) at this engine */
  env: NodeJS.ProcessEnv;
  /** runs the docker CLI against this engine */
  docker(
    args: readonly string[],
    opts?: { input?: Buffer | string; timeoutMs?: number },
  ): Promise<DockerResult>;
  stop(): Promise<void>;
}

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why no engine can be started here, or undefined when one can. */
export function dockerMissing(): string | undefined {
  if (!existsSync(dockerCli) || !existsSync(dockerdBin)) {
    return 'Debian docker.io is not installed (scripts/setup.sh --test installs it)';
  }
  return undefined;
}

function answers(env: NodeJS.ProcessEnv): boolean {
  try {
    execFileSync(dockerCli, ['version'], { env, stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export interface DockerdOptions {
  /** run it in a network namespace of its own, reached over tcp */
  netns?: boolean;
  /**
   * give it its default bridge (docker0, no iptables), which BuildKit's RUN steps need; only in
   * a namespace of its own, so that engines of parallel tests do not share one bridge
   */
  bridge?: boolean;
}

/** A network namespace joined to this one by a veth pair; the registry bridged into it. */
interface Netns {
  name: string;
  /** the namespace's address */
  address: string;
  /** the command prefix that runs a program inside it */
  exec: string[];
  close(): void;
}

function sh(args: readonly string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Node code that listens on 127.0.0.1:5000 and pipes each connection to the unix socket argv[1]. */
const nsBridge = `const net=require('net');net.createServer((c)=>{const u=net.connect(process.argv[1]);c.pipe(u).pipe(c);u.on('error',()=>c.destroy());c.on('error',()=>u.destroy());}).listen(5000,'127.0.0.1');`;

/** Whether process `pid` runs on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A subnet number (10.213.<n>.0/24) no namespace of ours holds: namespaces left by a test
 * process that died without closing them (their pid is in the name) are deleted first, and
 * the numbers of the rest, and of every 10.213.<n>.1 address here, are avoided.
 */
function freeSubnet(): number {
  const used = new Set<number>();
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const m of names.matchAll(/^pa-ns-(\d+)-(\d+)/gm)) {
    if (alive(Number(m[1]))) used.add(Number(m[2]));
    else sh(['ip', 'netns', 'del', m[0]]);
  }
  const addrs = execFileSync('ip', ['-o', '-4', 'addr'], { encoding: 'utf8' });
  for (const m of addrs.matchAll(/inet 10\.213\.(\d+)\.1\//g)) used.add(Number(m[1]));
  const free = Array.from({ length: 250 }, (_, i) => i + 1).filter((n) => !used.has(n));
  if (!free.length) throw new Error('no free 10.213.<n>.0/24 subnet for a test network namespace');
  return free[Math.floor(Math.random() * free.length)]!;
}

async function createNetns(work: string): Promise<Netns> {
  const n = freeSubnet();
  const name = `pa-ns-${process.pid}-${n}`;
  const hostIf = `pah${n}x${process.pid % 1000}`;
  const nsIf = `pan${n}x${process.pid % 1000}`;
  // nsenter joins the network namespace only: `ip netns exec` also remounts /sys, hiding the cgroups dockerd needs
  const exec = ['nsenter', `--net=/var/run/netns/${name}`];
  sh(['ip', 'netns', 'add', name]);
  const registrySock = join(work, 'registry.sock');
  const bridge = net.createServer((c) => {
    const r = net.connect(5000, '127.0.0.1');
    c.pipe(r).pipe(c);
    r.on('error', () => c.destroy());
    c.on('error', () => r.destroy());
  });
  let inside: ChildProcess | undefined;
  const close = () => {
    inside?.kill('SIGKILL');
    bridge.close();
    try {
      sh(['ip', 'netns', 'del', name]);
    } catch {}
  };
  try {
    sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    sh(['ip', 'link', 'set', nsIf, 'netns', name]);
    sh(['ip', 'addr', 'add', `10.213.${n}.1/24`, 'dev', hostIf]);
    sh(['ip', 'link', 'set', hostIf, 'up']);
    sh([...exec, 'ip', 'addr', 'add', `10.213.${n}.2/24`, 'dev', nsIf]);
    sh([...exec, 'ip', 'link', 'set', nsIf, 'up']);
    sh([...exec, 'ip', 'link', 'set', 'lo', 'up']);
    await new Promise<void>((resolve) => bridge.listen(registrySock, resolve));
    inside = spawn(exec[0]!, [...exec.slice(1), process.execPath, '-e', nsBridge, registrySock], {
      stdio: 'ignore',
    });
  } catch (err) {
    close();
    throw err;
  }
  return { name, address: `10.213.${n}.2`, exec, close };
}

/**
 * What an engine killed mid-build leaves under `work`: the runc containers its BuildKit ran
 * (bundles under `work`, in runc's default state root) and the mounts under `work`, deepest
 * first. Synchronous, for an exit listener.
 */
function clearLeftovers(work: string): void {
  const under = (p: string) => p === work || p.startsWith(`${work}/`);
  try {
    const list = JSON.parse(
      execFileSync('runc', ['list', '--format', 'json'], { encoding: 'utf8' }) || 'null',
    ) as { id: string; bundle: string }[] | null;
    for (const c of list ?? []) {
      if (!under(c.bundle)) continue;
      try {
        sh(['runc', 'delete', '--force', c.id]);
      } catch {}
    }
  } catch {}
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter(under)
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      sh(['umount', '-l', m]);
    } catch {}
  }
}

/** Starts a private dockerd; throws with the daemon's last lines when it does not come up. */
export async function startDockerd(opts: DockerdOptions = {}): Promise<Dockerd> {
  const missing = dockerMissing();
  if (missing) throw new Error(missing);
  // a short path: the socket path must fit in sun_path
  const work = tempDir('pa-dockerd-');
  const sock = join(work, 'docker.sock');
  const host = `unix://${sock}`;
  const netns = opts.netns ? await createNetns(work) : undefined;
  const tcpHost = netns ? `tcp://${netns.address}:2375` : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '1' };
  const log: Buffer[] = [];
  const prefix = netns?.exec ?? [];
  const child: ChildProcess = spawn(
    prefix[0] ?? dockerdBin,
    [
      ...(netns ? [...prefix.slice(1), dockerdBin] : []),
      ...(tcpHost ? [`--host=${tcpHost}`] : []),
      `--data-root=${join(work, 'data')}`,
      `--exec-root=${join(work, 'exec')}`,
      `--pidfile=${join(work, 'docker.pid')}`,
      `--host=${host}`,
      ...(opts.bridge && opts.netns ? [] : ['--bridge=none']),
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => log.push(d));
  child.stderr!.on('data', (d: Buffer) => log.push(d));
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const kill = () => {
    child.kill('SIGKILL');
    netns?.close();
    clearLeftovers(work);
  };
  // before tempDir's listener removes `work`, which a mount left behind would stop
  process.prependListener('exit', kill);
  for (let i = 0; i < 120 && !exited; i++) {
    if (answers(env)) {
      return {
        host,
        ...(tcpHost ? { tcpHost } : {}),
        env,
        docker: (args, opts = {}) => runDocker(env, args, opts),
        kill: () => child.kill('SIGKILL'),
        stop: async () => {
          process.off('exit', kill);
          if (!exited) {
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
          }
          kill();
        },
      };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  kill();
  process.off('exit', kill);
  const tail = Buffer.concat(log).toString().trim().split('\n').slice(-8).join('\n');
  throw new Error(`dockerd could not start: ${exited ? 'it exited' : 'no answer in 60 s'}\n${tail}`);
}

function runDocker(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  opts: { input?: Buffer | string; timeoutMs?: number },
): Promise<DockerResult> {
  return new Promise((resolve) => {
    const child = execFile(
      dockerCli,
      [...args],
      { env, timeout: opts.timeoutMs ?? 5 * 60_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}
