/**
 * Registry and Docker outputs of `polyarch build`, checked with independent tools: the
 * cross-compiling seed (../shared/fixtures/seed-hello-xx) pushed for three platforms and read
 * by skopeo, pulled and run per platform by a real Docker engine (Debian's docker.io, started
 * privately here), `type=docker` archives taken by `docker load`, `--load=docker` through the
 * Engine API, blobs shared by several platforms uploaded once (counted by a proxy), and the
 * failures (no credentials, no engine, a classic engine for several platforms) refused before
 * the build with the store left as it was.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { type Dockerd, startDockerd } from '../helpers/dockerd.js';
import { ensureBaseImages, fixturesDir, tempDir } from '../helpers/fixtures.js';
import { startProxy, startRegistry } from '../helpers/registries.js';

const platforms = 'linux/arm,linux/arm64,linux/amd64';
const epoch = '1700000000';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const rawManifest = (ref: string) =>
  execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    maxBuffer: 16 << 20,
  });
/** skopeo without blocking this process (where a proxy in it must answer). */
const rawManifestAsync = (ref: string) =>
  new Promise<string>((resolve, reject) =>
    execFile('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );

describe('push and Docker outputs', () => {
  const root = tempDir('polyarch-push-docker-');
  const ctx = join(tempDir(), 'seed-hello-xx');
  // no credentials of the user's; no Docker engine unless a test points at one
  const env = {
    POLYARCH_ROOT: root,
    SOURCE_DATE_EPOCH: epoch,
    DOCKER_CONFIG: tempDir('polyarch-push-docker-config-'),
    DOCKER_HOST: 'unix:///nonexistent/docker.sock',
  };
  const build = (args: readonly string[], opts: { platforms?: string; env?: NodeJS.ProcessEnv } = {}) =>
    polyarch(['build', '--progress', 'plain', '--platform', opts.platforms ?? platforms, ...args, ctx], {
      env: { ...env, ...opts.env },
    });
  const storeIndex = () => readFileSync(join(root, 'content', 'index.json'));
  let dockerd: Dockerd;

  before(async () => {
    ensureBaseImages();
    const r = await polyarch(['emulators', 'install', 'linux/arm64', 'linux/arm']);
    assert.equal(r.code, 0, r.stderr);
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
    dockerd = await startDockerd();
  });
  after(async () => {
    await dockerd?.stop();
  });

  test('--push: three platforms and their index; Docker pulls and runs each platform', async () => {
    const name = 'localhost:5000/hello-go-arch';
    const r = await build(['-t', name, '--push']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /pushing layers/);
    const pushed =
      /pushing manifest for localhost:5000\/hello-go-arch:latest@(sha256:[0-9a-f]{64}) done/.exec(r.stderr);
    assert.ok(pushed, r.stderr.slice(-2000));
    const raw = rawManifest(name);
    assert.equal(sha(raw), pushed[1], 'the printed digest is the pushed index');
    const index = JSON.parse(raw.toString());
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m: { mediaType: string; platform: Record<string, string> }) => [
        m.mediaType,
        m.platform.os,
        m.platform.architecture,
        m.platform.variant ?? '',
      ]),
      [
        ['application/vnd.oci.image.manifest.v1+json', 'linux', 'arm', 'v7'],
        ['application/vnd.oci.image.manifest.v1+json', 'linux', 'arm64', ''],
        ['application/vnd.oci.image.manifest.v1+json', 'linux', 'amd64', ''],
      ],
    );
    for (const [platform, greeting] of [
      ['linux/arm64', 'Hello, arm64!'],
      ['linux/arm', 'Hello, arm!'],
    ] as const) {
      const pull = await dockerd.docker(['pull', '--platform', platform, name]);
      assert.equal(pull.code, 0, pull.stderr);
      const run = await dockerd.docker(['run', '--rm', '--network', 'none', '--platform', platform, name]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), greeting, platform);
    }
  });

  test('oci-mediatypes=false pushes a manifest list of Docker schema 2 manifests', async () => {
    const name = 'localhost:5000/hello-go-arch:docker-types';
    const r = await build(['-o', `type=image,name=${name},push=true,oci-mediatypes=false`]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const index = JSON.parse(rawManifest(name).toString());
    assert.equal(index.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.equal(index.manifests.length, 3);
    for (const m of index.manifests) {
      assert.equal(m.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
      const manifest = JSON.parse(rawManifest(`localhost:5000/hello-go-arch@${m.digest}`).toString());
      assert.equal(manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
      for (const l of manifest.layers)
        assert.equal(l.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    }
  });

  test('push-by-digest=true pushes the index under its digest only', async () => {
    const repo = 'localhost:5000/hello-go-arch-by-digest';
    const r = await build(['-o', `type=image,name=${repo}:not-a-tag,push=true,push-by-digest=true`]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const pushed =
      /pushing manifest for localhost:5000\/hello-go-arch-by-digest@(sha256:[0-9a-f]{64}) done/.exec(
        r.stderr,
      );
    assert.ok(pushed, r.stderr.slice(-2000));
    assert.equal(sha(rawManifest(`${repo}@${pushed[1]}`)), pushed[1]);
    assert.throws(() => rawManifest(`${repo}:not-a-tag`), 'no tag was pushed');
  });

  test('blobs shared by several platforms are uploaded once', async () => {
    const registry = await startRegistry();
    const proxy = await startProxy(registry.host);
    try {
      const name = `${proxy.host}/shared/hello`;
      const r = await build(['-t', name, '-t', `${name}:second`, '--push']);
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const index = JSON.parse(await rawManifestAsync(name));
      const layerUse = new Map<string, number>();
      for (const m of index.manifests) {
        const manifest = JSON.parse(await rawManifestAsync(`${name}@${m.digest}`));
        for (const l of manifest.layers) layerUse.set(l.digest, (layerUse.get(l.digest) ?? 0) + 1);
      }
      const shared = [...layerUse].filter(([, n]) => n > 1).map(([d]) => d);
      assert.ok(
        shared.length >= 1,
        'SOURCE_DATE_EPOCH makes the `RUN mkdir /app` layer the same on all three',
      );
      const uploads = (digest: string) =>
        proxy.log.filter((l) => /^(PUT|POST) /.test(l) && decodeURIComponent(l).includes(`digest=${digest}`))
          .length;
      for (const d of layerUse.keys()) assert.equal(uploads(d), 1, `${d} uploaded once`);
    } finally {
      await proxy.stop();
      await registry.stop();
    }
  });

  test('a push without credentials fails before the build, and the store keeps its names', async () => {
    const registry = await startRegistry({ kind: 'htpasswd', users: { alice: 'wonderland' } });
    try {
      const before = storeIndex();
      const r = await build(['-t', `${registry.host}/private/hello`, '--push']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /requires authentication; log in with `polyarch login 127\.0\.0\.1:\d+`/);
      assert.equal(r.stderr.match(/ERROR/g)?.length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /CACHED|exporting/, 'nothing built');
      assert.deepEqual(storeIndex(), before);
    } finally {
      await registry.stop();
    }
  });

  test('type=docker archives: docker load takes them (one platform, and three with the host platform named)', async () => {
    const out = tempDir('polyarch-docker-archive-');
    const one = join(out, 'arm64.tar');
    const r = await build(['-o', `type=docker,dest=${one},name=hello-archive:arm64`], {
      platforms: 'linux/arm64',
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const load = await dockerd.docker(['load', '-i', one]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: hello-archive:arm64/);
    const run = await dockerd.docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--platform',
      'linux/arm64',
      'hello-archive:arm64',
    ]);
    assert.equal(run.stdout.trim(), 'Hello, arm64!', run.stderr);

    const three = join(out, 'three.tar');
    const m = await build(['-o', `type=docker,dest=${three},name=hello-archive:multi`]);
    assert.equal(m.code, 0, m.stderr.slice(-3000));
    const manifestJSON = JSON.parse(
      execFileSync('tar', ['-xOf', three, 'manifest.json'], { encoding: 'utf8' }),
    );
    assert.deepEqual(manifestJSON[0].RepoTags, ['hello-archive:multi']);
    const loadMulti = await dockerd.docker(['load', '-i', three]);
    assert.equal(loadMulti.code, 0, loadMulti.stderr);
    const runMulti = await dockerd.docker(['run', '--rm', '--network', 'none', 'hello-archive:multi']);
    assert.equal(runMulti.stdout.trim(), 'Hello, amd64!', runMulti.stderr);
  });

  test('--load=docker loads into the engine of DOCKER_HOST, and the local store', async () => {
    const r = await build(['-t', 'hello-loaded:arm64', '--load=docker'], {
      platforms: 'linux/arm64',
      env: { DOCKER_HOST: dockerd.host },
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /importing to docker/);
    const inspect = await dockerd.docker([
      'image',
      'inspect',
      '--format',
      '{{.Architecture}}',
      'hello-loaded:arm64',
    ]);
    assert.equal(inspect.stdout.trim(), 'arm64', inspect.stderr);
    const run = await dockerd.docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--platform',
      'linux/arm64',
      'hello-loaded:arm64',
    ]);
    assert.equal(run.stdout.trim(), 'Hello, arm64!', run.stderr);
    const local = await polyarch(['run', '--rm', '--platform', 'linux/arm64', 'hello-loaded:arm64'], { env });
    assert.equal(local.stdout.trim(), 'Hello, arm64!', local.stderr);
  });

  test('--load=docker failures: no engine, or a classic engine for three platforms; store unchanged', async () => {
    const before = storeIndex();
    const none = await build(['-t', 'hello-not-loaded', '--load=docker']);
    assert.notEqual(none.code, 0);
    assert.match(
      none.stderr,
      /--load=docker: no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock/,
    );
    assert.equal(none.stderr.match(/ERROR/g)?.length, 1, none.stderr);
    assert.doesNotMatch(none.stderr, /CACHED|exporting/);
    assert.deepEqual(storeIndex(), before);

    const classic = await build(['-t', 'hello-not-loaded', '--load=docker'], {
      env: { DOCKER_HOST: dockerd.host },
    });
    assert.notEqual(classic.code, 0);
    assert.match(classic.stderr, /cannot load a 3-platform image; build one platform for it with --platform/);
    assert.doesNotMatch(classic.stderr, /CACHED|exporting/);
    assert.deepEqual(storeIndex(), before);

    // plain --load with that engine: the local store takes all three, Docker is skipped with a warning
    const auto = await build(['-t', 'hello-local-only', '--load'], { env: { DOCKER_HOST: dockerd.host } });
    assert.equal(auto.code, 0, auto.stderr.slice(-3000));
    assert.match(auto.stderr, /WARNING: --load: the Docker engine .* keeps one platform per image/);
    assert.match(auto.stderr, /naming to docker\.io\/library\/hello-local-only:latest/);
  });
});
