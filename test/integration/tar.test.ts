/**
 * Our tar reader and writer against GNU tar (and umoci) as oracles, on a tree with everything
 * a layer can hold: binary xattrs, devices, fifos, hardlinks, long and non-UTF-8 names, setuid.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { digestOf } from '../../src/oci/index.js';
import { diffUpperDir, unpackLayer, upperDirEntries } from '../../src/snapshot/index.js';
import { readTar, writeTar } from '../../src/tar/index.js';
import { tempDir } from '../helpers/fixtures.js';
import {
  bash,
  collect,
  makeFixtureTree,
  requireRoot,
  sh,
  treeManifest,
  treeXattrs,
} from './snapshot-helpers.js';

const work = tempDir('polyarch-tar-');
const src = join(work, 'src');

before(() => {
  requireRoot();
  mkdirSync(src);
  makeFixtureTree(src);
});

/** getfattr's attributes of every path under the source: path → (name → hex value). */
let srcXattrs: Map<string, Map<string, string>> | undefined;
function xattrsOf(path: Buffer): Map<string, string> {
  srcXattrs ??= new Map(
    [...treeXattrs(src)].map(([p, lines]) => [
      p,
      new Map(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 3)])),
    ]),
  );
  return srcXattrs.get(path.toString('latin1')) ?? new Map();
}

function hexMap(m: Map<string, Buffer>): Map<string, string> {
  return new Map([...m].map(([k, v]) => [k, v.toString('hex')]));
}

/** Reads `archive` with our reader and checks every entry against lstat of the source tree. */
async function checkAgainstSource(archive: string, opts: { xattrs: boolean; ns: boolean }): Promise<number> {
  const seen = new Map<string, string>(); // inode → first name
  let count = 0;
  for await (const { header: h, body } of readTar(createReadStream(archive))) {
    const rel = h.path
      .toString('latin1')
      .replace(/^\.\/?/, '')
      .replace(/\/$/, '');
    const p = Buffer.from(rel === '' ? src : `${src}/${rel}`, 'latin1');
    const st = lstatSync(p, { bigint: true });
    const what = `entry ${JSON.stringify(rel)}`;
    count++;
    assert.equal(h.mode, Number(st.mode) & 0o7777, `${what}: mode`);
    assert.equal(h.uid, Number(st.uid), `${what}: uid`);
    assert.equal(h.gid, Number(st.gid), `${what}: gid`);
    assert.equal(BigInt(h.mtime.sec), st.mtimeNs / 1_000_000_000n, `${what}: mtime seconds`);
    if (opts.ns) assert.equal(BigInt(h.mtime.nsec), st.mtimeNs % 1_000_000_000n, `${what}: mtime ns`);
    const content = await collect(body);
    const key = `${st.ino}`;
    if (h.type === 'hardlink') {
      assert.equal(
        seen.get(key),
        h.linkpath.toString('latin1').replace(/^\.\//, ''),
        `${what}: hardlink target`,
      );
      continue;
    }
    // attributes belong to the inode: GNU tar stores them with its first name only
    if (opts.xattrs) assert.deepEqual(hexMap(h.xattrs), xattrsOf(p), `${what}: xattrs`);
    if (!st.isDirectory() && st.nlink > 1n) seen.set(key, rel);
    if (st.isFile()) {
      assert.equal(h.type, 'file', what);
      assert.equal(h.size, Number(st.size), `${what}: size`);
      assert.equal(
        createHash('sha256').update(content).digest('hex'),
        createHash('sha256').update(readFileSync(p)).digest('hex'),
        `${what}: content`,
      );
    } else if (st.isDirectory()) assert.equal(h.type, 'dir', what);
    else if (st.isSymbolicLink()) {
      assert.equal(h.type, 'symlink', what);
      assert.deepEqual(h.linkpath, readlinkSync(p, { encoding: 'buffer' }), `${what}: target`);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      assert.equal(h.type, st.isCharacterDevice() ? 'char' : 'block', what);
      assert.equal(h.devmajor, Number(st.rdev >> 8n), `${what}: major`);
      assert.equal(h.devminor, Number(st.rdev & 0xffn), `${what}: minor`);
    } else if (st.isFIFO()) assert.equal(h.type, 'fifo', what);
  }
  return count;
}

describe('our reader on GNU tar archives', () => {
  test('POSIX (pax) format with xattrs: every field, ns mtimes, binary values, long names', async () => {
    const archive = join(work, 'posix.tar');
    sh('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-cpf', archive, '-C', src, '.']);
    const n = await checkAgainstSource(archive, { xattrs: true, ns: true });
    assert.equal(n, 21, 'every entry of the fixture tree');
  });
  test('GNU format: L/K long names and links, base-256 ids', async () => {
    const archive = join(work, 'gnu.tar');
    sh('tar', ['--format=gnu', '-cpf', archive, '-C', src, '.']);
    const raw = sh('tar', ['-tvf', archive]).toString('latin1');
    assert.match(raw, /3000000\/4000000/, 'GNU tar stored the large ids');
    const n = await checkAgainstSource(archive, { xattrs: false, ns: false });
    assert.equal(n, 21);
  });
});

describe('our writer read by GNU tar', () => {
  test('a layer of the fixture tree extracts with identical metadata (tar --xattrs -xpf)', async () => {
    const archive = join(work, 'ours.tar');
    await collect(writeTar(upperDirEntries(src))).then((b) => writeFileSync(archive, b));
    const out = join(work, 'gnu-extracted');
    mkdirSync(out);
    sh('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', archive, '-C', out]);
    // our layers carry whole seconds (as containerd's), so compare mtimes in seconds
    assert.deepEqual(treeManifest(out, { mtime: 's' }), treeManifest(src, { mtime: 's' }));
  });
  test('sub-second mtimes, large ids and long link targets through PAX', async () => {
    const archive = join(work, 'pax.tar');
    const entries = [
      {
        header: { type: 'dir' as const, path: 'd', mode: 0o750, mtime: { sec: 1600000000, nsec: 987654321 } },
      },
      {
        header: {
          type: 'file' as const,
          path: `d/${'n'.repeat(250)}`,
          size: 2,
          uid: 5_000_000,
          gid: 6_000_000,
          mtime: { sec: 1500000000, nsec: 123456789 },
        },
        body: Buffer.from('hi'),
      },
      {
        header: { type: 'symlink' as const, path: 'd/l', linkpath: `/${'x'.repeat(300)}`, mtime: 1400000000 },
      },
    ];
    writeFileSync(archive, await collect(writeTar(entries)));
    const out = join(work, 'pax-extracted');
    mkdirSync(out);
    sh('tar', ['--numeric-owner', '-xpf', archive, '-C', out]);
    const stat = (p: string) =>
      sh('stat', ['-c', '%u:%g %a %.9Y', join(out, p)])
        .toString()
        .trim();
    assert.equal(stat(`d/${'n'.repeat(250)}`), '5000000:6000000 644 1500000000.123456789');
    assert.equal(stat('d'), '0:0 750 1600000000.987654321');
    assert.equal(readlinkSync(join(out, 'd/l')), `/${'x'.repeat(300)}`);
  });
});

describe('our unpacker on a GNU tar archive', () => {
  test('gives the same tree as the source (mtimes to the microsecond, as utimes allows)', async () => {
    const archive = join(work, 'posix-for-unpack.tar');
    sh('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-cpf', archive, '-C', src, '.']);
    const gz = `${archive}.gz`;
    bash(`gzip -c "${archive}" > "${gz}"`);
    const dest = join(work, 'unpacked');
    mkdirSync(dest);
    const r = await unpackLayer(createReadStream(gz), dest, {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    });
    assert.equal(r.diffID, digestOf(sh('cat', [archive])));
    assert.equal(r.digest, digestOf(sh('cat', [gz])));
    assert.deepEqual(r.warnings, []);
    // the root entry (".") is not applied, as containerd: the snapshot's root is its own
    const manifest = (d: string) => treeManifest(d, { mtime: 'us' });
    assert.deepEqual(manifest(dest), manifest(src));
  });
});

describe('umoci as a second oracle', () => {
  test('umoci raw unpack of an OCI layout holding our layer gives the source tree', async () => {
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const blobTmp = join(layout, 'layer.tmp');
    const layer = await diffUpperDir(src, createWriteStream(blobTmp));
    sh('mv', [blobTmp, join(layout, 'blobs', 'sha256', layer.digest.slice(7))]);
    const putJSON = (v: unknown) => {
      const bytes = Buffer.from(JSON.stringify(v));
      const d = digestOf(bytes);
      writeFileSync(join(layout, 'blobs', 'sha256', d.slice(7)), bytes);
      return { digest: d, size: bytes.length };
    };
    const config = putJSON({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [layer.diffID] },
    });
    const manifest = putJSON({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    });
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: { 'org.opencontainers.image.ref.name': 'test' },
          },
        ],
      }),
    );
    const rootfs = join(work, 'umoci-rootfs');
    sh('umoci', ['raw', 'unpack', '--image', `${layout}:test`, rootfs]);
    // umoci restores security.capability and user.*, not trusted.* (it filters them)
    const opts = { mtime: 's' as const, skipXattrs: ['trusted.'] };
    assert.deepEqual(treeManifest(rootfs, opts), treeManifest(src, opts));
  });
});
