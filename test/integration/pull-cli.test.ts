/**
 * `polyarch pull` end to end: every platform of the fixture busybox checked against skopeo's
 * view of the registry, bad input (one clear message, store unchanged), and a `kill -9` in the
 * middle of a pull.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadImage, openContentStore } from '../../src/content/index.js';
import type { ImageConfig, ImageManifest } from '../../src/oci/types.js';
import { formatPlatform, formatPlatformRaw, parsePlatform } from '../../src/platforms/index.js';
import { ensureBaseImages, polyarchBin, tempDir } from '../helpers/fixtures.js';
import { runPolyarch, startProxy, type TestProxy } from '../helpers/registries.js';

const busybox = 'localhost:5000/busybox:1.35';
const platforms = [
  'linux/amd64',
  'linux/arm64/v8',
  'linux/arm/v7',
  'linux/arm/v5',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
];

interface SkopeoView {
  Architecture: string;
  Layers: string[];
  variant: string | undefined;
}

function skopeoView(platform: string): SkopeoView {
  const p = parsePlatform(platform);
  const args = ['--tls-verify=false', '--override-os', p.os, '--override-arch', p.architecture];
  if (platform.split('/')[2]) args.push('--override-variant', platform.split('/')[2]!);
  const inspect = JSON.parse(
    execFileSync('skopeo', ['inspect', ...args, `docker://${busybox}`], { encoding: 'utf8' }),
  );
  const config = JSON.parse(
    execFileSync('skopeo', ['inspect', '--config', ...args, `docker://${busybox}`], { encoding: 'utf8' }),
  );
  return { Architecture: inspect.Architecture, Layers: inspect.Layers, variant: config.variant };
}

function storeState(root: string): string {
  const content = join(root, 'content');
  if (!existsSync(content)) return '<no store>';
  const blobs = readdirSync(join(content, 'blobs', 'sha256')).sort();
  return `${readFileSync(join(content, 'index.json'), 'utf8')}\n${blobs.join('\n')}`;
}

describe('polyarch pull', () => {
  const root = tempDir('polyarch-pull-cli-');
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: join(root, 'docker') };
  before(() => ensureBaseImages());

  for (const platform of platforms) {
    test(`${busybox} for ${platform} matches skopeo's view`, async () => {
      const r = await runPolyarch(['pull', '--platform', platform, busybox], { env });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], '1.35: Pulling from busybox');
      assert.match(lines.at(-3)!, /^Digest: sha256:[0-9a-f]{64}$/);
      assert.equal(lines.at(-1), busybox);

      const view = skopeoView(platform);
      const store = await openContentStore(join(root, 'content'));
      try {
        const rec = await store.getName(busybox);
        assert.ok(rec);
        const img = await loadImage(store, rec.target, busybox);
        const mine = img.manifests.find(
          (m) => m.platform && formatPlatform(m.platform) === formatPlatform(parsePlatform(platform)),
        );
        assert.ok(mine?.complete, `the ${platform} manifest and its blobs are in the store`);
        assert.equal(formatPlatformRaw(mine.descriptor.platform!), platform);
        const manifest = JSON.parse(
          (await store.readBlob(mine.descriptor.digest)).toString(),
        ) as ImageManifest;
        assert.deepEqual(
          manifest.layers.map((l) => l.digest),
          view.Layers,
        );
        for (const l of manifest.layers) assert.ok(await store.has(l.digest));
        const config = JSON.parse((await store.readBlob(manifest.config.digest)).toString()) as ImageConfig;
        assert.equal(config.architecture, view.Architecture);
        assert.equal(config.variant, view.variant);
        assert.match(
          r.stdout,
          new RegExp(`^${manifest.layers[0]!.digest.slice(7, 19)}: (Pull complete|Already exists)$`, 'm'),
        );
      } finally {
        await store.close();
      }
    });
  }

  test('images lists all seven platforms; a second pull is up to date', async () => {
    const r = await runPolyarch(['images', '--format', 'json'], { env });
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const row = rows.find((x) => x.Name === busybox);
    assert.deepEqual(row.Platforms, [
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
      'linux/arm/v5',
      'linux/386',
      'linux/ppc64le',
      'linux/s390x',
    ]);
    const again = await runPolyarch(['pull', '--all-platforms', busybox], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Status: Image is up to date for localhost:5000\/busybox:1\.35/);
    assert.ok(!again.stdout.includes('Pull complete'));
    const check = await openContentStore(join(root, 'content'));
    assert.deepEqual(await check.check(), { ok: true, problems: [], leftovers: [] });
    await check.close();
  });

  describe('bad input: one clear message, the store unchanged', () => {
    const cases: [string, string[], RegExp][] = [
      [
        'a malformed reference',
        ['pull', 'localhost:5000/Busy:box'],
        /^ERROR: invalid reference "localhost:5000\/Busy:box": repository name \(Busy\) must be lowercase$/,
      ],
      [
        'an unknown tag',
        ['pull', 'localhost:5000/busybox:nope'],
        /^ERROR: pulling localhost:5000\/busybox:nope: not found: manifest unknown \(MANIFEST_UNKNOWN\)$/,
      ],
      [
        'a platform the image lacks',
        ['pull', '--platform', 'linux/mips64le', busybox],
        /^ERROR: pulling localhost:5000\/busybox:1\.35: no matching manifest for linux\/mips64le in the manifest list entries \(available: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7, linux\/arm\/v5, linux\/386, linux\/ppc64le, linux\/s390x\)$/,
      ],
      [
        'a malformed platform',
        ['pull', '--platform', 'linux/arm/v7/x', busybox],
        /^ERROR: invalid platform "linux\/arm\/v7\/x": expected os\[\/arch\[\/variant\]\]$/,
      ],
      [
        'an unknown repository',
        ['pull', 'localhost:5000/nothing/here:1'],
        /^ERROR: pulling localhost:5000\/nothing\/here:1: not found: .*\((NAME_UNKNOWN|MANIFEST_UNKNOWN)\)$/,
      ],
    ];
    for (const [what, args, message] of cases) {
      test(what, async () => {
        const before = storeState(root);
        const r = await runPolyarch(args, { env });
        assert.equal(r.code, 1);
        const errors = r.stderr.trim().split('\n');
        assert.equal(errors.length, 1, r.stderr);
        assert.match(errors[0]!, message);
        assert.equal(storeState(root), before);
      });
    }
  });
});

test('a Docker schema 1 manifest is refused with a clear message', async () => {
  const proxy = await startProxy('127.0.0.1:5000', [
    {
      match: /\/manifests\/old$/,
      respond: {
        status: 200,
        headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
        body: JSON.stringify({
          schemaVersion: 1,
          name: 'legacy',
          tag: 'old',
          architecture: 'amd64',
          fsLayers: [],
          history: [],
          signatures: [],
        }),
      },
    },
  ]);
  const root = tempDir('polyarch-schema1-');
  const r = await runPolyarch(['pull', `${proxy.host}/legacy:old`], { env: { POLYARCH_ROOT: root } });
  await proxy.stop();
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `ERROR: ${proxy.host}/legacy:old is a Docker schema 1 manifest, which polyarch does not support (deprecated since 2017); push the image again with a current client, or convert it with \`skopeo copy --format v2s2\`\n`,
  );
  assert.equal(
    storeState(root),
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}\n`,
  );
});

describe('kill -9 during a pull', () => {
  let proxy: TestProxy;
  const root = tempDir('polyarch-kill-');
  before(async () => {
    ensureBaseImages();
    proxy = await startProxy('127.0.0.1:5000');
  });
  after(() => proxy.stop());

  test('the next pull succeeds and the store verifies', async () => {
    proxy.rules.push({ match: /\/blobs\/sha256:/, method: 'GET', throttle: { bytesPer10ms: 64 * 1024 } });
    const ref = `${proxy.host}/golang:1.23`;
    const child = spawn(process.execPath, [polyarchBin, 'pull', '--platform', 'linux/arm64', ref], {
      env: { ...process.env, POLYARCH_ROOT: root },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 20_000;
    while (proxy.bytesSent < 4_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(proxy.bytesSent >= 4_000_000, 'the pull was under way');
    child.kill('SIGKILL');
    await exited;

    const store = await openContentStore(join(root, 'content'));
    const mid = await store.check();
    assert.deepEqual(mid.problems, [], 'nothing half-written is visible');
    assert.ok(mid.leftovers.length > 0, 'the killed pull left partial files in ingest/');
    assert.deepEqual(await store.listNames(), []);
    await store.close();

    proxy.rules.length = 0;
    const r = await runPolyarch(['pull', '--platform', 'linux/arm64', ref], { env: { POLYARCH_ROOT: root } });
    assert.equal(r.code, 0, r.stderr);
    const after = await openContentStore(join(root, 'content'));
    assert.deepEqual(await after.check(), { ok: true, problems: [], leftovers: [] });
    assert.equal((await after.listNames()).length, 1);
    await after.close();
  });
});
