/**
 * test/helpers/cli — runs the real `bin/polyarch` as a user would, and reads its rawjson
 * progress stream back into the final state of every vertex.
 */
import { spawn } from 'node:child_process';
import type { SolveStatus, Vertex } from '../../src/progress/events.js';
import { polyarchBin } from './fixtures.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  root?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs `polyarch ARGS` and collects its output and exit code. */
export function polyarch(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(polyarchBin, [...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...(opts.root ? { POLYARCH_ROOT: opts.root } : {}), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60 * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The last state of every vertex in a rawjson stream, plus each vertex's log text. */
export function readRawJSON(text: string): { vertexes: Map<string, Vertex>; logs: Map<string, string> } {
  const vertexes = new Map<string, Vertex>();
  const logs = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const s = JSON.parse(line) as SolveStatus;
    for (const v of s.vertexes ?? []) vertexes.set(v.digest, { ...vertexes.get(v.digest), ...v });
    for (const l of s.logs ?? []) {
      logs.set(l.vertex, (logs.get(l.vertex) ?? '') + Buffer.from(l.data, 'base64').toString());
    }
  }
  return { vertexes, logs };
}

/** Vertices whose name matches, as `{name, cached, error}` for assertions. */
export function steps(
  text: string,
  match: RegExp = /./,
): { name: string; cached: boolean; error?: string }[] {
  return [...readRawJSON(text).vertexes.values()]
    .filter((v) => match.test(v.name))
    .map((v) => ({ name: v.name, cached: v.cached === true, ...(v.error ? { error: v.error } : {}) }));
}

/** A polyarch process the test steers while it runs (signals, waiting for output). */
export interface RunningPolyarch {
  child: ReturnType<typeof spawn>;
  /** resolves when stderr matches `re` (rejects if the process ends first) */
  waitFor(re: RegExp): Promise<void>;
  done: Promise<CliResult>;
}

export function startPolyarch(args: readonly string[], opts: CliOptions = {}): RunningPolyarch {
  const child = spawn(polyarchBin, [...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.root ? { POLYARCH_ROOT: opts.root } : {}), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: out, stderr: err }),
    ),
  );
  return {
    child,
    done,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(err)) {
            child.stderr!.off('data', check);
            resolve();
          }
        };
        child.stderr!.on('data', check);
        check();
        done.then(() => reject(new Error(`polyarch ended before ${re}: ${err.slice(-2000)}`)));
      }),
  };
}
