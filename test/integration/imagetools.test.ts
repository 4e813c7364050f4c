/**
 * `polyarch imagetools create` and `inspect` against the real registry, skopeo reading what
 * they make.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImageIndex } from '../../src/oci/types.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';
import { runPolyarch, startRegistry, type TestRegistry } from '../helpers/registries.js';

const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const raw = (ref: string) =>
  execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function skopeoSingle(arch: string, dst: string, format?: string) {
  skopeo(
    'copy',
    '--override-arch',
    arch,
    ...(format ? ['--format', format] : []),
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    'docker://localhost:5000/busybox:1.35',
    `docker://${dst}`,
  );
}

describe('imagetools', () => {
  const root = tempDir('polyarch-imagetools-');
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: join(root, 'docker') };
  const run = (...args: string[]) => runPolyarch(args, { env });
  const repo = `localhost:5000/imagetools/${process.pid}`;
  let priv: TestRegistry;

  before(async () => {
    ensureBaseImages();
    skopeoSingle('amd64', `${repo}/amd64:1`);
    skopeoSingle('arm64', `${repo}/arm64:1`);
    priv = await startRegistry();
    skopeoSingle('s390x', `${priv.host}/other/s390x:1`);
  });
  after(() => priv.stop());

  test('create joins two single-platform images into an index skopeo reads with both platforms', async () => {
    const r = await run(
      'imagetools',
      'create',
      '-t',
      `${repo}/multi:1`,
      `${repo}/amd64:1`,
      `${repo}/arm64:1`,
    );
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(raw(`${repo}/multi:1`).toString()) as ImageIndex;
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m) => [m.digest, m.platform]),
      [
        [sha(raw(`${repo}/amd64:1`)), { architecture: 'amd64', os: 'linux' }],
        [sha(raw(`${repo}/arm64:1`)), { architecture: 'arm64', os: 'linux' }],
      ],
    );
    for (const arch of ['amd64', 'arm64']) {
      const seen = JSON.parse(
        skopeo('inspect', '--tls-verify=false', '--override-arch', arch, `docker://${repo}/multi:1`),
      );
      assert.equal(seen.Architecture, arch);
    }
    skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${repo}/multi:1`,
      `oci:${tempDir('polyarch-it-oci-')}:x`,
    );
  });

  test('inspect prints buildx layout; --raw prints the bytes; --format json adds configs', async () => {
    const index = raw(`${repo}/multi:1`);
    const parsed = JSON.parse(index.toString()) as ImageIndex;
    const r = await run('imagetools', 'inspect', `${repo}/multi:1`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        `Name:      ${repo}/multi:1`,
        'MediaType: application/vnd.oci.image.index.v1+json',
        `Digest:    ${sha(index)}`,
        '           ',
        'Manifests: ',
        `  Name:      ${repo}/multi:1@${parsed.manifests[0]!.digest}`,
        '  MediaType: application/vnd.oci.image.manifest.v1+json',
        '  Platform:  linux/amd64',
        '             ',
        `  Name:      ${repo}/multi:1@${parsed.manifests[1]!.digest}`,
        '  MediaType: application/vnd.oci.image.manifest.v1+json',
        '  Platform:  linux/arm64',
        '',
      ].join('\n'),
    );
    const rawOut = await runPolyarch(['imagetools', 'inspect', '--raw', `${repo}/multi:1`], { env });
    assert.equal(rawOut.stdout, index.toString());
    const json = JSON.parse(
      (await run('imagetools', 'inspect', '--format', 'json', `${repo}/multi:1`)).stdout,
    );
    assert.equal(json.manifest.digest, sha(index));
    assert.equal(json.manifest.manifests.length, 2);
    assert.equal(json.image['linux/arm64'].architecture, 'arm64');
    assert.equal(json.image['linux/amd64'].architecture, 'amd64');
  });

  test('a lone manifest inspects as Name, MediaType, Digest', async () => {
    const r = await run('imagetools', 'inspect', `${repo}/amd64:1`);
    assert.equal(
      r.stdout,
      `Name:      ${repo}/amd64:1\nMediaType: application/vnd.oci.image.manifest.v1+json\nDigest:    ${sha(raw(`${repo}/amd64:1`))}\n`,
    );
  });

  test('--append adds to the index at the tag; sources from another registry are copied over', async () => {
    assert.equal((await run('imagetools', 'create', '-t', `${repo}/grow:1`, `${repo}/amd64:1`)).code, 0);
    const r = await run(
      'imagetools',
      'create',
      '--append',
      '-t',
      `${repo}/grow:1`,
      `${priv.host}/other/s390x:1`,
    );
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(raw(`${repo}/grow:1`).toString()) as ImageIndex;
    assert.deepEqual(
      index.manifests.map((m) => m.platform?.architecture),
      ['amd64', 's390x'],
    );
    const s390 = JSON.parse(
      skopeo('inspect', '--tls-verify=false', '--override-arch', 's390x', `docker://${repo}/grow:1`),
    );
    assert.equal(s390.Architecture, 's390x');
  });

  test('Docker sources make a manifest list; --dry-run pushes nothing; annotations on an OCI index', async () => {
    skopeoSingle('386', `${repo}/d386:1`, 'v2s2');
    skopeoSingle('ppc64le', `${repo}/dppc:1`, 'v2s2');
    const dry = await run(
      'imagetools',
      'create',
      '--dry-run',
      '-t',
      `${repo}/dlist:1`,
      `${repo}/d386:1`,
      `${repo}/dppc:1`,
    );
    assert.equal(dry.code, 0, dry.stderr);
    const list = JSON.parse(dry.stdout);
    assert.equal(list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.deepEqual(
      list.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
      ['386', 'ppc64le'],
    );
    assert.throws(() => raw(`${repo}/dlist:1`), /manifest unknown/);

    const ann = await run(
      'imagetools',
      'create',
      '-t',
      `${repo}/annotated:1`,
      '--annotation',
      'index:org.opencontainers.image.description=two platforms',
      `${repo}/amd64:1`,
      `${repo}/arm64:1`,
    );
    assert.equal(ann.code, 0, ann.stderr);
    const index = JSON.parse(raw(`${repo}/annotated:1`).toString()) as ImageIndex;
    assert.deepEqual(index.annotations, { 'org.opencontainers.image.description': 'two platforms' });
    const refused = await run(
      'imagetools',
      'create',
      '-t',
      `${repo}/x:1`,
      '--annotation',
      'a=b',
      `${repo}/d386:1`,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs an OCI index, but every source is a Docker manifest/);
  });

  test('create without a tag, or with a bad source, is one clear error', async () => {
    const r = await run('imagetools', 'create', `${repo}/amd64:1`);
    assert.equal(r.stderr, "ERROR: can't push with no tags specified, please set --tag or --dry-run\n");
    const bad = await run('imagetools', 'create', '-t', `${repo}/y:1`, `${repo}/missing:1`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`ERROR: creating ${repo}/y:1: reading ${repo}/missing:1: not found`));
  });

  test('a bare digest source takes the repository all references name, else is refused', async () => {
    const amd64 = sha(raw(`${repo}/amd64:1`));
    const r = await run('imagetools', 'create', '-t', `${repo}/amd64:wrapped`, amd64);
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(raw(`${repo}/amd64:wrapped`).toString()) as ImageIndex;
    assert.deepEqual(
      index.manifests.map((m) => [m.digest, m.platform]),
      [[amd64, { architecture: 'amd64', os: 'linux' }]],
    );
    const two = await run('imagetools', 'create', '-t', `${repo}/amd64:x`, '-t', `${repo}/arm64:x`, amd64);
    assert.equal(two.code, 1);
    assert.equal(
      two.stderr,
      `ERROR: multiple repositories specified, cannot infer repository for "${amd64}"\n`,
    );
  });

  test('inspect --local reads the local store', async () => {
    assert.equal((await run('pull', '-q', `${repo}/multi:1`)).code, 0);
    const r = await run('imagetools', 'inspect', '--local', `${repo}/multi:1`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^Name:      ${repo}/multi:1\\nMediaType: application/vnd\\.oci\\.image\\.index\\.v1\\+json\\nDigest:    ${sha(raw(`${repo}/multi:1`))}\\n`,
      ),
    );
    // the whole layout, manifests included, is the registry's (only the host platform was pulled)
    assert.equal(r.stdout, (await run('imagetools', 'inspect', `${repo}/multi:1`)).stdout);
    const missing = await run('imagetools', 'inspect', '--local', `${repo}/never:1`);
    assert.equal(missing.stderr, `ERROR: No such image: ${repo}/never:1\n`);
  });
});
