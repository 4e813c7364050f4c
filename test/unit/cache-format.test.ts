import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cacheConfig, MediaTypeCacheConfig, parseCacheConfig, recordChain } from '../../src/cache/format.js';
import { readLocalCache, writeLocalCache } from '../../src/cache/local.js';
import { CacheImports } from '../../src/cache/source.js';
import { resolveCacheExports, resolveCacheImports } from '../../src/cache/spec.js';
import { stepsToExport } from '../../src/cache/transfer.js';
import type { Provider } from '../../src/content/interfaces.js';
import type { PlatformBuild } from '../../src/exporter/assemble.js';
import { type Digest, digestHex, digestOf } from '../../src/oci/digest.js';
import { tempDir } from '../helpers/fixtures.js';

const gz = 'application/vnd.oci.image.layer.v1.tar+gzip';
const blob = (s: string) => ({ mediaType: gz, digest: digestOf(s), size: s.length });
const chain = (...names: string[]) =>
  names.map((n) => ({
    blob: blob(n),
    diffID: digestOf(`diff ${n}`),
    producedBy: digestOf(`step ${n}`),
    created: '2024-01-01T00:00:00Z',
  }));
const k = (s: string) => digestOf(`key ${s}`);

describe('cache description', () => {
  test('layers are shared between records, records sorted by key; same input, same bytes', () => {
    const recs = [
      { key: k('b'), description: 'RUN b', layers: chain('base', 'b') },
      { key: k('a'), description: 'RUN a', layers: chain('base', 'a') },
    ];
    const cfg = cacheConfig(recs, 1700000000);
    assert.equal(cfg.layers.length, 3);
    assert.deepEqual(
      cfg.records.map((r) => r.key),
      [k('a'), k('b')].sort(),
    );
    assert.equal(cfg.sourceDateEpoch, 1700000000);
    assert.deepEqual(JSON.stringify(cacheConfig([...recs].reverse(), 1700000000)), JSON.stringify(cfg));
    const back = parseCacheConfig(Buffer.from(JSON.stringify(cfg)));
    const a = back.records.find((r) => r.key === k('a'))!;
    assert.deepEqual(recordChain(back, a), chain('base', 'a'));
  });

  test('a malformed description is refused with what is wrong', () => {
    assert.throws(() => parseCacheConfig(Buffer.from('{"schemaVersion":2}')), /schemaVersion 2/);
    const cfg = cacheConfig([{ key: k('a'), description: 'a', layers: chain('x') }]);
    cfg.records[0]!.chain[0]!.layer = 5;
    assert.throws(
      () => parseCacheConfig(Buffer.from(JSON.stringify(cfg))),
      /names a layer that is not there/,
    );
  });
});

describe('local cache layout', () => {
  test('written as an OCI layout (index last) and read back; blobs served from it', async () => {
    const store = tempDir();
    const provider = { blobPath: (d: Digest) => join(store, digestHex(d)) } as Provider;
    for (const n of ['base', 'a']) writeFileSync(join(store, digestHex(digestOf(n))), n);
    const cfg = cacheConfig([{ key: k('a'), description: 'RUN a', layers: chain('base', 'a') }]);
    const dest = join(tempDir(), 'cache');
    const manifest = await writeLocalCache(dest, cfg, provider);
    const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, manifest.digest);
    const m = JSON.parse(readFileSync(join(dest, 'blobs/sha256', digestHex(manifest.digest)), 'utf8'));
    assert.equal(m.config.mediaType, MediaTypeCacheConfig);
    assert.equal(m.artifactType, 'application/vnd.polyarch.cache.v1');
    assert.deepEqual(
      m.layers,
      cfg.layers.map((l) => l.blob),
    );
    const src = await readLocalCache(dest, 'type=local,src=x');
    assert.ok(src);
    assert.deepEqual(src.config, cfg);
    const chunks: Buffer[] = [];
    for await (const c of await src.blobs.blob(blob('a')).open()) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'a');
    // a second export into the same directory replaces the index
    const again = await writeLocalCache(dest, cacheConfig([]), provider);
    assert.equal(
      JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')).manifests[0].digest,
      again.digest,
    );
  });

  test('an export cut short (a blob it cannot copy) leaves the previous cache readable', async () => {
    const store = tempDir();
    const provider = { blobPath: (d: Digest) => join(store, digestHex(d)) } as Provider;
    writeFileSync(join(store, digestHex(digestOf('base'))), 'base');
    const dest = join(tempDir(), 'cache');
    const old = cacheConfig([{ key: k('old'), description: 'old', layers: chain('base') }]);
    await writeLocalCache(dest, old, provider);
    const next = cacheConfig([{ key: k('new'), description: 'new', layers: chain('base', 'absent') }]);
    await assert.rejects(writeLocalCache(dest, next, provider), /ENOENT/);
    assert.deepEqual((await readLocalCache(dest, 'x'))?.config, old);
  });

  test('digest= picks that manifest; a digest the layout does not name is an error saying so', async () => {
    const dest = join(tempDir(), 'cache');
    const cfg = cacheConfig([]);
    const m = await writeLocalCache(dest, cfg, {} as Provider);
    assert.deepEqual((await readLocalCache(dest, 'x', m.digest))?.config, cfg);
    await assert.rejects(readLocalCache(dest, 'x', digestOf('other')), /its index names no manifest sha256:/);
    assert.throws(
      () => resolveCacheImports([{ type: 'local', attrs: { src: '/c', digest: 'sha256:nope' } }], '/'),
      /invalid digest "sha256:nope"/,
    );
  });

  test('no index.json: no cache; an image layout: an error naming what it holds', async () => {
    assert.equal(await readLocalCache(tempDir(), 'x'), undefined);
    const dir = tempDir();
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json' },
    });
    const d = digestOf(manifest);
    mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
    writeFileSync(join(dir, 'blobs/sha256', digestHex(d)), manifest);
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d, size: 1 }],
      }),
    );
    await assert.rejects(
      readLocalCache(dir, 'x'),
      new RegExp(`holds application/vnd.oci.image.manifest.v1\\+json ${d}, not a polyarch cache`),
    );
  });
});

describe('cache specs', () => {
  test('type=registry (and a bare reference, which the CLI makes type=registry) resolved', () => {
    const [e] = resolveCacheExports(
      [{ type: 'registry', attrs: { ref: 'localhost:5000/app:cache', mode: 'max' } }],
      '/',
    );
    assert.equal(e!.type, 'registry');
    assert.equal(e!.mode, 'max');
    assert.deepEqual(e!.type === 'registry' && [e.ref.domain, e.ref.path, e.ref.tag], [
      'localhost:5000',
      'app',
      'cache',
    ]);
    const [i] = resolveCacheImports([{ type: 'registry', attrs: { ref: 'busybox' } }], '/');
    assert.deepEqual(i!.type === 'registry' && [i.ref.domain, i.ref.path, i.ref.tag], [
      'docker.io',
      'library/busybox',
      'latest',
    ]);
  });

  test('type=local resolved; mode min and gzip layers by default', () => {
    assert.deepEqual(resolveCacheExports([{ type: 'local', attrs: { dest: 'c' } }], '/w'), [
      {
        type: 'local',
        dest: '/w/c',
        mode: 'min',
        ignoreError: false,
        name: 'type=local,dest=c',
        compression: { type: 'gzip' },
        forceCompression: false,
      },
    ]);
    assert.deepEqual(resolveCacheImports([{ type: 'local', attrs: { src: '/c' } }], '/w'), [
      { type: 'local', src: '/c', name: 'type=local,src=/c' },
    ]);
  });
  test('compression=, compression-level= and force-compression= of a --cache-to', () => {
    const [r] = resolveCacheExports(
      [
        {
          type: 'registry',
          attrs: { ref: 'r/x', compression: 'zstd', 'compression-level': '9', 'force-compression': 'true' },
        },
      ],
      '/',
    );
    assert.deepEqual(r!.type === 'registry' && [r.compression, r.forceCompression], [
      { type: 'zstd', level: 9 },
      true,
    ]);
    const [l] = resolveCacheExports(
      [{ type: 'local', attrs: { dest: 'c', compression: 'uncompressed' } }],
      '/',
    );
    assert.deepEqual(l!.type === 'local' && [l.compression, l.forceCompression], [
      { type: 'uncompressed' },
      false,
    ]);
    // the import side has no use for them (BuildKit ignores them there too)
    const [i] = resolveCacheImports([{ type: 'registry', attrs: { ref: 'r/x', compression: 'zstd' } }], '/');
    assert.equal(i!.type, 'registry');
  });

  test('refusals, one clear message each', () => {
    for (const type of ['gha', 's3', 'azblob']) {
      assert.throws(
        () => resolveCacheExports([{ type, attrs: {} }], '/'),
        new RegExp(`--cache-to type=${type} is not supported`),
      );
    }
    assert.throws(
      () => resolveCacheExports([{ type: 'inline', attrs: { mode: 'max' } }], '/'),
      /--cache-to type=inline supports mode=min only/,
    );
    assert.deepEqual(resolveCacheExports([{ type: 'inline', attrs: {} }], '/'), [
      { type: 'inline', mode: 'min', ignoreError: false, name: 'type=inline' },
    ]);
    assert.throws(
      () => resolveCacheImports([{ type: 'inline', attrs: {} }], '/'),
      /--cache-from type=inline: name the image instead/,
    );
    assert.throws(() => resolveCacheImports([{ type: 'registry', attrs: {} }], '/'), /ref is required/);
    assert.throws(
      () =>
        resolveCacheExports([{ type: 'registry', attrs: { ref: 'r/x', 'image-manifest': 'false' } }], '/'),
      /image-manifest=false is not supported: polyarch's cache is always an OCI image manifest/,
    );
    assert.throws(
      () => resolveCacheExports([{ type: 'registry', attrs: { ref: 'r/x', compression: 'lz4' } }], '/'),
      /--cache-to type=registry: compression=lz4: unsupported layer compression type \(gzip, zstd, uncompressed\)/,
    );
    assert.throws(
      () => resolveCacheExports([{ type: 'local', attrs: { dest: 'x', compression: 'estargz' } }], '/'),
      /--cache-to type=local: compression=estargz is not supported/,
    );
    assert.throws(
      () =>
        resolveCacheExports(
          [{ type: 'local', attrs: { dest: 'x', compression: 'zstd', 'compression-level': '23' } }],
          '/',
        ),
      /--cache-to type=local: compression-level=23: expected 1 to 22 for zstd/,
    );
    assert.throws(
      () => resolveCacheExports([{ type: 'local', attrs: { dest: 'x', 'force-compression': 'yes' } }], '/'),
      /--cache-to: invalid force-compression "yes": expected true or false/,
    );
    assert.throws(
      () => resolveCacheImports([{ type: 'registry', attrs: { ref: 'x::' } }], '/'),
      /--cache-from type=registry,ref=x::: invalid reference/,
    );
    assert.throws(() => resolveCacheExports([{ type: 'local', attrs: {} }], '/'), /dest is required/);
    assert.throws(
      () => resolveCacheExports([{ type: 'local', attrs: { dest: 'x', mode: 'all' } }], '/'),
      /invalid mode/,
    );
    assert.throws(() => resolveCacheImports([{ type: 'nope', attrs: {} }], '/'), /unknown cache type "nope"/);
  });
});

describe('what a cache holds', () => {
  test('mode=min records the final chains, mode=max every step', () => {
    const layers = [{ snapshot: 's', diffID: digestOf('s') }];
    const build = {
      key: k('final'),
      layers,
      steps: [
        { key: k('final'), description: 'COPY', layers },
        { key: k('mid'), description: 'RUN', layers },
        { key: k('empty'), description: 'WORKDIR', layers: [] },
      ],
    } as unknown as PlatformBuild;
    assert.deepEqual(
      stepsToExport([build], 'min').map((s) => [s.key, s.description]),
      [[k('final'), 'COPY']],
    );
    assert.deepEqual(
      stepsToExport([build], 'max')
        .map((s) => s.key)
        .sort(),
      [k('final'), k('mid')].sort(),
    );
  });

  test('several sources: the first that has a key answers', () => {
    const one = cacheConfig([{ key: k('a'), description: 'from one', layers: chain('x') }]);
    const two = cacheConfig([
      { key: k('a'), description: 'from two', layers: chain('y') },
      { key: k('b'), description: 'only two', layers: chain('z') },
    ]);
    const src = (config: typeof one, name: string) => ({
      name,
      config,
      blobs: {
        name,
        blob: () => ({
          open: async () => {
            throw new Error('no');
          },
        }),
        mountFrom: () => [],
      },
    });
    const imports = new CacheImports([src(one, '1'), src(two, '2')]);
    assert.equal(imports.lookup(k('a'))?.description, 'from one');
    assert.equal(imports.lookup(k('b'))?.source.name, '2');
    assert.equal(imports.lookup(k('c')), undefined);
  });
});
