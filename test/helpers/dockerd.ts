/**
 * test/helpers/dockerd — a private Docker engine (Debian's docker.io) for tests that check our
 * output with a real one: its own data root, exec root, pidfile and socket, no bridge and no
 * iptables (nothing here needs a network; `localhost:5000` is a registry Docker trusts
 * without TLS). Stopped by `stop()`, and killed when the test process exits.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

/** Debian's docker.io CLI (its BuildKit client matches its daemon). */
export const dockerCli = '/usr/bin/docker';
export const dockerdBin = '/usr/sbin/dockerd';

export interface Dockerd {
  /** `unix://…/docker.sock` */
  host: string;
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

/** Starts a private dockerd; throws with the daemon's last lines when it does not come up. */
export async function startDockerd(): Promise<Dockerd> {
  const missing = dockerMissing();
  if (missing) throw new Error(missing);
  // a short path: the socket path must fit in sun_path
  const work = tempDir('pa-dockerd-');
  const sock = join(work, 'docker.sock');
  const host = `unix://${sock}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '1' };
  const log: Buffer[] = [];
  const child: ChildProcess = spawn(
    dockerdBin,
    [
      `--data-root=${join(work, 'data')}`,
      `--exec-root=${join(work, 'exec')}`,
      `--pidfile=${join(work, 'docker.pid')}`,
      `--host=${host}`,
      '--bridge=none',
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
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  for (let i = 0; i < 120 && !exited; i++) {
    if (answers(env)) {
      return {
        host,
        env,
        docker: (args, opts = {}) => runDocker(env, args, opts),
        stop: async () => {
          process.off('exit', kill);
          if (exited) return;
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
          if (!exited) kill();
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
