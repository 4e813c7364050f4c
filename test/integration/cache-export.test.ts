/**
 * `--cache-to` and `--cache-from` (type=local and type=registry, on the real registry at
 * localhost:5000) on polyarch's engine: the cross-compiling seed (../shared/fixtures/
 * seed-hello-xx) built for three platforms on one root with mode=max, then on fresh roots from
 * the cache alone — every step CACHED and the same index digest (also pushed), also for a subset
 * of the platforms — and mode=min, several --cache-from, a registry with basic auth, and each warning (missing cache,
 * another SOURCE_DATE_EPOCH, a layout or a registry ref that holds an image) and ignore-error.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch, steps } from '../helpers/cli.js';
import { ensureBaseImages, fixturesDir, registryHost, tempDir } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registries.js';

const platforms = 'linux/arm,linux/arm64,linux/amd64';
const epoch = '1700000000';
const env = { SOURCE_DATE_EPOCH: epoch };

/** The digest the index.json of an OCI tarball names. */
function ociTop(tar: string): string {
  return JSON.parse(execFileSync('tar', ['-xOf', tar, 'index.json'], { encoding: 'utf8' })).manifests[0]
    .digest;
}

/** The cache description of a local cache. */
function cacheDescription(dir: string): {
  records: { key: string; description: string }[];
  sourceDateEpoch?: number;
} {
  const blob = (d: string) => readFileSync(join(dir, 'blobs/sha256', d.slice('sha256:'.length)), 'utf8');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(blob(index.manifests[0].digest));
  assert.equal(manifest.config.mediaType, 'application/vnd.polyarch.cache.config.v1+json');
  return JSON.parse(blob(manifest.config.digest));
}

function context(dockerfile: string): string {
  const dir = tempDir('polyarch-cache-ctx-');
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

/** The steps that run something (FROM and internal steps are never CACHED). */
const work = /\] (RUN|COPY|ADD|WORKDIR) /;

/** A build on a fresh root that must find every step in the caches it is given; its stderr. */
async function buildFromCache(args: readonly string[], ctx: string): Promise<string> {
  const r = await polyarch(['build', '--progress', 'rawjson', ...args, ctx], {
    root: tempDir('polyarch-cache-fresh-'),
    env,
  });
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const s = steps(r.stderr, work);
  assert.ok(s.length >= 2, `steps reported: ${JSON.stringify(s)}`);
  assert.deepEqual(
    s.filter((x) => !x.cached),
    [],
  );
  return r.stderr;
}

describe('--cache-to / --cache-from type=local', () => {
  const ctx = join(tempDir(), 'seed-hello-xx');
  const out = tempDir('polyarch-cache-out-');
  const cache = join(tempDir(), 'cache');
  let topA = '';

  before(async () => {
    ensureBaseImages();
    const r = await polyarch(['emulators', 'install', 'linux/arm64', 'linux/arm']);
    assert.equal(r.code, 0, r.stderr);
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
    const a = await polyarch(
      [
        'build',
        '--platform',
        platforms,
        '--cache-to',
        `type=local,dest=${cache},mode=max`,
        '-o',
        `type=oci,dest=${join(out, 'a.tar')}`,
        ctx,
      ],
      { root: tempDir('polyarch-cache-a-'), env },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    topA = ociTop(join(out, 'a.tar'));
  });

  test('mode=max records every step of every platform', () => {
    const d = cacheDescription(cache);
    assert.equal(d.sourceDateEpoch, Number(epoch));
    const names = d.records.map((r) => r.description);
    for (const p of ['linux/arm64', 'linux/arm/v7', 'linux/amd64']) {
      assert.ok(
        names.some((n) => n.startsWith(`[${p} stage-1 4/4] COPY`)),
        `${p} final step in ${names}`,
      );
    }
    assert.ok(
      names.some((n) => /builder 5\/6\] RUN go mod init/.test(n)),
      'a builder-stage step',
    );
  });

  test('a fresh root with --cache-from: every step CACHED, the same index digest', async () => {
    const b = join(out, 'b.tar');
    await buildFromCache(
      ['--platform', platforms, '--cache-from', `type=local,src=${cache}`, '-o', `type=oci,dest=${b}`],
      ctx,
    );
    assert.equal(ociTop(b), topA);
  });

  test('a build for a subset of the platforms uses the same cache', async () => {
    await buildFromCache(['--platform', 'linux/arm64', '--cache-from', `type=local,src=${cache}`], ctx);
  });

  test('type=registry: pushed from the same root, then a fresh root with a bare reference and --push: all CACHED, the same index', async () => {
    const ref = `${registryHost}/polyarch-test/cache-${process.pid}:buildcache`;
    const rootA = tempDir('polyarch-cache-ra-');
    // root A's own cache makes this a no-change rebuild; the export pushes every step's layers
    const a = await polyarch(
      [
        'build',
        '-q',
        '--platform',
        platforms,
        '--cache-from',
        `type=local,src=${cache}`,
        '--cache-to',
        `type=registry,ref=${ref},mode=max`,
        ctx,
      ],
      { root: rootA, env },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    const image = `${registryHost}/polyarch-test/cached-${process.pid}:1`;
    const missing = `${registryHost}/polyarch-test/no-such-cache-${process.pid}:x`;
    const stderr = await buildFromCache(
      ['--platform', platforms, '--cache-from', missing, '--cache-from', ref, '--push', '-t', image],
      ctx,
    );
    assert.match(
      stderr,
      new RegExp(`cache type=registry,ref=${missing} not found: ${missing} does not exist`),
    );
    const pushed = execFileSync(
      'curl',
      [
        '-sI',
        '-H',
        'Accept: application/vnd.oci.image.index.v1+json',
        `http://${registryHost}/v2/polyarch-test/cached-${process.pid}/manifests/1`,
      ],
      { encoding: 'utf8' },
    );
    assert.match(pushed, new RegExp(`docker-content-digest: ${topA}`, 'i'));
  });

  test('an image as --cache-from: a warning naming it, the build goes on', async () => {
    const small = context('FROM localhost:5000/busybox:1.35\nRUN echo hi > /hi\n');
    const r = await polyarch(['build', '--cache-from', `${registryHost}/busybox:1.35`, small], {
      root: tempDir(),
      env,
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(
      r.stderr,
      /cache type=registry,ref=localhost:5000\/busybox:1.35 not used: localhost:5000\/busybox:1.35 is application\/vnd\.oci\.image\.index\.v1\+json sha256:[0-9a-f]{64}, not a polyarch cache/,
    );
  });

  test('another SOURCE_DATE_EPOCH: the cache is not used, and a warning says why', async () => {
    const small = context('FROM localhost:5000/busybox:1.35\nRUN echo hi > /hi\n');
    const r = await polyarch(['build', '--cache-from', `type=local,src=${cache}`, small], {
      root: tempDir(),
      env: { SOURCE_DATE_EPOCH: '1' },
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(
      r.stderr,
      new RegExp(
        `cache type=local,src=${cache} not used: it was exported with SOURCE_DATE_EPOCH ${epoch}, this build has 1`,
      ),
    );
  });
});

describe('--cache-to type=local mode=min, warnings, ignore-error', () => {
  const df = 'FROM localhost:5000/busybox:1.35\nRUN echo a > /a\nRUN echo b > /b\n';

  before(() => ensureBaseImages());

  test('mode=min (the default) records the final image only, mode=max every step; a fresh root finds it', async () => {
    const ctx = context(df);
    const cache = join(tempDir(), 'min');
    const rootA = tempDir();
    const a = await polyarch(['build', '--cache-to', `type=local,dest=${cache}`, ctx], { root: rootA });
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    assert.deepEqual(
      cacheDescription(cache).records.map((r) => r.description.replace(/^\[[^\]]*\] /, '')),
      ['RUN echo b > /b'],
    );
    // a no-change rebuild (the top step hits) still exports the steps under it with mode=max
    const max = join(tempDir(), 'max');
    const m = await polyarch(['build', '--cache-to', `type=local,dest=${max},mode=max`, ctx], {
      root: rootA,
    });
    assert.equal(m.code, 0, m.stderr.slice(-3000));
    assert.equal(cacheDescription(max).records.length, 2);
    const b = await polyarch(
      ['build', '--progress', 'rawjson', '--cache-from', `type=local,src=${cache}`, ctx],
      {
        root: tempDir(),
      },
    );
    assert.equal(b.code, 0, b.stderr.slice(-3000));
    assert.deepEqual(
      steps(b.stderr, work).map((s) => s.cached),
      [true, true],
    );
  });

  test('compression=zstd,force-compression=true: every layer of the cache is zstd (the zstd tool reads each as a tar), and a fresh root builds from it', async () => {
    const ctx = context(df);
    const cache = join(tempDir(), 'zstd');
    const a = await polyarch(
      [
        'build',
        '--cache-to',
        `type=local,dest=${cache},mode=max,compression=zstd,force-compression=true`,
        ctx,
      ],
      { root: tempDir(), env },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    const index = JSON.parse(readFileSync(join(cache, 'index.json'), 'utf8'));
    const blobPath = (d: string) => join(cache, 'blobs/sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(readFileSync(blobPath(index.manifests[0].digest), 'utf8'));
    // busybox's own layer too: force-compression recompresses what came as gzip
    assert.ok(manifest.layers.length >= 3, JSON.stringify(manifest.layers));
    for (const l of manifest.layers) {
      assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
      const files = execFileSync('sh', ['-c', `zstd -dc < '${blobPath(l.digest)}' | tar -t`], {
        encoding: 'utf8',
      });
      assert.ok(files.length > 0);
    }
    const names = execFileSync(
      'sh',
      [
        '-c',
        `for f in ${manifest.layers.map((l: { digest: string }) => `'${blobPath(l.digest)}'`).join(' ')}; do zstd -dc < "$f" | tar -t; done`,
      ],
      { encoding: 'utf8' },
    ).split('\n');
    assert.ok(names.includes('a') && names.includes('b'), "the RUN steps' files are in the zstd layers");
    // without force-compression, busybox's gzip layer is written as it came
    const mixed = join(tempDir(), 'mixed');
    const m = await polyarch(['build', '--cache-to', `type=local,dest=${mixed},compression=zstd`, ctx], {
      root: tempDir(),
    });
    assert.equal(m.code, 0, m.stderr.slice(-3000));
    const mIndex = JSON.parse(readFileSync(join(mixed, 'index.json'), 'utf8'));
    const mManifest = JSON.parse(
      readFileSync(join(mixed, 'blobs/sha256', mIndex.manifests[0].digest.slice('sha256:'.length)), 'utf8'),
    );
    assert.deepEqual(
      mManifest.layers.map((l: { mediaType: string }) =>
        l.mediaType.replace('application/vnd.oci.image.layer.v1.', ''),
      ),
      ['tar+gzip', 'tar+zstd', 'tar+zstd'],
    );
    // a fresh root builds from it alone, and its image (with the cache's zstd layers, taken as
    // they are) is read by skopeo
    const tar = join(tempDir(), 'from-zstd.tar');
    await buildFromCache(['--cache-from', `type=local,src=${cache}`, '-o', `type=oci,dest=${tar}`], ctx);
    // skopeo copies it blob by blob, checking each against its digest
    const copied = join(tempDir(), 'copied');
    execFileSync('skopeo', ['copy', '-q', `oci-archive:${tar}`, `dir:${copied}`]);
    const seen = JSON.parse(readFileSync(join(copied, 'manifest.json'), 'utf8'));
    assert.deepEqual(
      seen.layers.map((l: { mediaType: string }) => l.mediaType),
      manifest.layers.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'),
    );
  });

  test('type=registry,compression=zstd: the pushed cache manifest names zstd layers, and a fresh root builds from it', async () => {
    const ctx = context(df);
    const ref = `${registryHost}/polyarch-test/zcache-${process.pid}:cache`;
    const a = await polyarch(
      ['build', '--cache-to', `type=registry,ref=${ref},mode=max,compression=zstd,compression-level=5`, ctx],
      { root: tempDir(), env },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
      encoding: 'utf8',
    });
    const types = (JSON.parse(raw).layers as { mediaType: string }[]).map((l) =>
      l.mediaType.replace('application/vnd.oci.image.layer.v1.', ''),
    );
    assert.deepEqual(
      types,
      ['tar+gzip', 'tar+zstd', 'tar+zstd'],
      'busybox as it came, the two RUN layers zstd',
    );
    await buildFromCache(['--cache-from', ref], ctx);
  });

  test('a missing cache is a warning and the build goes on cold; so is a layout that holds an image', async () => {
    const ctx = context(df);
    const missing = join(tempDir(), 'nothing-here');
    const image = tempDir('polyarch-cache-image-');
    const root = tempDir();
    const a = await polyarch(
      ['build', '--cache-from', `type=local,src=${missing}`, '-o', `type=oci,dest=${image},tar=false`, ctx],
      { root },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    assert.match(a.stderr, new RegExp(`cache type=local,src=${missing} not found`));
    const b = await polyarch(['build', '--cache-from', `type=local,src=${image}`, ctx], { root: tempDir() });
    assert.equal(b.code, 0, b.stderr.slice(-3000));
    assert.match(
      b.stderr,
      new RegExp(
        `cache type=local,src=${image} not used: it holds application/vnd.oci.image.manifest.v1\\+json sha256:[0-9a-f]{64}, not a polyarch cache`,
      ),
    );
  });

  test('a dest that is not a directory is refused before the build; with ignore-error=true the export warns', async () => {
    const ctx = context(df);
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const root = tempDir();
    const a = await polyarch(['build', '--cache-to', `type=local,dest=${file}`, ctx], { root });
    assert.equal(a.code, 1);
    assert.match(a.stderr, /--cache-to type=local,dest=.*a-file: .*a-file is not a directory/);
    assert.doesNotMatch(a.stderr, /RUN echo/, 'nothing built');
    const b = await polyarch(['build', '--cache-to', `type=local,dest=${file},ignore-error=true`, ctx], {
      root,
    });
    assert.equal(b.code, 0, b.stderr.slice(-3000));
    assert.match(b.stderr, /exporting cache type=local,dest=.*a-file,ignore-error=true: /);
  });
});

describe('--cache-to type=inline', () => {
  before(() => ensureBaseImages());

  test('the pushed image carries its cache; a fresh root building from it pushes the same index', async () => {
    const ctx = context('FROM localhost:5000/busybox:1.35\nRUN echo inline > /inline\nRUN echo two > /two\n');
    const repo = `${registryHost}/polyarch-test/inline-${process.pid}`;
    const two = 'linux/amd64,linux/arm64';
    const a = await polyarch(
      ['build', '--platform', two, '--cache-to', 'type=inline', '--push', '-t', `${repo}:1`, ctx],
      {
        root: tempDir(),
        env,
      },
    );
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    await buildFromCache(
      [
        '--platform',
        two,
        '--cache-from',
        `${repo}:1`,
        '--cache-to',
        'type=inline',
        '--push',
        '-t',
        `${repo}:2`,
      ],
      ctx,
    );
    const digest = (tag: string) =>
      execFileSync(
        'curl',
        [
          '-sI',
          '-H',
          'Accept: application/vnd.oci.image.index.v1+json',
          `http://${registryHost}/v2/polyarch-test/inline-${process.pid}/manifests/${tag}`,
        ],
        { encoding: 'utf8' },
      ).match(/docker-content-digest: (\S+)/i)?.[1];
    assert.ok(digest('1'));
    assert.equal(digest('2'), digest('1'));
  });
});

describe('--cache-to / --cache-from type=registry with basic auth', () => {
  let reg: TestRegistry;
  const home = tempDir('polyarch-cache-auth-');
  const password = 'cache-secret-1';
  const df = 'FROM localhost:5000/busybox:1.35\nRUN echo auth > /auth\n';
  const withCreds = { DOCKER_CONFIG: join(home, 'docker'), HOME: home };
  const noCreds = { DOCKER_CONFIG: join(home, 'empty'), HOME: home };

  before(async () => {
    ensureBaseImages();
    reg = await startRegistry({ kind: 'htpasswd', users: { alice: password } });
    mkdirSync(join(home, 'docker'), { recursive: true });
    writeFileSync(
      join(home, 'docker', 'config.json'),
      JSON.stringify({
        auths: { [reg.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } },
      }),
    );
  });
  after(() => reg?.stop());

  test('credentials from config.json push and pull the cache; without them: an error before the build, a warning with ignore-error, a warning for --cache-from', async () => {
    const ctx = context(df);
    const ref = `${reg.host}/app:buildcache`;
    const a = await polyarch(['build', '--cache-to', `type=registry,ref=${ref}`, ctx], {
      root: tempDir(),
      env: withCreds,
    });
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    const b = await polyarch(['build', '--progress', 'rawjson', '--cache-from', ref, ctx], {
      root: tempDir(),
      env: withCreds,
    });
    assert.equal(b.code, 0, b.stderr.slice(-3000));
    assert.deepEqual(
      steps(b.stderr, work).map((s) => s.cached),
      [true],
    );

    const root = tempDir();
    const denied = await polyarch(['build', '--cache-to', `type=registry,ref=${ref}`, ctx], {
      root,
      env: noCreds,
    });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, new RegExp(reg.host));
    assert.doesNotMatch(denied.stderr, /RUN echo auth/, 'refused before the build');
    const ignored = await polyarch(
      ['build', '--cache-to', `type=registry,ref=${ref},ignore-error=true`, ctx],
      {
        root,
        env: noCreds,
      },
    );
    assert.equal(ignored.code, 0, ignored.stderr.slice(-3000));
    assert.match(ignored.stderr, /exporting cache type=registry,ref=.*,ignore-error=true: /);
    const from = await polyarch(['build', '--cache-from', ref, ctx], { root: tempDir(), env: noCreds });
    assert.equal(from.code, 0, from.stderr.slice(-3000));
    assert.match(from.stderr, new RegExp(`cache type=registry,ref=${ref} not used: `));
  });
});
