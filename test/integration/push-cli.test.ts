/**
 * `polyarch push`, `tag`, `images` and `rmi` end to end, with skopeo as the other side: what
 * polyarch pushes skopeo reads and copies; what skopeo pushes polyarch pulls and pushes again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { openContentStore } from '../../src/content/index.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';
import { runPolyarch } from '../helpers/registries.js';

const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const raw = (ref: string) =>
  execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('push, tag, images, rmi', () => {
  const root = tempDir('polyarch-push-cli-');
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: join(root, 'docker') };
  const run = (...args: string[]) => runPolyarch(args, { env });
  const repo = `localhost:5000/push-cli/${process.pid}`;

  before(() => ensureBaseImages());

  test('a pushed multi-platform image reads back identically through skopeo, which can copy it', async () => {
    assert.equal((await run('pull', '-q', '--all-platforms', 'localhost:5000/golang:1.23')).code, 0);
    assert.equal((await run('tag', 'localhost:5000/golang:1.23', `${repo}/golang:pushed`)).code, 0);
    const r = await run('push', `${repo}/golang:pushed`);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `The push refers to repository [${repo}/golang]`);
    const index = raw(`${repo}/golang:pushed`);
    assert.equal(lines.at(-1), `pushed: digest: ${sha(index)} size: ${index.length}`);
    assert.deepEqual(index, raw('localhost:5000/golang:1.23'));
    const out = tempDir('polyarch-skopeo-copy-');
    skopeo('copy', '--all', '--src-tls-verify=false', `docker://${repo}/golang:pushed`, `oci:${out}:copied`);
    const inspect = JSON.parse(
      skopeo('inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${repo}/golang:pushed`),
    );
    assert.equal(inspect.Architecture, 'arm64');
  });

  test('what skopeo pushes (Docker schema 2, one platform) polyarch pulls, lists and pushes again', async () => {
    skopeo(
      'copy',
      '--override-arch',
      's390x',
      '--format',
      'v2s2',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      'docker://localhost:5000/busybox:1.35',
      `docker://${repo}/skopeo:s390x`,
    );
    const pull = await run('pull', '--platform', 'linux/s390x', `${repo}/skopeo:s390x`);
    assert.equal(pull.code, 0, pull.stderr);
    const images = await run('images', `${repo}/skopeo`);
    const [header, row] = images.stdout.trim().split('\n');
    assert.match(header!, /^REPOSITORY\s+TAG\s+DIGEST\s+PLATFORMS\s+SIZE$/);
    const manifest = raw(`${repo}/skopeo:s390x`);
    assert.match(
      row!,
      new RegExp(
        `^${repo}/skopeo\\s+s390x\\s+${sha(manifest).slice(7, 19)}\\s+linux/s390x\\s+\\d+(\\.\\d+)?[kM]B$`,
      ),
    );
    assert.equal((await run('images', '-q', `${repo}/skopeo`)).stdout, `${sha(manifest).slice(7, 19)}\n`);
    assert.match(
      (await run('images', '--no-trunc', `${repo}/skopeo`)).stdout,
      new RegExp(`\\s${sha(manifest)}\\s`),
    );
    assert.equal((await run('tag', `${repo}/skopeo:s390x`, `${repo}/skopeo:again`)).code, 0);
    const push = await run('push', `${repo}/skopeo:again`);
    assert.equal(push.code, 0, push.stderr);
    assert.deepEqual(raw(`${repo}/skopeo:again`), manifest);
  });

  test('an OCI layout written by skopeo is pulled after skopeo pushes it', async () => {
    const layout = tempDir('polyarch-skopeo-layout-');
    skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      'docker://localhost:5000/busybox:1.35',
      `oci:${layout}:bb`,
    );
    skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${layout}:bb`, `docker://${repo}/from-layout:1`);
    const r = await run('pull', '--all-platforms', `${repo}/from-layout:1`);
    assert.equal(r.code, 0, r.stderr);
    const store = await openContentStore(join(root, 'content'));
    const rec = await store.getName(`${repo}/from-layout:1`);
    assert.equal(rec?.target.digest, sha(raw(`${repo}/from-layout:1`)));
    await store.close();
  });

  test('push of a name that is not local, and tag of an unknown source, are clear errors', async () => {
    const p = await run('push', `${repo}/absent:1`);
    assert.equal(p.code, 1);
    assert.equal(p.stderr, `ERROR: An image does not exist locally with the tag: ${repo}/absent:1\n`);
    const t = await run('tag', `${repo}/absent:1`, `${repo}/x:1`);
    assert.equal(t.stderr, `ERROR: No such image: ${repo}/absent:1\n`);
    const d = await run('tag', 'localhost:5000/golang:1.23', `${repo}/x@sha256:${'a'.repeat(64)}`);
    assert.match(d.stderr, /^ERROR: refusing to create a tag with a digest reference/);
  });

  test('the local layout is readable by skopeo (names are full references)', async () => {
    const out = JSON.parse(skopeo('inspect', `oci:${join(root, 'content')}:localhost:5000/golang:1.23`));
    assert.equal(out.Digest, sha(raw('localhost:5000/golang:1.23')));
  });

  test('rmi untags, refuses a shared digest without -f, and collects unused blobs', async () => {
    const blobs = () => readdirSync(join(root, 'content', 'blobs', 'sha256')).length;
    const before = blobs();
    const rm1 = await run('rmi', `${repo}/skopeo:again`);
    assert.equal(rm1.code, 0, rm1.stderr);
    assert.equal(rm1.stdout, `Untagged: ${repo}/skopeo:again\n`);
    assert.equal(blobs(), before, 'the other name keeps the blobs');

    const digest = sha(raw('localhost:5000/golang:1.23'));
    const shared = await run('rmi', digest.slice(7, 19));
    assert.equal(shared.code, 1);
    assert.match(
      shared.stderr,
      /unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/,
    );
    const forced = await run('rmi', '-f', digest.slice(7, 19));
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(
      forced.stdout.trim().split('\n').sort(),
      [
        `Deleted: ${digest}`,
        `Untagged: ${repo}/golang:pushed`,
        'Untagged: localhost:5000/golang:1.23',
      ].sort(),
    );
    assert.ok(blobs() < before - 6, 'the golang layers are gone');
    const missing = await run('rmi', 'localhost:5000/nope:1');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response: No such image: localhost:5000/nope:1\n');
    const kept = blobs();
    const noPrune = await run('rmi', '--no-prune', `${repo}/from-layout:1`);
    assert.equal(noPrune.stdout, `Untagged: ${repo}/from-layout:1\n`, noPrune.stderr);
    assert.equal(blobs(), kept, '--no-prune deletes no blob');
    const store = await openContentStore(join(root, 'content'));
    assert.deepEqual(await store.check(), { ok: true, problems: [], leftovers: [] });
    await store.close();
  });
});
