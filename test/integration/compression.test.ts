/**
 * Layer compression of `polyarch build` outputs (`compression=zstd|gzip|uncompressed`,
 * `compression-level`, `force-compression`), checked with independent tools: a two-platform
 * image pushed to the fixture registry and read back by skopeo (manifests, and `skopeo copy`
 * to an OCI layout whose zstd blobs the `zstd` CLI decompresses to the config's diffIDs), by
 * umoci, pulled back and run by polyarch from an empty store, and pulled and run by a real
 * Docker engine. The bundled CLI compresses in worker threads (its `--debug` lines say so).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { type Dockerd, dockerMissing, startDockerd } from '../helpers/dockerd.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';

const platforms = 'linux/amd64,linux/arm64';
const zstdType = 'application/vnd.oci.image.layer.v1.tar+zstd';
const gzipType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const skopeo = (args: readonly string[]) => execFileSync('skopeo', [...args], { maxBuffer: 64 << 20 });
const raw = (ref: string) =>
  JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]).toString());

interface Layer {
  mediaType: string;
  digest: string;
  size: number;
}

/** The manifest of each platform of a pushed index. */
function manifests(ref: string): { platform: string; digest: string; layers: Layer[]; mediaType: string }[] {
  const index = raw(ref);
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  const repo = ref.replace(/:[^:/]+$/, '');
  return index.manifests.map((m: { digest: string; platform: { architecture: string } }) => {
    const man = raw(`${repo}@${m.digest}`);
    return {
      platform: m.platform.architecture,
      digest: m.digest,
      layers: man.layers,
      mediaType: man.mediaType,
    };
  });
}

describe('layer compression of outputs', () => {
  const root = tempDir('polyarch-compression-');
  const ctx = tempDir('polyarch-compression-ctx-');
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: tempDir('polyarch-compression-config-') };
  const build = (out: string, platform = platforms) =>
    polyarch(['--debug', 'build', '--progress', 'plain', '--platform', platform, '-o', out, ctx], { env });
  let dockerd: Dockerd | undefined;

  before(async () => {
    ensureBaseImages();
    const r = await polyarch(['emulators', 'install', 'linux/arm64']);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nRUN echo "zstd from $(uname -m)" > /hi && seq 1 200000 > /numbers\nCOPY f /f\n',
    );
    writeFileSync(join(ctx, 'f'), 'x'.repeat(300_000));
  });
  after(async () => {
    await dockerd?.stop();
  });

  test('compression=zstd: built layers zstd (in worker threads), base layers kept; skopeo, zstd and umoci read it', async () => {
    const name = 'localhost:5000/compression-zstd:1';
    const r = await build(`type=image,name=${name},push=true,compression=zstd,compression-level=6`);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    // 2 built layers × 2 platforms, each compressed once: one lane in this thread, the others
    // in worker threads of the bundled CLI (four at once use both)
    const lines = r.stderr.match(
      /compression: zstd-6 layer sha256:[0-9a-f]{64} \(\d+ bytes\) in (worker thread \d+|this thread)/g,
    );
    assert.equal(lines?.length, 4, r.stderr.slice(-3000));
    assert.ok(
      lines.some((l) => l.includes('worker thread')),
      'several layers at once reach a worker thread',
    );
    const ms = manifests(name);
    assert.equal(ms.length, 2);
    for (const m of ms) {
      assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      // without force-compression the base image's layer keeps its gzip (BuildKit's rule)
      assert.deepEqual(
        m.layers.map((l) => l.mediaType),
        [gzipType, zstdType, zstdType],
        m.platform,
      );
    }
    // skopeo copies the amd64 image into an OCI layout; the zstd CLI decompresses each blob to its diffID
    const layout = join(tempDir('polyarch-compression-oci-'), 'oci');
    const amd64 = ms.find((m) => m.platform === 'amd64')!;
    skopeo([
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://localhost:5000/compression-zstd@${amd64.digest}`,
      `oci:${layout}:x`,
    ]);
    const config = JSON.parse(skopeo(['inspect', '--config', `oci:${layout}:x`]).toString());
    amd64.layers.forEach((l, i) => {
      const blob = readFileSync(join(layout, 'blobs', 'sha256', l.digest.slice(7)));
      assert.equal(sha(blob), l.digest);
      const tool = l.mediaType === zstdType ? ['zstd', '-dc'] : ['gzip', '-dc'];
      const tar = execFileSync(tool[0]!, [tool[1]!], { input: blob, maxBuffer: 64 << 20 });
      assert.equal(sha(tar), config.rootfs.diff_ids[i], `layer ${i} decompresses to its diffID`);
    });
    // umoci: Debian 12's 0.4.7 has no zstd; say so rather than pass silently
    const bundle = join(tempDir('polyarch-compression-umoci-'), 'bundle');
    try {
      execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:x`, bundle], { stdio: 'pipe' });
      assert.equal(readFileSync(join(bundle, 'rootfs', 'hi'), 'utf8'), 'zstd from x86_64\n');
    } catch (err) {
      const msg = String((err as { stderr?: Buffer }).stderr ?? err);
      assert.match(msg, /not correct mediatype: application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd/);
      console.log(`umoci cannot check zstd layers here: ${msg.trim()}`);
    }
  });

  test('a zstd image pulled into an empty store unpacks and runs, on both platforms', async () => {
    const fresh = { ...env, POLYARCH_ROOT: tempDir('polyarch-compression-pull-') };
    for (const [platform, arch] of [
      ['linux/amd64', 'x86_64'],
      ['linux/arm64', 'aarch64'],
    ]) {
      const r = await polyarch(
        ['run', '--rm', '--platform', platform!, 'localhost:5000/compression-zstd:1', 'cat', '/hi'],
        {
          env: fresh,
        },
      );
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.equal(r.stdout, `zstd from ${arch}\n`);
    }
  });

  test('force-compression=true recompresses the base layers; oci-mediatypes=false is turned on for zstd', async () => {
    const name = 'localhost:5000/compression-zstd:forced';
    const r = await build(
      `type=image,name=${name},push=true,compression=zstd,compression-level=6,force-compression=true,oci-mediatypes=false`,
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    // the built layers were compressed by the build before: remembered, not compressed again
    const lines = r.stderr.match(/compression: zstd-6 layer/g) ?? [];
    assert.equal(lines.length, 2, 'only the two base layers (one per platform) are compressed');
    const before = manifests('localhost:5000/compression-zstd:1');
    for (const m of manifests(name)) {
      assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual(
        m.layers.map((l) => l.mediaType),
        [zstdType, zstdType, zstdType],
      );
      const old = before.find((b) => b.platform === m.platform)!;
      assert.deepEqual(m.layers.slice(1), old.layers.slice(1), 'the built layers are the same blobs');
    }
    const run = await polyarch(
      ['run', '--rm', '--pull', 'always', '--platform', 'linux/arm64', name, 'cat', '/hi'],
      {
        env: { ...env, POLYARCH_ROOT: tempDir('polyarch-compression-pull2-') },
      },
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    assert.equal(run.stdout, 'zstd from aarch64\n');
  });

  test('on a zstd base image: gzip keeps the base layers zstd, force-compression makes them gzip with the same diffIDs', async () => {
    const ctx2 = tempDir('polyarch-compression-ctx2-');
    writeFileSync(
      join(ctx2, 'Dockerfile'),
      'FROM localhost:5000/compression-zstd:forced\nRUN echo more > /more\n',
    );
    const layoutOf = async (attrs: string) => {
      const dest = join(tempDir('polyarch-compression-rebase-'), 'oci');
      const r = await polyarch(
        [
          'build',
          '--progress',
          'plain',
          '--platform',
          'linux/amd64',
          '-o',
          `type=oci,dest=${dest},tar=false${attrs}`,
          ctx2,
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const blob = (d: string) => readFileSync(join(dest, 'blobs', 'sha256', d.slice(7)));
      const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8'));
      const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
      const config = JSON.parse(blob(manifest.config.digest).toString());
      return { layers: manifest.layers as Layer[], diffIDs: config.rootfs.diff_ids as string[], blob };
    };
    const kept = await layoutOf('');
    assert.deepEqual(
      kept.layers.map((l) => l.mediaType),
      [zstdType, zstdType, zstdType, gzipType],
    );
    const forced = await layoutOf(',force-compression=true');
    assert.deepEqual(
      forced.layers.map((l) => l.mediaType),
      [gzipType, gzipType, gzipType, gzipType],
    );
    assert.deepEqual(forced.diffIDs, kept.diffIDs);
    forced.layers.forEach((l, i) => {
      const tar = execFileSync('gzip', ['-dc'], { input: forced.blob(l.digest), maxBuffer: 64 << 20 });
      assert.equal(sha(tar), forced.diffIDs[i], `layer ${i}`);
    });
  });

  test('compression=uncompressed and gzip levels: OCI archives with the media types and sizes that follow', async () => {
    const out = tempDir('polyarch-compression-archives-');
    const sizes: Record<string, number> = {};
    for (const [label, attrs] of [
      ['tar', 'compression=uncompressed'],
      ['gzip0', 'compression=gzip,compression-level=0'],
      ['gzip9', 'compression=gzip,compression-level=9'],
    ] as const) {
      const dest = join(out, label);
      mkdirSync(dest);
      const r = await build(`type=oci,dest=${dest},tar=false,${attrs}`, 'linux/amd64');
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8'));
      const manifest = JSON.parse(
        readFileSync(join(dest, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'),
      );
      const built = manifest.layers.slice(1) as Layer[];
      const want = label === 'tar' ? 'application/vnd.oci.image.layer.v1.tar' : gzipType;
      assert.deepEqual(
        built.map((l) => l.mediaType),
        [want, want],
        label,
      );
      sizes[label] = built.reduce((n, l) => n + l.size, 0);
    }
    assert.ok(sizes.gzip9! < sizes.gzip0! && sizes.gzip0! > sizes.tar!, JSON.stringify(sizes));
  });

  test('commands that compress nothing do not load the zstd binding (start-up time)', async () => {
    // NODE_DEBUG=module traces every CommonJS load, zstd-napi's included
    const r = await polyarch(['version'], { env: { ...env, NODE_DEBUG: 'module' } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /zstd-napi/);
    const pulled = await polyarch(
      ['run', '--rm', '--platform', 'linux/amd64', 'localhost:5000/compression-zstd:1', 'true'],
      {
        env: { ...env, NODE_DEBUG: 'module', POLYARCH_ROOT: tempDir('polyarch-compression-trace-') },
      },
    );
    assert.equal(pulled.code, 0, pulled.stderr.slice(-2000));
    assert.match(pulled.stderr, /load "[^"]*zstd-napi[^"]*"/, 'unpacking zstd layers loads it');
  });

  test('a real Docker engine pulls the zstd image and runs it, where it reads zstd', async () => {
    const missing = dockerMissing();
    if (missing) {
      console.log(`no Docker engine: ${missing}`);
      return;
    }
    dockerd = await startDockerd();
    const name = 'localhost:5000/compression-zstd:1';
    const pull = await dockerd.docker(['pull', '--platform', 'linux/amd64', name]);
    if (pull.code !== 0) {
      // Debian's dockerd 20.10 (no containerd image store) knows gzip, bzip2 and xz layers only:
      // it takes a zstd blob for a plain tar, and the tar reader fails on the frame header
      assert.match(pull.stderr, /invalid tar header|zstd/, pull.stderr);
      const version = execFileSync('dockerd', ['--version']).toString().trim();
      console.log(`${version} cannot pull zstd layers, so it cannot check them: ${pull.stderr.trim()}`);
      return;
    }
    const run = await dockerd.docker([
      'run',
      '--rm',
      '--network=none',
      '--platform=linux/amd64',
      name,
      'cat',
      '/hi',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'zstd from x86_64\n');
  });
});
