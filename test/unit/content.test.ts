import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { createGzip } from 'node:zlib';
import {
  type ContentStore,
  childrenOf,
  imageSize,
  loadImage,
  openContentStore,
  parseManifest,
  presentPlatforms,
  resolveRootDir,
  rootLayout,
} from '../../src/content/index.js';
import { DigestMismatchError, StoreError } from '../../src/errors.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import {
  MediaTypeDockerManifestV1Signed,
  MediaTypeImageConfig,
  MediaTypeImageIndex,
  MediaTypeImageLayerGzip,
  MediaTypeImageManifest,
} from '../../src/oci/mediatypes.js';
import type { Descriptor } from '../../src/oci/types.js';
import { tempDir } from '../helpers/fixtures.js';

const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

describe('resolveRootDir', () => {
  const base = { env: {}, uid: 1000, home: '/home/u' };
  test('flag wins, relative to cwd', () => {
    assert.equal(resolveRootDir({ ...base, flag: 'r', cwd: '/w', env: { POLYARCH_ROOT: '/e' } }), '/w/r');
  });
  test('then $POLYARCH_ROOT', () => {
    assert.equal(resolveRootDir({ ...base, env: { POLYARCH_ROOT: '/e' } }), '/e');
  });
  test('root uses /var/lib/polyarch', () => {
    assert.equal(resolveRootDir({ ...base, uid: 0, env: { XDG_DATA_HOME: '/x' } }), '/var/lib/polyarch');
  });
  test('others use XDG_DATA_HOME, then ~/.local/share', () => {
    assert.equal(resolveRootDir({ ...base, env: { XDG_DATA_HOME: '/x' } }), '/x/polyarch');
    assert.equal(resolveRootDir(base), '/home/u/.local/share/polyarch');
    assert.equal(
      resolveRootDir({ ...base, env: { XDG_DATA_HOME: 'relative' } }),
      '/home/u/.local/share/polyarch',
    );
  });
  test('layout', () => {
    assert.equal(rootLayout('/r').content, '/r/content');
    assert.equal(rootLayout('/r').snapshots, '/r/snapshots');
  });
});

describe('parseManifest', () => {
  test('detects index and manifest without mediaType field', () => {
    const idx = parseManifest(Buffer.from('{"schemaVersion":2,"manifests":[]}'), undefined, 'x');
    assert.equal(idx.kind, 'index');
    const m = parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          config: { digest: sha('c'), size: 1, mediaType: 'x' },
          layers: [],
        }),
      ),
      undefined,
      'x',
    );
    assert.equal(m.kind, 'manifest');
    assert.deepEqual(childrenOf(m).length, 1);
  });
  test('refuses schema 1 with a clear message', () => {
    assert.throws(
      () =>
        parseManifest(
          Buffer.from('{"schemaVersion":1,"fsLayers":[]}'),
          MediaTypeDockerManifestV1Signed,
          'r/x:1',
        ),
      /r\/x:1 is a Docker schema 1 manifest.*skopeo copy --format v2s2/,
    );
  });
  test('refuses unknown media types and bad JSON', () => {
    assert.throws(
      () => parseManifest(Buffer.from('{"mediaType":"text/plain"}'), undefined, 'y'),
      /unsupported manifest media type "text\/plain"/,
    );
    assert.throws(
      () => parseManifest(Buffer.from('nope'), undefined, 'z'),
      /z: the manifest is not valid JSON/,
    );
  });
});

/** The conformance suite every ContentStore implementation runs (containerd's testsuite idea). */
function contentStoreSuite(name: string, make: (key: string) => Promise<ContentStore>) {
  describe(name, () => {
    const stores: ContentStore[] = [];
    let n = 0;
    const open = async (key = `t${n++}`) => {
      const s = await make(key);
      stores.push(s);
      return s;
    };
    after(async () => {
      for (const s of stores) await s.close();
    });

    test('putBlob then read it back by bytes, stream and path', async () => {
      const s = await open();
      const data = Buffer.from('hello, blob');
      const d = await s.putBlob(data, { mediaType: 'application/octet-stream' });
      assert.deepEqual(d, { mediaType: 'application/octet-stream', digest: sha(data), size: data.length });
      assert.ok(await s.has(d.digest));
      assert.deepEqual(await s.info(d.digest), { digest: d.digest, size: data.length });
      assert.deepEqual(await s.readBlob(d.digest), data);
      const chunks: Buffer[] = [];
      for await (const c of await s.openBlob(d.digest, { start: 7 })) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'blob');
      assert.deepEqual(readFileSync(s.blobPath(d.digest)), data);
      // writing it again is a no-op
      assert.deepEqual(await s.putBlob(data, { mediaType: 'application/octet-stream' }), d);
    });

    test('a missing blob is NotFound', async () => {
      const s = await open();
      const d = sha('absent');
      assert.equal(await s.has(d), false);
      assert.equal(await s.info(d), undefined);
      await assert.rejects(s.readBlob(d), { code: 'NOT_FOUND' });
      await assert.rejects(s.openBlob(d), { code: 'NOT_FOUND' });
    });

    test('putBlob verifies the expected digest and size', async () => {
      const s = await open();
      const data = Buffer.from('abc');
      await assert.rejects(
        s.putBlob(data, {
          mediaType: 'x',
          expected: { digest: sha('abd'), size: 3 },
          what: 'config of test',
        }),
        (e: Error) =>
          e instanceof DigestMismatchError && /config of test: content has digest/.test(e.message),
      );
      await assert.rejects(
        s.putBlob(data, { mediaType: 'x', expected: { digest: sha('abc'), size: 4 } }),
        /expected 4 bytes, got 3/,
      );
      assert.equal(await s.has(sha('abc')), false);
    });

    test('ingest a gzip stream with the digest computed on the fly', async () => {
      const s = await open();
      const raw = randomBytes(3 * 1024 * 1024);
      const w = await s.openWriter({ mediaType: MediaTypeImageLayerGzip });
      await pipeline(Readable.from([raw.subarray(0, 1000), raw.subarray(1000)]), createGzip(), w.stream);
      const d = await w.commit();
      const stored = readFileSync(s.blobPath(d.digest));
      assert.equal(d.digest, sha(stored));
      assert.equal(d.size, stored.length);
      assert.equal(d.mediaType, MediaTypeImageLayerGzip);
    });

    test('ingest with a wrong expected digest leaves nothing behind', async () => {
      const s = await open();
      const data = randomBytes(100_000);
      await assert.rejects(
        s.ingest(Readable.from([data]), {
          mediaType: 'x',
          expected: { digest: sha('other'), size: data.length },
        }),
        { code: 'DIGEST_MISMATCH' },
      );
      assert.equal(await s.has(sha(data)), false);
      assert.deepEqual(
        readdirSync(join(s.dir, 'ingest')).filter((f) => !f.endsWith('.index')),
        [],
      );
    });

    test('a writer resets and resumes, staged blobs stay invisible until commit', async () => {
      const s = await open();
      const data = randomBytes(200_000);
      const w = await s.openWriter({ mediaType: 'x', expected: { digest: sha(data), size: data.length } });
      await w.write(randomBytes(5000));
      await w.reset();
      assert.equal(w.offset, 0);
      await w.write(data.subarray(0, 50_000));
      assert.equal(w.offset, 50_000);
      await w.write(data.subarray(50_000));
      const staged = await w.stage();
      assert.equal(await s.has(staged.digest), false);
      await w.commit();
      assert.deepEqual(await s.readBlob(staged.digest), data);
    });

    test('a blob expected as sha512 is hashed and stored as sha512', async () => {
      const s = await open();
      const data = randomBytes(70_000);
      const digest = `sha512:${createHash('sha512').update(data).digest('hex')}` as Digest;
      const d = await s.ingest(Readable.from([data]), {
        mediaType: 'x',
        expected: { digest, size: data.length },
      });
      assert.equal(d.digest, digest);
      assert.deepEqual(readFileSync(join(s.dir, 'blobs', 'sha512', digest.slice(7))), data);
      const small = Buffer.from('small');
      const sd = `sha512:${createHash('sha512').update(small).digest('hex')}` as Digest;
      assert.equal(
        (await s.putBlob(small, { mediaType: 'x', expected: { digest: sd, size: 5 } })).digest,
        sd,
      );
      assert.deepEqual(await s.readBlob(sd), small);
      assert.equal((await s.check()).ok, true);
    });

    test('aborted writers leave no file', async () => {
      const s = await open();
      const w = await s.openWriter({ mediaType: 'x' });
      await w.write(Buffer.from('partial'));
      assert.equal(readdirSync(join(s.dir, 'ingest')).length, 1, 'the partial write is in ingest/');
      await w.abort();
      await w.abort();
      assert.deepEqual(readdirSync(join(s.dir, 'ingest')), []);
      await assert.rejects(w.write(Buffer.from('more')), /aborted/);
    });

    test('names are listed in byte order, as containerd lists them', async () => {
      const s = await open();
      const a = await s.putBlob(Buffer.from('{"a":1}'), { mediaType: MediaTypeImageIndex });
      for (const n of [
        'localhost:5000/x:1',
        'docker.io/library/busybox:latest',
        'docker.io/library/busybox:Zeta',
      ])
        await s.setName(n, a);
      assert.deepEqual(
        (await s.listNames()).map((r) => r.name),
        ['docker.io/library/busybox:Zeta', 'docker.io/library/busybox:latest', 'localhost:5000/x:1'],
      );
    });

    test('names: set, get, list, move, delete; index.json is an OCI index with full names', async () => {
      const s = await open();
      const a = await s.putBlob(Buffer.from('{"a":1}'), { mediaType: MediaTypeImageIndex });
      const b = await s.putBlob(Buffer.from('{"b":1}'), { mediaType: MediaTypeImageIndex });
      await s.setName('docker.io/library/busybox:latest', a);
      await s.setName('localhost:5000/x:1', { ...b, annotations: { keep: 'me' } });
      assert.deepEqual(
        (await s.listNames()).map((r) => r.name),
        ['docker.io/library/busybox:latest', 'localhost:5000/x:1'],
      );
      assert.deepEqual((await s.getName('localhost:5000/x:1'))?.target, {
        ...b,
        annotations: { keep: 'me' },
      });
      const index = JSON.parse(readFileSync(join(s.dir, 'index.json'), 'utf8'));
      assert.equal(index.schemaVersion, 2);
      const entry = index.manifests.find((m: Descriptor) => m.digest === a.digest);
      assert.equal(
        entry.annotations['org.opencontainers.image.ref.name'],
        'docker.io/library/busybox:latest',
      );
      assert.equal(entry.annotations['io.containerd.image.name'], 'docker.io/library/busybox:latest');
      assert.deepEqual(JSON.parse(readFileSync(join(s.dir, 'oci-layout'), 'utf8')), {
        imageLayoutVersion: '1.0.0',
      });
      await s.setName('docker.io/library/busybox:latest', b);
      assert.equal((await s.getName('docker.io/library/busybox:latest'))?.target.digest, b.digest);
      assert.deepEqual(await s.deleteNames(['localhost:5000/x:1', 'nope']), ['localhost:5000/x:1']);
      assert.equal(await s.getName('localhost:5000/x:1'), undefined);
      await s.deleteNames(['docker.io/library/busybox:latest']);
    });

    test('gc keeps what names, roots and live leases reach, removes the rest', async () => {
      const s = await open('gc');
      const layer = await s.putBlob(randomBytes(1000), { mediaType: MediaTypeImageLayerGzip });
      const config = await s.putBlob(
        Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'),
        {
          mediaType: MediaTypeImageConfig,
        },
      );
      const manifest = await s.putBlob(
        Buffer.from(
          JSON.stringify({ schemaVersion: 2, mediaType: MediaTypeImageManifest, config, layers: [layer] }),
        ),
        { mediaType: MediaTypeImageManifest },
      );
      const missing = {
        mediaType: MediaTypeImageManifest,
        digest: sha('not pulled'),
        size: 10,
        platform: { os: 'linux', architecture: 'arm64' },
      };
      const index = await s.putBlob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaTypeImageIndex,
            manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'amd64' } }, missing],
          }),
        ),
        { mediaType: MediaTypeImageIndex },
      );
      const garbage = await s.putBlob(Buffer.from('garbage'), { mediaType: 'x' });
      const rooted = await s.putBlob(Buffer.from('rooted'), { mediaType: 'x' });
      await s.setName('localhost:5000/gc:1', index);
      // this store's own lease protects everything it wrote while it is open
      assert.deepEqual((await s.gc()).removed, []);
      await s.close();
      const s2 = await open('gc');
      const leased = await s2.createLease();
      const kept = await s2.putBlob(Buffer.from('leased'), { mediaType: 'x', lease: leased });
      const dry = await s2.gc({ roots: [rooted.digest], dryRun: true });
      assert.deepEqual(dry.removed, [garbage.digest]);
      assert.ok(await s2.has(garbage.digest));
      const res = await s2.gc({ roots: [rooted.digest] });
      assert.deepEqual(res.removed, [garbage.digest]);
      assert.equal(res.bytes, 7);
      for (const d of [layer, config, manifest, index, rooted, kept])
        assert.ok(await s2.has(d.digest), d.digest);
      const img = await loadImage(s2, index);
      assert.deepEqual(presentPlatforms(img), ['linux/amd64']);
      assert.equal(await imageSize(s2, img), index.size + manifest.size + config.size + layer.size);
      await leased.release();
      await s2.deleteNames(['localhost:5000/gc:1']);
      const res2 = await s2.gc();
      assert.equal(res2.removed.length, 6);
      assert.deepEqual(readdirSync(join(s2.dir, 'blobs', 'sha256')), []);
      const check = await s2.check();
      assert.deepEqual(check, { ok: true, problems: [], leftovers: [] });
    });

    test('check finds a tampered blob and an incomplete image', async () => {
      const s = await open();
      const layer = await s.putBlob(Buffer.from('layer bytes'), { mediaType: MediaTypeImageLayerGzip });
      const config = await s.putBlob(Buffer.from('{}'), { mediaType: MediaTypeImageConfig });
      const manifest = await s.putBlob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaTypeImageManifest,
            config,
            layers: [layer, { ...layer, digest: digestOf('gone') }],
          }),
        ),
        { mediaType: MediaTypeImageManifest },
      );
      await s.setName('localhost:5000/check:1', manifest);
      writeFileSync(s.blobPath(layer.digest), 'tampered');
      const r = await s.check();
      assert.equal(r.ok, false);
      assert.ok(
        r.problems.some((p) => p.startsWith(`blob ${layer.digest}: content has digest`)),
        r.problems.join('\n'),
      );
      assert.ok(
        r.problems.some((p) => p.includes(`${digestOf('gone')} is missing`)),
        r.problems.join('\n'),
      );
      await s.deleteNames(['localhost:5000/check:1']);
    });
  });
}

const root = tempDir('polyarch-content-');
contentStoreSuite('LocalContentStore', (key) => openContentStore(join(root, key)));

test('a store opened twice on one directory shares names and blobs', async () => {
  const dir = join(root, 'shared');
  const a = await openContentStore(dir);
  const b = await openContentStore(dir);
  const d = await a.putBlob(Buffer.from('x'), { mediaType: 'x' });
  await a.setName('n:1', d);
  assert.ok(await b.has(d.digest));
  assert.equal((await b.getName('n:1'))?.target.digest, d.digest);
  await a.close();
  await b.close();
  assert.ok(existsSync(join(dir, 'leases')));
});

test('writes the store cannot make are StoreErrors naming the store and what was being done', async () => {
  const dir = join(root, 'unwritable');
  const s = await openContentStore(dir);
  const d = await s.putBlob(Buffer.from('x'), { mediaType: 'x' });
  // a directory that cannot take files (as root, a mode would not stop us): make it a file
  rmSync(join(dir, 'ingest'), { recursive: true });
  writeFileSync(join(dir, 'ingest'), '');
  await assert.rejects(
    s.setName('localhost:5000/n:1', d),
    (e: Error) =>
      e instanceof StoreError &&
      e.message.startsWith(`updating the image names in the local store ${dir}: ENOTDIR`),
  );
  rmSync(join(dir, 'leases'), { recursive: true });
  writeFileSync(join(dir, 'leases'), '');
  const lease = await s.createLease();
  await assert.rejects(
    lease.add([d.digest]),
    (e: Error) =>
      e instanceof StoreError &&
      e.message.startsWith(`recording the blobs in use in the local store ${dir}: ENOTDIR`),
  );
  await s.close();
});
