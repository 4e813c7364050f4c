/**
 * The pure parts of the outputs (which outputs a set of flags means, where annotations land,
 * the metadata file, the layout of an OCI/docker archive, where the Docker engine is) and the
 * crash-safe writes of exporter/dest.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { parseLoad } from '../../src/cli/build.js';
import type { BlobInfo, Provider } from '../../src/content/interfaces.js';
import { annotationFromAttr, resolveAnnotations } from '../../src/exporter/annotations.js';
import { checkDestination, writeDirAtomic, writeFileAtomic } from '../../src/exporter/dest.js';
import { dockerEndpoint } from '../../src/exporter/docker-engine.js';
import { platformDirName, splitDirs } from '../../src/exporter/filesystem.js';
import { indexEntries, planLayout } from '../../src/exporter/layout.js';
import { buildMetadata, imageID, newBuildRef } from '../../src/exporter/metadata.js';
import { formatKey, type Output, type OutputSpec, resolveOutputs } from '../../src/exporter/outputs.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import { goJSONBytes } from '../../src/oci/json.js';
import type { Descriptor } from '../../src/oci/types.js';
import { tempDir } from '../helpers/fixtures.js';

const arm64 = { os: 'linux', architecture: 'arm64' };
const amd64 = { os: 'linux', architecture: 'amd64' };
const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };

function outputs(specs: OutputSpec[], more: Partial<Parameters<typeof resolveOutputs>[0]> = {}): Output[] {
  return resolveOutputs({
    outputs: specs,
    tags: [],
    push: false,
    load: false,
    annotations: [],
    cwd: '/work/ctx',
    stdoutIsTTY: false,
    ...more,
  });
}

describe('resolveOutputs (buildx rules)', () => {
  test('tags alone name the image in the local store; nothing at all exports nothing', () => {
    const [o] = outputs([], { tags: ['hello', 'localhost:5000/a/b:1'] });
    assert.deepEqual(o, {
      type: 'image',
      names: ['docker.io/library/hello:latest', 'localhost:5000/a/b:1'],
      push: false,
      pushByDigest: false,
      insecure: false,
      store: true,
      format: { oci: true, annotations: [], compression: { type: 'gzip' }, forceCompression: false },
    });
    const [byDigest] = outputs([
      {
        type: 'image',
        attrs: { name: 'a', push: 'true', 'push-by-digest': 'true', 'registry.insecure': 'true' },
      },
    ]);
    assert.ok(byDigest!.type === 'image' && byDigest!.pushByDigest && byDigest!.insecure);
    assert.deepEqual(outputs([]), []);
  });

  test('--push sets push on image outputs or adds one; type=registry pushes by default', () => {
    const added = outputs([], { tags: ['r/x'], push: true });
    assert.equal(added.length, 1);
    assert.ok(added[0]!.type === 'image' && added[0]!.push && added[0]!.names[0] === 'docker.io/r/x:latest');
    const set = outputs([{ type: 'image', attrs: { name: 'a' } }], { push: true });
    assert.ok(set.length === 1 && set[0]!.type === 'image' && set[0]!.push);
    const reg = outputs([{ type: 'registry', attrs: { name: 'a,b:2' } }]);
    assert.ok(reg[0]!.type === 'image' && reg[0]!.push);
    assert.deepEqual(reg[0]!.type === 'image' && reg[0]!.names, [
      'docker.io/library/a:latest',
      'docker.io/library/b:2',
    ]);
    assert.throws(() => outputs([], { push: true }), /tag is needed when pushing to registry/);
  });

  test('--load adds a load; type=docker without dest is that load; --load=docker requires an engine', () => {
    const [l] = outputs([], { tags: ['x'], load: true });
    assert.ok(l!.type === 'load' && l!.docker === 'auto' && l!.names[0] === 'docker.io/library/x:latest');
    const one = outputs([{ type: 'docker', attrs: {} }], { load: 'docker', tags: ['x'] });
    assert.equal(one.length, 1);
    assert.ok(one[0]!.type === 'load' && one[0]!.docker === 'required');
    assert.equal(outputs([{ type: 'docker', attrs: {} }])[0]!.type, 'load');
  });

  test('oci and docker files: tar or directory, relative to the working directory, stdout for - ', () => {
    const [f, d, s] = outputs([
      { type: 'oci', destination: 'out.tar', attrs: {} },
      { type: 'oci', destination: '/abs/layout', attrs: { tar: 'false', 'oci-mediatypes': 'false' } },
      { type: 'docker', destination: '-', attrs: { name: 'n' } },
    ]);
    assert.deepEqual(f!.type === 'oci' && f!.dest, { kind: 'file', path: '/work/ctx/out.tar' });
    assert.deepEqual(d!.type === 'oci' && [d!.dest, d!.format.oci], [
      { kind: 'dir', path: '/abs/layout' },
      false,
    ]);
    assert.ok(
      s!.type === 'docker' && s!.dest.kind === 'stdout' && !s!.format.oci,
      'docker: Docker media types',
    );
    assert.throws(
      () => outputs([{ type: 'tar', attrs: {} }], { stdoutIsTTY: true }),
      /refusing to write to console/,
    );
    assert.throws(
      () =>
        outputs([
          { type: 'tar', destination: '-', attrs: {} },
          { type: 'oci', destination: '-', attrs: {} },
        ]),
      /only one output can be written to stdout/,
    );
    assert.throws(() => outputs([{ type: 'local', destination: '-', attrs: {} }]), /dest=- is not supported/);
  });

  test('compression, compression-level and force-compression, as BuildKit reads them', () => {
    const [zstd] = outputs([
      {
        type: 'oci',
        destination: '/tmp/x.tar',
        attrs: { compression: 'zstd', 'compression-level': '19', 'oci-mediatypes': 'false' },
      },
    ]);
    assert.ok(zstd && 'format' in zstd);
    assert.deepEqual(zstd.format.compression, { type: 'zstd', level: 19 });
    // zstd has only an OCI media type: BuildKit turns OCI media types on for it
    assert.equal(zstd.format.oci, true);
    assert.equal(zstd.format.forceCompression, false);
    const [forced] = outputs([
      {
        type: 'image',
        attrs: { compression: 'uncompressed', 'compression-level': '5', 'force-compression': '' },
      },
    ]);
    assert.ok(forced && 'format' in forced);
    assert.deepEqual(forced.format.compression, { type: 'uncompressed' });
    assert.equal(forced.format.forceCompression, true);
    const [docker] = outputs([
      { type: 'docker', destination: '/tmp/d.tar', attrs: { 'compression-level': '9' } },
    ]);
    assert.ok(docker && 'format' in docker);
    assert.deepEqual(docker.format.compression, { type: 'gzip', level: 9 });
    assert.equal(docker.format.oci, false);
    // formats that compress differently do not share an assembly
    assert.notEqual(formatKey(zstd.format), formatKey({ ...zstd.format, compression: { type: 'gzip' } }));
    assert.notEqual(formatKey(zstd.format), formatKey({ ...zstd.format, forceCompression: true }));
  });

  test('unknown types and options, bad values: one clear error each', () => {
    assert.throws(() => outputs([{ type: 'zip', attrs: {} }]), /unknown output type "zip": expected one of/);
    assert.throws(
      () => outputs([{ type: 'local', destination: 'x', attrs: { color: 'red' } }]),
      /unknown option "color" for output type=local/,
    );
    assert.throws(
      () => outputs([{ type: 'image', attrs: { compression: 'estargz' } }]),
      /compression=estargz is not supported/,
    );
    assert.throws(
      () => outputs([{ type: 'image', attrs: { compression: 'lz4' } }]),
      /compression=lz4: unsupported layer compression type/,
    );
    assert.throws(
      () => outputs([{ type: 'image', attrs: { 'compression-level': '11' } }]),
      /compression-level=11: expected 0 to 9 for gzip/,
    );
    assert.throws(
      () => outputs([{ type: 'image', attrs: { compression: 'zstd', 'compression-level': '23' } }]),
      /compression-level=23: expected 1 to 22 for zstd/,
    );
    assert.throws(
      () => outputs([{ type: 'image', attrs: { 'force-compression': 'maybe' } }]),
      /force-compression=maybe: expected true or false/,
    );
    assert.throws(
      () => outputs([{ type: 'image', attrs: { push: 'yes' } }]),
      /push=yes: expected true or false/,
    );
    assert.throws(() => outputs([{ type: 'image', attrs: { name: 'UPPER' } }]), /invalid name "UPPER"/);
    // accepted for buildx compatibility
    assert.equal(
      outputs([{ type: 'image', attrs: { unpack: 'true', 'rewrite-timestamp': 'true' } }]).length,
      1,
    );
  });

  test('exporter annotation attributes join the --annotation ones', () => {
    const [o] = outputs(
      [
        {
          type: 'oci',
          destination: 'x',
          attrs: { 'annotation-index.a': '1', 'annotation[linux/arm64].b': '2' },
        },
      ],
      { annotations: [{ types: [], key: 'c', value: '3' }] },
    );
    assert.ok(o!.type === 'oci');
    assert.deepEqual(
      o!.format.annotations.map((a) => [a.types, a.platform?.architecture, a.key, a.value]),
      [
        [[], undefined, 'c', '3'],
        [['index'], undefined, 'a', '1'],
        [[], 'arm64', 'b', '2'],
      ],
    );
  });
});

test('--load takes true, false or docker', () => {
  assert.equal(parseLoad(undefined), false);
  assert.equal(parseLoad('true'), true);
  assert.equal(parseLoad('false'), false);
  assert.equal(parseLoad('docker'), 'docker');
  assert.throws(() => parseLoad('podman'), /invalid argument "podman" for "--load" flag/);
});

describe('annotations', () => {
  test('default type is manifest; a platform narrows it; descriptors and index apart', () => {
    const set = resolveAnnotations(
      [
        { types: [], key: 'all', value: '1' },
        { types: ['manifest'], platform: arm64, key: 'arm', value: 'y' },
        { types: ['manifest-descriptor'], key: 'entry', value: 'e' },
        { types: ['index', 'index-descriptor'], key: 'idx', value: 'i' },
      ],
      [arm64, amd64],
    );
    assert.deepEqual(set.manifest(arm64), { all: '1', arm: 'y' });
    assert.deepEqual(set.manifest(amd64), { all: '1' });
    assert.deepEqual(set.manifestDescriptor(amd64), { entry: 'e' });
    assert.deepEqual(set.index, { idx: 'i' });
    assert.deepEqual(set.indexDescriptor, { idx: 'i' });
  });

  test('what does not fit the build is refused', () => {
    assert.throws(
      () => resolveAnnotations([{ types: ['index'], key: 'a', value: '' }], [arm64]),
      /index annotations not supported for single platform export/,
    );
    assert.throws(
      () => resolveAnnotations([{ types: [], platform: armv7, key: 'a', value: '' }], [arm64, amd64]),
      /platform linux\/arm\/v7 is not built/,
    );
    assert.throws(() => annotationFromAttr('annotation-layer.a', 'b'), /unknown annotation type "layer"/);
    assert.equal(annotationFromAttr('name', 'x'), undefined);
  });
});

describe('metadata', () => {
  const d = (s: string) => digestOf(s);
  test('one platform: config digest, descriptor with platform; the image ID is the config', () => {
    const res = {
      descriptor: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: d('m'),
        size: 5,
        platform: arm64,
      },
      configDigest: d('c'),
      names: ['docker.io/library/a:1', 'docker.io/library/a:2'],
    };
    assert.deepEqual(buildMetadata(res, 'default/default/x'), {
      'buildx.build.ref': 'default/default/x',
      'containerimage.config.digest': d('c'),
      'containerimage.descriptor': {
        mediaType: res.descriptor.mediaType,
        digest: d('m'),
        size: 5,
        platform: arm64,
      },
      'containerimage.digest': d('m'),
      'image.name': 'docker.io/library/a:1,docker.io/library/a:2',
    });
    assert.equal(imageID(res), d('c'));
    assert.equal(imageID({ descriptor: res.descriptor, names: [] }), d('m'));
    assert.deepEqual(buildMetadata({ names: [] }, 'r'), { 'buildx.build.ref': 'r' });
  });

  test('build refs look like buildx ones', () => {
    assert.match(newBuildRef('default'), /^default\/default\/[a-z0-9]{25}$/);
    assert.match(newBuildRef('mybuilder'), /^mybuilder\/mybuilder0\/[a-z0-9]{25}$/);
  });
});

describe('docker engine endpoint', () => {
  test('DOCKER_HOST, else the default socket when it exists', () => {
    assert.deepEqual(dockerEndpoint({ DOCKER_HOST: 'unix:///run/d.sock' }), {
      kind: 'unix',
      path: '/run/d.sock',
    });
    assert.deepEqual(dockerEndpoint({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 2375,
    });
    assert.throws(() => dockerEndpoint({ DOCKER_HOST: 'ssh://me@host' }), /expected unix:\/\/\/path/);
    assert.deepEqual(
      dockerEndpoint({}, (p) => p === '/var/run/docker.sock'),
      { kind: 'unix', path: '/var/run/docker.sock' },
    );
    assert.equal(
      dockerEndpoint({}, () => false),
      undefined,
    );
  });
});

describe('file trees', () => {
  test('platform directories as buildx names them; split only for several platforms by default', () => {
    assert.equal(platformDirName(armv7), 'linux_arm_v7');
    assert.deepEqual(splitDirs([{ platform: arm64 }], undefined), ['']);
    assert.deepEqual(splitDirs([{ platform: arm64 }, { platform: amd64 }], undefined), [
      'linux_arm64',
      'linux_amd64',
    ]);
    assert.deepEqual(splitDirs([{ platform: arm64 }, { platform: amd64 }], false), ['', '']);
    assert.deepEqual(splitDirs([{ platform: arm64 }], true), ['linux_arm64']);
  });
});

/** A Provider over blobs in memory. */
function memoryProvider(blobs: Map<string, Buffer>): Provider {
  const get = (d: Digest) => {
    const b = blobs.get(d);
    if (!b) throw new Error(`no blob ${d}`);
    return b;
  };
  return {
    info: async (d): Promise<BlobInfo | undefined> =>
      blobs.has(d) ? { digest: d, size: get(d).length } : undefined,
    has: async (d) => blobs.has(d),
    readBlob: async (d) => get(d),
    openBlob: async (d) => Readable.from([get(d)]),
    blobPath: (d) => `/nowhere/${d}`,
  };
}

describe('OCI layout and docker archive', () => {
  const blobs = new Map<string, Buffer>();
  const put = (v: unknown, mediaType: string): Descriptor => {
    const b = Buffer.isBuffer(v) ? v : goJSONBytes(v);
    const digest = digestOf(b);
    blobs.set(digest, b);
    return { mediaType, digest, size: b.length };
  };
  const image = (arch: string) => {
    const layer = put(Buffer.from(`layer ${arch}`), 'application/vnd.oci.image.layer.v1.tar+gzip');
    const config = put({ architecture: arch, os: 'linux' }, 'application/vnd.oci.image.config.v1+json');
    return put(
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] },
      'application/vnd.oci.image.manifest.v1+json',
    );
  };
  const m1 = image('arm64');
  const m2 = image('amd64');
  const index = put(
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...m1, platform: arm64 },
        { ...m2, platform: amd64 },
      ],
    },
    'application/vnd.oci.image.index.v1+json',
  );

  test('index.json names the image once per name, with the tag as ref.name', () => {
    assert.deepEqual(indexEntries(index, ['docker.io/library/a:1', 'localhost:5000/b:2'], { z: '1' }), [
      {
        ...index,
        annotations: {
          'io.containerd.image.name': 'docker.io/library/a:1',
          'org.opencontainers.image.ref.name': '1',
          z: '1',
        },
      },
      {
        ...index,
        annotations: {
          'io.containerd.image.name': 'localhost:5000/b:2',
          'org.opencontainers.image.ref.name': '2',
          z: '1',
        },
      },
    ]);
    assert.deepEqual(indexEntries(index, [], {}), [index]);
  });

  test('every platform’s blobs, sorted files; docker: manifest.json for the host platform, repositories', async () => {
    const store = memoryProvider(blobs);
    const oci = await planLayout({ store, top: index, names: [], variant: 'oci', host: amd64 });
    assert.equal(oci.files.filter((f) => f.blob).length, 1 + 2 * 3);
    assert.deepEqual(
      oci.files.filter((f) => !f.blob).map((f) => f.path),
      ['index.json', 'oci-layout'],
    );
    const paths = oci.files.map((f) => f.path);
    assert.deepEqual(paths, [...paths].sort());
    const docker = await planLayout({
      store,
      top: index,
      names: ['docker.io/library/hello:v1'],
      variant: 'docker',
      host: amd64,
      sourceDateEpoch: 0,
    });
    const file = (p: string) => JSON.parse(docker.files.find((f) => f.path === p)!.data!.toString());
    const amdManifest = JSON.parse(blobs.get(m2.digest)!.toString());
    assert.deepEqual(file('manifest.json'), [
      {
        Config: `blobs/sha256/${amdManifest.config.digest.slice(7)}`,
        RepoTags: ['hello:v1'],
        Layers: [`blobs/sha256/${amdManifest.layers[0].digest.slice(7)}`],
      },
    ]);
    assert.deepEqual(file('repositories'), { hello: { v1: amdManifest.config.digest.slice(7) } });
    assert.equal(
      file('index.json').manifests[0].annotations['org.opencontainers.image.created'],
      '1970-01-01T00:00:00Z',
    );
  });
});

describe('crash-safe destinations', () => {
  test('a failed file write leaves the old file and no temporary', async () => {
    const dir = tempDir('polyarch-dest-');
    const path = join(dir, 'out.tar');
    writeFileSync(path, 'old');
    await assert.rejects(
      writeFileAtomic(path, async (out) => {
        out.write('half');
        throw new Error('the producer failed');
      }),
      /the producer failed/,
    );
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir), ['out.tar']);
    await writeFileAtomic(path, async (out) => {
      out.end('new');
    });
    assert.equal(readFileSync(path, 'utf8'), 'new');
  });

  test('the next write removes what killed writes left, not what a live one is writing', async () => {
    const dir = tempDir('polyarch-dest-');
    const path = join(dir, 'out.tar');
    const dead = spawnSync('true').pid!;
    const deadFile = `.polyarch-tmp-out.tar-${dead}-0000aaaa`;
    const deadDir = `.polyarch-tmp-tree-${dead}-0000bbbb`;
    const liveFile = `.polyarch-tmp-out.tar-${process.ppid}-0000cccc`;
    for (const n of [deadFile, liveFile]) writeFileSync(join(dir, n), 'half');
    mkdirSync(join(dir, deadDir, 'sub'), { recursive: true });
    await writeFileAtomic(path, async (out) => {
      out.end('new');
    });
    assert.deepEqual(readdirSync(dir).sort(), [deadDir, liveFile, 'out.tar'].sort());
    await writeDirAtomic(join(dir, 'tree'), async () => {});
    assert.deepEqual(readdirSync(dir).sort(), [liveFile, 'out.tar', 'tree'].sort());
  });

  test('a directory is renamed into place, or merged entry by entry into a non-empty one', async () => {
    const dir = tempDir('polyarch-dest-');
    const dest = join(dir, 'tree');
    await writeDirAtomic(dest, async (d) => {
      mkdirSync(join(d, 'sub'));
      writeFileSync(join(d, 'sub', 'a'), 'A');
    });
    writeFileSync(join(dest, 'kept'), 'K');
    await writeDirAtomic(dest, async (d) => {
      mkdirSync(join(d, 'sub'));
      writeFileSync(join(d, 'sub', 'b'), 'B');
    });
    assert.deepEqual(readdirSync(dest).sort(), ['kept', 'sub']);
    assert.deepEqual(readdirSync(join(dest, 'sub')), ['b'], 'an entry of the same name is replaced');
    assert.deepEqual(readdirSync(dir), ['tree'], 'no temporary left');
    await assert.rejects(
      writeDirAtomic(dest, async () => {
        throw new Error('no');
      }),
      /no/,
    );
    assert.deepEqual(readdirSync(dir), ['tree']);
  });

  test('checkDestination refuses what cannot be written', async () => {
    const dir = tempDir('polyarch-dest-');
    writeFileSync(join(dir, 'f'), '');
    await checkDestination(join(dir, 'new.tar'), 'file', 'out');
    await checkDestination(join(dir, 'a', 'b', 'c'), 'dir', 'out');
    await assert.rejects(checkDestination(dir, 'file', 'out'), /it is a directory/);
    await assert.rejects(checkDestination(join(dir, 'no', 'x.tar'), 'file', 'out'), /does not exist/);
    await assert.rejects(checkDestination(join(dir, 'f'), 'dir', 'out'), /exists and is not a directory/);
    await assert.rejects(checkDestination(join(dir, 'f', 'x'), 'dir', 'out'), /is not a directory/);
  });
});
