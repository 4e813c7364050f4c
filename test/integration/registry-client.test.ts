/**
 * The registry client against real registries (the fixture on :5000 and private instances),
 * with a proxy that fails, cuts or counts requests, and skopeo as the independent oracle.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type ContentStore, openContentStore } from '../../src/content/index.js';
import { DigestMismatchError, RegistryError } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import { MediaTypeImageIndex } from '../../src/oci/mediatypes.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../../src/oci/types.js';
import { defaultHostPlatform, parsePlatform } from '../../src/platforms/index.js';
import { parseImageReference } from '../../src/reference/index.js';
import {
  type BlobSource,
  RegistryClient as Client,
  copyImage,
  createIndex,
  parseInsecureList,
  pullImage,
  pushImage,
  type RegistryClient,
  resolve,
} from '../../src/registry/index.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';
import {
  type ProxyRule,
  startProxy,
  startRegistry,
  type TestProxy,
  type TestRegistry,
} from '../helpers/registries.js';

const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const rawOf = (ref: string) =>
  execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const host = defaultHostPlatform();
const fast = { attempts: 3, baseDelayMs: 20, maxDelayMs: 200 };

/** Names and blob files of a store, to show that a failed operation changed nothing. */
function snapshot(store: ContentStore): string {
  const blobs = readdirSync(join(store.dir, 'blobs', 'sha256')).sort();
  return `${readFileSync(join(store.dir, 'index.json'), 'utf8')}\n${blobs.join('\n')}`;
}

describe('registry client', () => {
  let client: RegistryClient;
  let proxy: TestProxy;
  let priv: TestRegistry;
  const root = tempDir('polyarch-regclient-');
  let n = 0;
  const freshStore = () => openContentStore(join(root, `s${n++}`));

  before(async () => {
    ensureBaseImages();
    client = new Client({ retry: fast });
    proxy = await startProxy('127.0.0.1:5000');
    priv = await startRegistry();
  });
  after(async () => {
    await client.close();
    await proxy.stop();
    await priv.stop();
  });

  test('resolve keeps the raw bytes and their digest, as skopeo sees them', async () => {
    const r = await resolve(client, parseImageReference('localhost:5000/busybox:1.35'));
    const raw = rawOf('localhost:5000/busybox:1.35');
    assert.deepEqual(r.bytes, raw);
    assert.equal(r.descriptor.digest, sha(raw));
    assert.equal(r.descriptor.mediaType, MediaTypeImageIndex);
    assert.equal(r.parsed.kind, 'index');
    const byDigest = await resolve(
      client,
      parseImageReference(`localhost:5000/busybox@${r.descriptor.digest}`),
    );
    assert.deepEqual(byDigest.bytes, raw);
  });

  test('an unknown tag is NotFound naming the reference', async () => {
    await assert.rejects(
      resolve(client, parseImageReference('localhost:5000/busybox:nope')),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'NOT_FOUND');
        assert.match(e.message, /^resolving localhost:5000\/busybox:nope: not found: manifest unknown/);
        return true;
      },
    );
  });

  test('push from the store mounts across repositories, skopeo copies the result', async () => {
    const store = await freshStore();
    const ref = parseImageReference('localhost:5000/busybox:1.35');
    const pulled = await pullImage({ client, store, ref, platforms: 'all', host });
    const dst = parseImageReference(`localhost:5000/regclient/mount-${Date.now()}:v1`);
    const pushed = await pushImage({
      client,
      store,
      source: pulled.descriptor,
      sourceName: pulled.name!,
      ref: dst,
    });
    assert.ok(
      [...pushed.blobs.values()].every((o) => o === 'mounted'),
      [...pushed.blobs.values()].join(),
    );
    assert.deepEqual(rawOf(`localhost:5000/${dst.path}:v1`), rawOf('localhost:5000/busybox:1.35'));
    const out = tempDir('polyarch-skopeo-');
    skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://localhost:5000/${dst.path}:v1`,
      `oci:${out}:x`,
    );
    await store.close();
  });

  test('monolithic and chunked uploads to another registry; skopeo verifies every blob', async () => {
    const store = await freshStore();
    const pulled = await pullImage({
      client,
      store,
      ref: parseImageReference('localhost:5000/busybox:1.35'),
      platforms: [parsePlatform('linux/arm64')],
      host,
    });
    const chunked = new Client({ retry: fast, chunkSize: 64 * 1024 });
    try {
      const viaProxy = await startProxy(priv.host);
      const dst = parseImageReference(`${viaProxy.host}/chunked/busybox:arm64`);
      // the index names 7 platforms; the 6 not pulled are copied from the source registry
      const res = await pushImage({
        client: chunked,
        store,
        source: pulled.descriptor,
        sourceName: pulled.name!,
        ref: dst,
      });
      assert.equal(res.descriptor?.digest, pulled.descriptor.digest);
      const patches = viaProxy.log.filter((l) => l.startsWith('PATCH '));
      assert.ok(patches.length >= 3, `expected several PATCH chunks, saw ${patches.length}`);
      await viaProxy.stop();
      const out = tempDir('polyarch-skopeo-');
      skopeo(
        'copy',
        '--all',
        '--src-tls-verify=false',
        `docker://${priv.host}/chunked/busybox:arm64`,
        `oci:${out}:x`,
      );
      const index = JSON.parse(rawOf(`${priv.host}/chunked/busybox:arm64`).toString()) as ImageIndex;
      assert.equal(index.manifests.length, 7);
    } finally {
      await chunked.close();
      await store.close();
    }
  });

  test('tags are listed across pages', async () => {
    const repo = client.repository(parseImageReference(`${priv.host}/tags/list:x`));
    const src = await resolve(client, parseImageReference('localhost:5000/busybox:1.35'));
    const index = src.parsed.kind === 'index' ? src.parsed.index : undefined;
    await copyImage({
      client,
      src: parseImageReference('localhost:5000/busybox:1.35'),
      dst: parseImageReference(`${priv.host}/tags/list:t0`),
      platforms: [parsePlatform('linux/amd64')],
    });
    const amd = index!.manifests[0]!;
    const bytes = (
      await client.repository(parseImageReference(`${priv.host}/tags/list:t0`)).getManifest(amd.digest)
    ).bytes;
    for (const t of ['t1', 't2', 't3', 't4']) await repo.putManifest(t, bytes, amd.mediaType);
    const viaProxy = await startProxy(priv.host, [{ match: /\/tags\/list/, paginateTags: true }]);
    const c2 = new Client({ retry: fast });
    try {
      const tags = await c2.repository(parseImageReference(`${viaProxy.host}/tags/list:x`)).listTags(2);
      assert.deepEqual(tags.sort(), ['t0', 't1', 't2', 't3', 't4']);
      assert.equal(viaProxy.log.filter((l) => l.includes('/tags/list')).length, 3);
    } finally {
      await c2.close();
      await viaProxy.stop();
    }
  });

  test('imagetools create with two tags of one repository copies the sources into it once', async () => {
    const viaProxy = await startProxy(priv.host);
    try {
      const tags = ['one', 'two'].map((t) => parseImageReference(`${viaProxy.host}/created/twotags:${t}`));
      const src = parseImageReference('localhost:5000/busybox:1.35');
      const made = await createIndex({ client, sources: [src], tags });
      const children = (await resolve(client, src)).parsed;
      const count = children.kind === 'index' ? children.index.manifests.length : 0;
      const puts = viaProxy.log.filter((l) => l.startsWith('PUT /v2/created/twotags/manifests/'));
      assert.deepEqual(
        puts.filter((l) => l.includes('/manifests/sha256:')).length,
        count,
        'each source manifest is put once',
      );
      for (const t of ['one', 'two']) {
        assert.ok(puts.includes(`PUT /v2/created/twotags/manifests/${t}`), puts.join('\n'));
        assert.equal(sha(rawOf(`${priv.host}/created/twotags:${t}`)), made.descriptor.digest);
      }
    } finally {
      await viaProxy.stop();
    }
  });

  test('copy of some platforms makes a new index of just their manifests', async () => {
    const src = parseImageReference('localhost:5000/busybox:1.35');
    const dst = parseImageReference(`${priv.host}/copied/busybox-two:1`);
    const res = await copyImage({
      client,
      src,
      dst,
      platforms: [parsePlatform('linux/arm64'), parsePlatform('linux/s390x')],
    });
    const index = JSON.parse(rawOf(`${priv.host}/copied/busybox-two:1`).toString()) as ImageIndex;
    assert.equal(sha(rawOf(`${priv.host}/copied/busybox-two:1`)), res.descriptor?.digest);
    assert.deepEqual(
      index.manifests.map((m) => m.platform?.architecture),
      ['arm64', 's390x'],
    );
    const out = tempDir('polyarch-skopeo-');
    skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${priv.host}/copied/busybox-two:1`,
      `oci:${out}:x`,
    );
  });

  test('copy between registries keeps the index digest', async () => {
    const src = parseImageReference('localhost:5000/golang:1.23');
    const dst = parseImageReference(`${priv.host}/copied/golang:1.23`);
    const res = await copyImage({ client, src, dst });
    assert.deepEqual(rawOf(`${priv.host}/copied/golang:1.23`), rawOf('localhost:5000/golang:1.23'));
    assert.ok([...res.blobs.values()].every((o) => o === 'uploaded'));
    const again = await copyImage({
      client,
      src: dst,
      dst: parseImageReference(`${priv.host}/copied/golang2:1.23`),
    });
    assert.ok([...again.blobs.values()].every((o) => o === 'mounted'));
  });

  test('Docker schema 2 images pushed by skopeo are pulled, with their media types', async () => {
    skopeo(
      'copy',
      '--override-arch',
      'arm',
      '--override-variant',
      'v7',
      '--format',
      'v2s2',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      'docker://localhost:5000/busybox:1.35',
      `docker://${priv.host}/v2s2/busybox:armv7`,
    );
    const store = await freshStore();
    const r = await pullImage({
      client,
      store,
      ref: parseImageReference(`${priv.host}/v2s2/busybox:armv7`),
      host,
      platforms: [parsePlatform('linux/arm/v7')],
    });
    assert.equal(r.descriptor.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    const manifest = JSON.parse((await store.readBlob(r.descriptor.digest)).toString()) as ImageManifest;
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    const config = JSON.parse((await store.readBlob(manifest.config.digest)).toString());
    assert.equal(config.architecture, 'arm');
    assert.equal(config.variant, 'v7');
    // a lone manifest for another platform is refused with both platforms named
    const store2 = await freshStore();
    await assert.rejects(
      pullImage({
        client,
        store: store2,
        ref: parseImageReference(`${priv.host}/v2s2/busybox:armv7`),
        host,
        platforms: [parsePlatform('linux/s390x')],
      }),
      /does not match the specified platform: wanted linux\/s390x, actual: linux\/arm\/v7/,
    );
    assert.deepEqual(await store2.listNames(), []);
    await store.close();
    await store2.close();
  });

  test('503 and 429 are retried (Retry-After honoured)', async () => {
    proxy.rules.length = 0;
    proxy.rules.push({ match: /\/manifests\/1\.35$/, method: 'GET', fail: { status: 503, times: 2 } });
    const r = await resolve(client, parseImageReference(`${proxy.host}/busybox:1.35`));
    assert.equal(r.descriptor.digest, sha(rawOf('localhost:5000/busybox:1.35')));
    proxy.rules.length = 0;
    proxy.rules.push({
      match: /\/manifests\/1\.35$/,
      method: 'GET',
      fail: { status: 429, times: 1, retryAfter: '1' },
    });
    const patient = new Client({ retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 5000 } });
    const t = Date.now();
    await resolve(patient, parseImageReference(`${proxy.host}/busybox:1.35`));
    assert.ok(Date.now() - t >= 900, 'waited for Retry-After');
    await patient.close();
  });

  test('the last failure says what was being done and where', async () => {
    proxy.rules.length = 0;
    proxy.rules.push({ match: /\/manifests\/1\.35$/, method: 'GET', fail: { status: 503, times: 100 } });
    await assert.rejects(resolve(client, parseImageReference(`${proxy.host}/busybox:1.35`)), (e: Error) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(
        e.message,
        `resolving ${proxy.host}/busybox:1.35: ${proxy.host} answered HTTP 503 service unavailable (after 3 attempts)`,
      );
      return true;
    });
    proxy.rules.length = 0;
  });

  test('each request is retried in one place: a 503 is sent `attempts` times in all, never attempts²', async () => {
    const viaProxy = await startProxy(priv.host);
    const ph = viaProxy.host;
    const repo = client.repository(parseImageReference(`${ph}/retries/counted:x`));
    const attempts = fast.attempts;
    const unavailable = `${ph} answered HTTP 503 service unavailable`;
    /** Answers 503 to the first `times` requests of a kind (and counts them all). */
    const failing = (method: string, match: RegExp, times: number, p: TestProxy = viaProxy): ProxyRule => {
      const rule = { method, match, fail: { status: 503, times } };
      p.rules.push(rule);
      return rule;
    };
    const reset = () => {
      viaProxy.rules.length = 0;
      proxy.rules.length = 0;
    };
    const blob = () => {
      const bytes = randomBytes(64 * 1024);
      const desc: Descriptor = {
        mediaType: 'application/octet-stream',
        digest: sha(bytes) as Digest,
        size: bytes.length,
      };
      const source: BlobSource = {
        open: async (start = 0, end = bytes.length) => Readable.from([bytes.subarray(start, end)]),
      };
      return { bytes, desc, source };
    };
    const uploads = /\/blobs\/uploads\/$/;
    try {
      // an upload's POST: the session is started again as a whole, the POST never retried inside it
      const a = blob();
      let post = failing('POST', uploads, attempts - 1);
      assert.equal(await repo.uploadBlob(a.desc, a.source), 'uploaded');
      assert.equal(post.hits, attempts, 'the 503s stopped before the last attempt');
      reset();
      const b = blob();
      post = failing('POST', uploads, 100);
      await assert.rejects(repo.uploadBlob(b.desc, b.source), {
        name: 'RegistryError',
        message: `pushing blob ${b.desc.digest} to ${ph}/retries/counted: ${unavailable} (after ${attempts} attempts)`,
      });
      assert.equal(post.hits, attempts, 'attempts, not attempts × attempts');
      reset();
      // a mount's POST, the same
      const mount = failing('POST', /\/blobs\/uploads\/\?mount=/, 100);
      await assert.rejects(repo.uploadBlob(b.desc, b.source, { mountFrom: ['retries/elsewhere'] }), {
        message: `pushing blob ${b.desc.digest} to ${ph}/retries/counted (mounting from ${ph}/retries/elsewhere): ${unavailable} (after ${attempts} attempts)`,
      });
      assert.equal(mount.hits, attempts);
      reset();
      // the session's PUT: each try is one POST and one PUT
      const put = failing('PUT', /\/blobs\/uploads\//, 100);
      post = failing('POST', uploads, 0);
      await assert.rejects(
        repo.uploadBlob(b.desc, b.source),
        /answered HTTP 503 service unavailable \(after 3 attempts\)$/,
      );
      assert.deepEqual([post.hits, put.hits], [attempts, attempts]);
      reset();
      assert.equal(await repo.blobExists(b.desc.digest), false, 'nothing was uploaded');

      // a blob GET with its body, into memory and resumable into the store
      const blobGet = new RegExp(`/blobs/${a.desc.digest}$`);
      let get = failing('GET', blobGet, attempts - 1);
      assert.deepEqual(await repo.fetchBlob(a.desc), a.bytes);
      assert.equal(get.hits, attempts);
      reset();
      get = failing('GET', blobGet, 100);
      await assert.rejects(repo.fetchBlob(a.desc), {
        message: `fetching blob ${a.desc.digest} from ${ph}/retries/counted: ${unavailable} (after ${attempts} attempts)`,
      });
      assert.equal(get.hits, attempts);
      reset();
      const store = await freshStore();
      const writer = () =>
        store.openWriter({
          mediaType: a.desc.mediaType,
          expected: { digest: a.desc.digest, size: a.desc.size },
          what: 'test',
        });
      get = failing('GET', blobGet, attempts - 1);
      const w1 = await writer();
      await repo.downloadBlob(a.desc, w1);
      await w1.commit();
      assert.ok(await store.has(a.desc.digest));
      assert.equal(get.hits, attempts);
      reset();
      get = failing('GET', blobGet, 100);
      const w2 = await writer();
      await assert.rejects(repo.downloadBlob(a.desc, w2), {
        message: `pulling blob ${a.desc.digest} from ${ph}/retries/counted: ${unavailable} after ${attempts} attempts (0 of ${a.desc.size} bytes received)`,
      });
      await w2.abort();
      assert.equal(get.hits, attempts);
      reset();
      await store.close();

      // a manifest GET: a single request, retried by the transport
      const manifests = /\/manifests\/1\.35$/;
      let manifest = failing('GET', manifests, attempts - 1, proxy);
      await resolve(client, parseImageReference(`${proxy.host}/busybox:1.35`));
      assert.equal(manifest.hits, attempts);
      reset();
      manifest = failing('GET', manifests, 100, proxy);
      await assert.rejects(resolve(client, parseImageReference(`${proxy.host}/busybox:1.35`)), {
        message: `resolving ${proxy.host}/busybox:1.35: ${proxy.host} answered HTTP 503 service unavailable (after ${attempts} attempts)`,
      });
      assert.equal(manifest.hits, attempts);
    } finally {
      reset();
      await viaProxy.stop();
    }
  });

  test('a blob cut mid-transfer resumes with Range; always cut is a clear error and the store is unchanged', async () => {
    const src = await resolve(client, parseImageReference('localhost:5000/golang:1.23'));
    const amd = (src.parsed.kind === 'index' ? src.parsed.index.manifests : []).find(
      (m) => m.platform?.architecture === 'amd64',
    )!;
    const m = JSON.parse(
      (await client.repository(src.ref).getManifest(amd.digest)).bytes.toString(),
    ) as ImageManifest;
    const big = m.layers.reduce((a, b) => (a.size > b.size ? a : b));
    proxy.rules.length = 0;
    proxy.rules.push({
      match: new RegExp(`/blobs/${big.digest}$`),
      method: 'GET',
      cut: { afterBytes: 3_000_000, times: 2 },
    });
    const store = await freshStore();
    const r = await pullImage({
      client,
      store,
      ref: parseImageReference(`${proxy.host}/golang:1.23`),
      host,
      platforms: [parsePlatform('linux/amd64')],
    });
    assert.ok(await store.has(big.digest));
    assert.ok(
      proxy.log.some((l) => l.includes(big.digest) && l.includes('bytes=')),
      proxy.log.join('\n'),
    );
    assert.equal(r.downloaded, m.layers.reduce((a, l) => a + l.size, 0) + m.config.size);
    assert.deepEqual(await store.check(), { ok: true, problems: [], leftovers: [] });
    await store.close();

    proxy.rules.length = 0;
    proxy.rules.push({
      match: new RegExp(`/blobs/${big.digest}$`),
      method: 'GET',
      cut: { afterBytes: 1_000_000, times: 1000 },
    });
    const store2 = await freshStore();
    const before = snapshot(store2);
    await assert.rejects(
      pullImage({
        client,
        store: store2,
        ref: parseImageReference(`${proxy.host}/golang:1.23`),
        host,
        platforms: [parsePlatform('linux/amd64')],
      }),
      (e: Error) => {
        assert.ok(e instanceof RegistryError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `^pulling ${proxy.host}/golang:1\\.23: blob ${big.digest}: .* after 3 attempts \\(\\d+ of ${big.size} bytes received\\)$`,
          ),
        );
        return true;
      },
    );
    assert.equal(snapshot(store2), before);
    assert.deepEqual(readdirSync(join(store2.dir, 'ingest')), []);
    proxy.rules.length = 0;
    await store2.close();
  });

  test('a blob whose bytes do not match its digest is refused and the store is unchanged', async () => {
    await copyImage({
      client,
      src: parseImageReference('localhost:5000/busybox:1.35'),
      dst: parseImageReference(`${priv.host}/tampered/busybox:1.35`),
      platforms: [parsePlatform('linux/ppc64le')],
    });
    const r = await resolve(client, parseImageReference(`${priv.host}/tampered/busybox:1.35`));
    const layer = (r.parsed.kind === 'manifest' ? r.parsed.manifest.layers : [])[0]!;
    const path = priv.blobDataPath(layer.digest);
    const data = readFileSync(path);
    data[1000] = (data[1000]! + 1) % 256;
    writeFileSync(path, data);
    const store = await freshStore();
    const before = snapshot(store);
    await assert.rejects(
      pullImage({
        client,
        store,
        ref: parseImageReference(`${priv.host}/tampered/busybox:1.35`),
        host,
        platforms: 'all',
      }),
      (e: Error) => {
        assert.ok(e instanceof DigestMismatchError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `^pulling ${priv.host}/tampered/busybox:1\\.35: blob ${layer.digest}: content has digest sha256:[0-9a-f]{64}, expected ${layer.digest}$`,
          ),
        );
        return true;
      },
    );
    assert.equal(snapshot(store), before);
    await store.close();
  });

  test('an unreachable registry is one clear error', async () => {
    const c = new Client({ retry: fast });
    await assert.rejects(resolve(c, parseImageReference('127.0.0.1:1/x:1')), (e: Error) => {
      assert.match(
        e.message,
        /^resolving 127\.0\.0\.1:1\/x:1: cannot reach registry 127\.0\.0\.1:1: .*ECONNREFUSED/,
      );
      return true;
    });
    await c.close();
  });

  test('a loopback registry is spoken to over plain HTTP first, as BuildKit does: no TLS is tried', async () => {
    const lines: string[] = [];
    const c = new Client({ retry: fast, debug: (l) => lines.push(l) });
    try {
      const r = await resolve(c, parseImageReference('localhost:5000/busybox:1.35'));
      assert.equal(r.descriptor.digest, sha(rawOf('localhost:5000/busybox:1.35')));
      const pings = lines.filter((l) => l.startsWith('ping '));
      assert.deepEqual(pings, ['ping http://localhost:5000/v2/ → 200'], lines.join('\n'));
    } finally {
      await c.close();
    }
  });

  test('a loopback registry that serves TLS answers the plain HTTP ping 400, and HTTPS is used', async () => {
    const tls = await startRegistry({ kind: 'none' }, { tls: true });
    const lines: string[] = [];
    const c = new Client({ retry: fast, debug: (l) => lines.push(l) });
    try {
      execFileSync('skopeo', [
        'copy',
        '-q',
        '--all',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        'docker://localhost:5000/busybox:1.35',
        `docker://${tls.host}/busybox:1.35`,
      ]);
      const r = await resolve(c, parseImageReference(`${tls.host}/busybox:1.35`));
      assert.equal(r.descriptor.digest, sha(rawOf('localhost:5000/busybox:1.35')));
      const pings = lines.filter((l) => l.startsWith('ping '));
      assert.deepEqual(
        pings,
        [`ping http://${tls.host}/v2/ → 400`, `ping https://${tls.host}/v2/ → 200`],
        lines.join('\n'),
      );
    } finally {
      await c.close();
      await tls.stop();
    }
  });

  test('a registry that is not loopback or insecure is spoken to over HTTPS only', async (t) => {
    const ip = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!ip) {
      t.skip('this machine has no non-loopback IPv4 address to reach a registry through');
      return;
    }
    const open = await startProxy('127.0.0.1:5000', [], '0.0.0.0');
    const remote = `${ip}:${open.port}`;
    const strict = new Client({ retry: { attempts: 1 } });
    await assert.rejects(resolve(strict, parseImageReference(`${remote}/busybox:1.35`)), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`cannot reach registry ${remote.replace(/\./g, '\\.')}: .*(SSL|TLS|EPROTO)`, 'i'),
      );
      return true;
    });
    assert.equal(open.log.length, 0, 'no plain HTTP request was made');
    const lax = new Client({ retry: { attempts: 1 }, insecureRegistries: parseInsecureList(remote) });
    const r = await resolve(lax, parseImageReference(`${remote}/busybox:1.35`));
    assert.equal(r.descriptor.digest, sha(rawOf('localhost:5000/busybox:1.35')));
    assert.ok(open.log.length > 0);
    await strict.close();
    await lax.close();
    await open.stop();
  });

  test('digest type is kept: a pulled index is stored under the digest the registry serves', async () => {
    const store = await freshStore();
    const r = await pullImage({
      client,
      store,
      ref: parseImageReference('localhost:5000/busybox:1.35'),
      host,
      platforms: [host],
    });
    assert.equal(r.descriptor.digest, sha(rawOf('localhost:5000/busybox:1.35')) as Digest);
    assert.deepEqual(await store.readBlob(r.descriptor.digest), rawOf('localhost:5000/busybox:1.35'));
    await store.close();
  });
});
