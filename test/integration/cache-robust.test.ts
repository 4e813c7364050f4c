/**
 * `--cache-to` cut short by kill -9 leaves no half-written ref, and caches through a registry
 * with token auth. The kill lands at the worst moment, every blob written but not the ref:
 * `type=registry` while the manifest PUT is being retried (a proxy in front of the real
 * registry answers it 503), `type=local` while `oci-layout` (written just before `index.json`)
 * is a FIFO that nobody reads. The old cache must still be the one named, and whole.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch, steps } from '../helpers/cli.js';
import { ensureBaseImages, polyarchBin, registryHost, tempDir } from '../helpers/fixtures.js';
import {
  startProxy,
  startRegistry,
  startTokenServer,
  type TestProxy,
  type TestRegistry,
  type TokenServer,
} from '../helpers/registries.js';

const work = /\] (RUN|COPY|ADD|WORKDIR) /;

function context(dockerfile: string): string {
  const dir = tempDir('polyarch-cache-robust-ctx-');
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

const v1 = context('FROM localhost:5000/busybox:1.35\nRUN echo one > /one\n');
const v2 = context('FROM localhost:5000/busybox:1.35\nRUN echo one > /one\nRUN echo two > /two\n');

/** A build on a fresh root that finds every step in `cacheFrom`. */
async function allCached(ctx: string, cacheFrom: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await polyarch(['build', '--progress', 'rawjson', '--cache-from', cacheFrom, ctx], {
    root: tempDir(),
    env,
  });
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const s = steps(r.stderr, work);
  assert.ok(s.length > 0);
  assert.deepEqual(
    s.filter((x) => !x.cached),
    [],
  );
}

/** Starts a build; kills it with SIGKILL once `ready()` holds; answers its exit signal. */
async function killWhen(args: readonly string[], ready: () => boolean): Promise<NodeJS.Signals | null> {
  const child = spawn(polyarchBin, [...args], {
    env: { ...process.env, POLYARCH_ROOT: tempDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  const deadline = Date.now() + 120_000;
  while (!ready()) {
    if (child.exitCode !== null) throw new Error(`the build ended before the kill: ${stderr.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`never ready: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  return exited;
}

describe('kill -9 during a cache export', () => {
  let proxy: TestProxy;

  before(async () => {
    ensureBaseImages();
    proxy = await startProxy(registryHost);
  });
  after(async () => {
    await proxy?.stop();
  });

  test('type=registry: the tag still names the previous cache, which still works', async () => {
    const repo = `polyarch-robust-${process.pid}/cache`;
    const ref = `${proxy.host}/${repo}:buildcache`;
    const first = await polyarch(['build', '--cache-to', `type=registry,ref=${ref},mode=max`, v1], {
      root: tempDir(),
    });
    assert.equal(first.code, 0, first.stderr.slice(-3000));
    const tagged = async () =>
      (
        await fetch(`http://${proxy.host}/v2/${repo}/manifests/buildcache`, {
          method: 'HEAD',
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).headers.get('docker-content-digest');
    const before = await tagged();
    assert.ok(before);
    const rule = {
      match: new RegExp(`^/v2/${repo}/manifests/buildcache$`),
      method: 'PUT',
      fail: { status: 503, times: 1000 },
      hits: 0,
    };
    proxy.rules.push(rule);
    const uploadsBefore = proxy.log.filter(
      (l) => l.startsWith('PUT ') && l.includes('/blobs/uploads/'),
    ).length;
    try {
      const sig = await killWhen(
        ['build', '--cache-to', `type=registry,ref=${ref},mode=max`, v2],
        () => (rule.hits ?? 0) > 0,
      );
      assert.equal(sig, 'SIGKILL');
    } finally {
      proxy.rules.splice(proxy.rules.indexOf(rule), 1);
    }
    const uploads = proxy.log.filter((l) => l.startsWith('PUT ') && l.includes('/blobs/uploads/')).length;
    assert.ok(uploads > uploadsBefore, 'killed after the new blobs went up');
    assert.equal(await tagged(), before);
    await allCached(v1, ref);
    // the next export goes through and names the new cache
    const again = await polyarch(['build', '--cache-to', `type=registry,ref=${ref},mode=max`, v2], {
      root: tempDir(),
    });
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    assert.notEqual(await tagged(), before);
    await allCached(v2, ref);
  });

  test('type=local: index.json is the previous one, which still works', async () => {
    const dest = join(tempDir(), 'cache');
    const first = await polyarch(['build', '--cache-to', `type=local,dest=${dest},mode=max`, v1], {
      root: tempDir(),
    });
    assert.equal(first.code, 0, first.stderr.slice(-3000));
    const index = readFileSync(join(dest, 'index.json'));
    const layout = join(dest, 'oci-layout');
    rmSync(layout);
    const fifo = spawn('mkfifo', [layout]);
    await new Promise((r) => fifo.on('exit', r));
    const blobs = () => readdirCount(join(dest, 'blobs', 'sha256'));
    const blobsBefore = blobs();
    const sig = await killWhen(
      ['build', '--cache-to', `type=local,dest=${dest},mode=max`, v2],
      // every blob is written once the export blocks on the FIFO just before index.json
      () => blobs() >= blobsBefore + 3,
    );
    assert.equal(sig, 'SIGKILL');
    assert.deepEqual(readFileSync(join(dest, 'index.json')), index);
    await allCached(v1, `type=local,src=${dest}`);
    rmSync(layout);
    const again = await polyarch(['build', '--cache-to', `type=local,dest=${dest},mode=max`, v2], {
      root: tempDir(),
    });
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    assert.notDeepEqual(readFileSync(join(dest, 'index.json')), index);
    await allCached(v2, `type=local,src=${dest}`);
  });
});

function readdirCount(dir: string): number {
  try {
    return readdirSync(dir).filter((n) => !n.includes('.tmp') && !n.startsWith('.')).length;
  } catch {
    return 0;
  }
}

describe('--cache-to / --cache-from type=registry with token auth', () => {
  let tokens: TokenServer;
  let reg: TestRegistry;
  const home = tempDir('polyarch-cache-token-');
  const password = 'cache-token-secret';
  const withCreds = { DOCKER_CONFIG: join(home, 'docker'), HOME: home };

  before(async () => {
    ensureBaseImages();
    tokens = await startTokenServer({ carol: password });
    reg = await startRegistry({ kind: 'token', tokenServer: tokens });
    mkdirSync(join(home, 'docker'), { recursive: true });
    writeFileSync(
      join(home, 'docker', 'config.json'),
      JSON.stringify({
        auths: { [reg.host]: { auth: Buffer.from(`carol:${password}`).toString('base64') } },
      }),
    );
  });
  after(async () => {
    await reg?.stop();
    await tokens?.stop();
  });

  test('the cache is pushed and read with tokens; a fresh root pushes from it to another repository', async () => {
    const ref = `${reg.host}/team/app:buildcache`;
    const a = await polyarch(['build', '--cache-to', `type=registry,ref=${ref},mode=max`, v2], {
      root: tempDir(),
      env: withCreds,
    });
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    await allCached(v2, ref, withCreds);
    tokens.requests.length = 0;
    const b = await polyarch(
      ['build', '--progress', 'rawjson', '--cache-from', ref, '--push', '-t', `${reg.host}/team/image:1`, v2],
      { root: tempDir(), env: withCreds },
    );
    assert.equal(b.code, 0, b.stderr.slice(-3000));
    assert.deepEqual(
      steps(b.stderr, work).filter((x) => !x.cached),
      [],
    );
    // the layers are mounted from the cache's repository: its pull scope is asked for
    assert.match(JSON.stringify(tokens.requests), /repository:team\/app:pull/);
    assert.match(JSON.stringify(tokens.requests), /repository:team\/image:[a-z,]*push/);
  });
});
