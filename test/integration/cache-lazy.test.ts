/**
 * Laziness of `--cache-from` (the real registry at localhost:5000, behind a proxy that logs
 * every request): a fresh root that finds every step in an imported cache fetches no layer an
 * output does not need. `--push` to the same registry mounts the layers from the cache
 * repository (no layer GET) and pushes the exporting build's index digest; a `type=local`
 * cache's blobs are uploaded from the cache directory; the local store (`-t` without `--push`)
 * gets the layers, and the image runs.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch, steps } from '../helpers/cli.js';
import { ensureBaseImages, fixturesDir, tempDir } from '../helpers/fixtures.js';
import { startProxy, type TestProxy } from '../helpers/registries.js';

const platforms = 'linux/arm64,linux/amd64';
const env = { SOURCE_DATE_EPOCH: '1700000000' };
const work = /\] (RUN|COPY|ADD|WORKDIR) /;

/** The image digest a build wrote to its `--metadata-file`. */
function digestIn(file: string): string {
  return JSON.parse(readFileSync(file, 'utf8'))['containerimage.digest'];
}

/** A registry response through the proxy (fetch: the proxy runs in this process's event loop). */
async function registryGet(host: string, path: string, accept: string): Promise<Response> {
  const res = await fetch(`http://${host}${path}`, { headers: { accept } });
  assert.equal(res.status, 200, `GET ${path}`);
  return res;
}

describe('--cache-from is lazy: only what an output needs is fetched', () => {
  const ctx = join(tempDir(), 'seed-hello-xx');
  const localCache = join(tempDir(), 'cache');
  const repo = `polyarch-lazy-${process.pid}`;
  let proxy: TestProxy;
  let cacheRef = '';
  let topA = '';
  /** every layer blob the registry cache names */
  let layers: string[] = [];

  /** The proxy's log since `from`: GETs of the cache's layer blobs, and the mounts and uploads. */
  const traffic = (from: number) => {
    const log = proxy.log.slice(from);
    return {
      layerGets: log.filter((l) => l.startsWith('GET ') && layers.some((d) => l.includes(`/blobs/${d}`))),
      mounts: log.filter((l) => l.startsWith('POST ') && l.includes('mount=')),
      layerUploads: log.filter(
        (l) =>
          l.startsWith('PUT ') &&
          l.includes('/blobs/uploads/') &&
          layers.some((d) => l.includes(`digest=${d.replace(':', '%3A')}`)),
      ),
    };
  };

  /** A build on a fresh root that must find every step in its caches; its metadata file. */
  const fromCache = async (args: readonly string[], root = tempDir('polyarch-lazy-fresh-')) => {
    const meta = join(tempDir(), 'meta.json');
    const r = await polyarch(
      ['build', '--progress', 'rawjson', '--metadata-file', meta, '--platform', platforms, ...args, ctx],
      { root, env },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const s = steps(r.stderr, work);
    assert.ok(s.length >= 2, `steps reported: ${JSON.stringify(s)}`);
    assert.deepEqual(
      s.filter((x) => !x.cached),
      [],
    );
    return meta;
  };

  before(async () => {
    ensureBaseImages();
    const e = await polyarch(['emulators', 'install', 'linux/arm64']);
    assert.equal(e.code, 0, e.stderr);
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
    proxy = await startProxy('127.0.0.1:5000');
    cacheRef = `${proxy.host}/${repo}/cache:buildcache`;
    const meta = join(tempDir(), 'meta.json');
    const a = await polyarch(
      [
        'build',
        '--platform',
        platforms,
        '--cache-to',
        `type=registry,ref=${cacheRef},mode=max`,
        '--cache-to',
        `type=local,dest=${localCache},mode=max`,
        '--push',
        '-t',
        `${proxy.host}/${repo}/app:a`,
        '--metadata-file',
        meta,
        ctx,
      ],
      { root: tempDir('polyarch-lazy-a-'), env },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    topA = digestIn(meta);
    const res = await registryGet(
      proxy.host,
      `/v2/${repo}/cache/manifests/buildcache`,
      'application/vnd.oci.image.manifest.v1+json',
    );
    const m = (await res.json()) as { layers: { digest: string }[] };
    layers = m.layers.map((l) => l.digest);
    assert.ok(layers.length >= 4, `cache layers: ${layers}`);
  });

  after(async () => {
    await proxy?.stop();
  });

  test('type=registry + --push to the same registry: no layer GET, layers mounted, the same index digest', async () => {
    const from = proxy.log.length;
    const meta = await fromCache([
      '--cache-from',
      cacheRef,
      '--push',
      '-t',
      `${proxy.host}/${repo}/pushed:b`,
    ]);
    assert.equal(digestIn(meta), topA);
    const t = traffic(from);
    assert.deepEqual(t.layerGets, []);
    assert.ok(t.mounts.length > 0, `mounts: ${proxy.log.slice(from).join('\n')}`);
    assert.deepEqual(t.layerUploads, [], 'no layer is uploaded: all are mounted');
    const pushed = await registryGet(
      proxy.host,
      `/v2/${repo}/pushed/manifests/b`,
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(pushed.headers.get('docker-content-digest'), topA);
  });

  test('type=local + --push: the blobs are uploaded from the cache directory, none fetched', async () => {
    const from = proxy.log.length;
    const meta = await fromCache([
      '--cache-from',
      `type=local,src=${localCache}`,
      '--push',
      '-t',
      `${proxy.host}/${repo}/fromdir:c`,
    ]);
    assert.equal(digestIn(meta), topA);
    const t = traffic(from);
    assert.deepEqual(t.layerGets, []);
    assert.ok(t.layerUploads.length > 0, 'the layers went up from the directory');
  });

  test('the local store (-t without --push): the layers are fetched, and the image runs', async () => {
    const root = tempDir('polyarch-lazy-store-');
    const from = proxy.log.length;
    const meta = await fromCache(['--cache-from', cacheRef, '-t', 'lazy-local:1'], root);
    assert.equal(digestIn(meta), topA);
    const t = traffic(from);
    assert.ok(t.layerGets.length > 0, 'the final images’ layers were fetched');
    const run = await polyarch(['run', '--rm', '--platform', 'linux/amd64', 'lazy-local:1'], { root });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Hello, amd64!');
  });

  test('a step that really runs fetches the chain under it; steps under the hit are not fetched', async () => {
    const root = tempDir('polyarch-lazy-edit-');
    // the Dockerfile is in the context (ADD . reads it): the edited one lives elsewhere (-f)
    const edited = join(tempDir(), 'Dockerfile.edited');
    const df = readFileSync(join(ctx, 'Dockerfile'), 'utf8').replace(
      'CMD ["./hello"]',
      'RUN ./hello > /hi\nCMD ["./hello"]',
    );
    writeFileSync(edited, df);
    const from = proxy.log.length;
    const r = await polyarch(
      [
        'build',
        '--progress',
        'rawjson',
        '--platform',
        'linux/amd64',
        '--cache-from',
        cacheRef,
        '-f',
        edited,
        ctx,
      ],
      { root, env },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const s = steps(r.stderr, work);
    assert.deepEqual(
      s.filter((x) => !x.cached).map((x) => x.name.replace(/^\[[^\]]*\] /, '')),
      ['RUN ./hello > /hi'],
    );
    // the final stage's chain (busybox + 3 steps) is fetched; the builder stage's go layers are not
    const got = traffic(from).layerGets.length;
    assert.ok(got > 0 && got <= 4, `layer GETs: ${traffic(from).layerGets.join('\n')}`);
  });
});
