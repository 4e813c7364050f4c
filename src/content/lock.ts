/**
 * content/lock — inter-process locks and liveness tokens that the kernel releases when their
 * holder dies, however it dies (`kill -9` included).
 *
 * Node has no flock(2). What it does have is Linux's abstract Unix socket namespace: binding
 * `\0name` either succeeds or fails with EADDRINUSE, nothing is left on disk, and the name is
 * freed the moment the process that bound it exits. So:
 *
 * - a lock is a bound abstract socket (`acquire` retries with backoff until it binds);
 * - a liveness token is a socket a process keeps bound for its lifetime; another process
 *   learns whether the holder still lives by trying to bind the same name (`isAlive`).
 *
 * Names are scoped by the device and inode of the directory they protect, so two stores never
 * share a lock and a store reached through a bind mount shares it. Abstract sockets belong to a
 * network namespace: processes that share a store must share one (a host, or containers on the
 * host network). A connection to a held lock answers the holder's pid, for messages.
 */
import { statSync } from 'node:fs';
import type { Server } from 'node:net';
import { CancelledError, StoreError, sleep } from '../errors.js';

/** Where locks and tokens of one directory live (`dev:ino` of it). */
export interface LockScope {
  readonly key: string;
  /** the directory, for messages */
  readonly dir: string;
}

export async function lockScopeOf(dir: string): Promise<LockScope> {
  // one stat, synchronous: node:fs/promises is not loaded for it
  const st = statSync(dir);
  return { key: `${st.dev}:${st.ino}`, dir };
}

function socketName(scope: LockScope, name: string): string {
  return `\0polyarch:${scope.key}:${name}`;
}

/** Binds the abstract name, or answers undefined when another process holds it. */
/** node:net, loaded at the first lock: commands that take none never load it. */
function net(): typeof import('node:net') {
  return process.getBuiltinModule('node:net');
}

function tryBind(path: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net().createServer((conn) => {
      conn.on('error', () => {});
      conn.end(String(process.pid));
    });
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(err);
    };
    server.once('error', onError);
    server.listen({ path, exclusive: true }, () => {
      server.off('error', onError);
      server.on('error', () => {});
      server.unref();
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The pid of a lock's holder (undefined when it cannot be asked). */
function holderPid(path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const c = net().connect({ path });
    let data = '';
    const timer = setTimeout(() => c.destroy(), 1000);
    c.on('data', (d) => {
      data += d;
    });
    c.on('error', () => resolve(undefined));
    c.on('close', () => {
      clearTimeout(timer);
      const pid = Number.parseInt(data, 10);
      resolve(Number.isInteger(pid) ? pid : undefined);
    });
  });
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** give up after this long (default 10 minutes: a GC of a large store can take a while) */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Acquires the named lock of a scope, waiting while another process holds it. */
export async function acquireLock(
  scope: LockScope,
  name: string,
  opts: AcquireOptions = {},
): Promise<HeldLock> {
  const path = socketName(scope, `lock:${name}`);
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  let delay = 2;
  for (;;) {
    if (opts.signal?.aborted) throw new CancelledError(`waiting for the ${name} lock of ${scope.dir}`);
    const server = await tryBind(path);
    if (server) {
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await closeServer(server);
        },
      };
    }
    if (Date.now() >= deadline) {
      const pid = await holderPid(path);
      throw new StoreError(
        `timed out waiting for the ${name} lock of ${scope.dir}${pid ? ` (held by pid ${pid})` : ''}`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

/** Runs `fn` holding the lock. */
export async function withLock<T>(
  scope: LockScope,
  name: string,
  fn: () => Promise<T>,
  opts?: AcquireOptions,
): Promise<T> {
  const lock = await acquireLock(scope, name, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** A name this process keeps bound while it lives; see `isAlive`. */
export interface LivenessToken {
  readonly id: string;
  release(): Promise<void>;
}

/** Binds a fresh liveness token (`<pid>-<random>`). */
export async function createLivenessToken(scope: LockScope): Promise<LivenessToken> {
  for (let i = 0; i < 5; i++) {
    const id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const server = await tryBind(socketName(scope, `live:${id}`));
    if (server) return { id, release: () => closeServer(server) };
  }
  throw new StoreError(`cannot create a liveness token for ${scope.dir}`);
}

/** True while the process that created token `id` runs (and has not released it). */
export async function isAlive(scope: LockScope, id: string): Promise<boolean> {
  const server = await tryBind(socketName(scope, `live:${id}`));
  if (!server) return true;
  await closeServer(server);
  return false;
}
