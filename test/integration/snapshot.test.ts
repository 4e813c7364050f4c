/**
 * The unpacker's safety against hostile archives, its errors, and the snapshot store: lookup by
 * chain ID, crash safety (kill -9 in the middle of an unpack and of a mounted step), and
 * concurrent processes unpacking the same layer.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DigestMismatchError, InvalidArgumentError, UnsupportedError } from '../../src/errors.js';
import { type Digest, digestOf } from '../../src/oci/index.js';
import { chainIDOf, mountsUnder, SnapshotStore, unpackTar } from '../../src/snapshot/index.js';
import { type TarWriteEntry, writeTar } from '../../src/tar/index.js';
import { repoRoot, tempDir } from '../helpers/fixtures.js';
import { collect, requireRoot, streamOf, treeManifest } from './snapshot-helpers.js';

const work = tempDir('polyarch-snap-');
const gzipType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const tarType = 'application/vnd.oci.image.layer.v1.tar';

before(() => requireRoot());

async function tarOf(entries: TarWriteEntry[]): Promise<Buffer> {
  return collect(writeTar(entries));
}

const file = (path: string, text: string): TarWriteEntry => ({
  header: { type: 'file', path, size: Buffer.byteLength(text), mode: 0o644 },
  body: Buffer.from(text),
});

/** Everything outside `root` that an escape could touch: the sandbox, /etc, /tmp and /. */
function outsideState(sandbox: string, root: string): string[] {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (p === root) continue;
      const st = lstatSync(p);
      lines.push(`${p} ${st.mode} ${st.size} ${st.nlink} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(sandbox);
  for (const d of ['/', '/etc', '/tmp']) lines.push(`${d}: ${readdirSync(d).sort().join(' ')}`);
  const pw = statSync('/etc/passwd');
  lines.push(`/etc/passwd ${pw.nlink} ${pw.size} ${pw.mtimeMs}`);
  return lines;
}

describe('hostile archives are neutralised inside the root (containerd semantics)', () => {
  const tag = randomBytes(4).toString('hex');
  const cases: { name: string; entries: TarWriteEntry[]; inside: string[]; error?: RegExp }[] = [
    { name: '../x', entries: [file(`../x-${tag}`, 'a')], inside: [`x-${tag}`] },
    { name: '/abs/../../x', entries: [file(`/abs/../../x2-${tag}`, 'a')], inside: [`x2-${tag}`] },
    {
      name: 'symlink to / then link/etc/x',
      entries: [
        { header: { type: 'symlink', path: 'link', linkpath: '/' } },
        file(`link/etc/x3-${tag}`, 'a'),
      ],
      inside: [`etc/x3-${tag}`, 'link'],
    },
    {
      name: 'symlink to ../../ then a file through it',
      entries: [{ header: { type: 'symlink', path: 'up', linkpath: '../../' } }, file(`up/x4-${tag}`, 'a')],
      inside: [`x4-${tag}`],
    },
    {
      name: 'a directory replaced by a symlink to /tmp, then a file through it',
      entries: [
        { header: { type: 'dir', path: 'd' } },
        { header: { type: 'symlink', path: 'd', linkpath: '/tmp' } },
        file(`d/x5-${tag}`, 'a'),
      ],
      inside: [`tmp/x5-${tag}`],
    },
    {
      name: 'a chain of relative symlinks climbing out',
      entries: [
        { header: { type: 'dir', path: 'a/b' } },
        { header: { type: 'symlink', path: 'a/b/c', linkpath: '../../../../..' } },
        { header: { type: 'symlink', path: 'a/e', linkpath: 'b/c/etc' } },
        file(`a/e/x6-${tag}`, 'a'),
      ],
      inside: [`etc/x6-${tag}`],
    },
    {
      name: 'a hardlink to /etc/passwd',
      entries: [{ header: { type: 'hardlink', path: 'pw', linkpath: '/etc/passwd' } }],
      inside: [],
      error: /entry "pw": hardlink target "etc\/passwd" is not in the layer/,
    },
    {
      name: 'a hardlink through a symlink to /etc',
      entries: [
        { header: { type: 'symlink', path: 's', linkpath: '/etc' } },
        { header: { type: 'hardlink', path: 'pw2', linkpath: 's/passwd' } },
      ],
      inside: [],
      error: /entry "pw2": hardlink target "s\/passwd" is not in the layer/,
    },
    {
      name: 'a hardlink through ../ to a file the layer does have',
      entries: [
        file('etc/passwd', 'inside'),
        { header: { type: 'hardlink', path: 'pw3', linkpath: '../../etc/passwd' } },
      ],
      inside: ['pw3', 'etc/passwd'],
    },
    {
      name: 'a whiteout naming ..',
      entries: [{ header: { type: 'file', path: 'dir/.wh...' } }],
      inside: [],
      error: /invalid whiteout name ".wh..."/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const sandbox = join(work, `sandbox-${randomBytes(4).toString('hex')}`);
      const root = join(sandbox, 'a', 'root');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(sandbox, 'a', 'sibling'), 'keep');
      const before = outsideState(sandbox, root);
      const data = await tarOf(c.entries);
      const run = unpackTar(streamOf(data), root);
      if (c.error) await assert.rejects(run, c.error);
      else await run;
      assert.deepEqual(outsideState(sandbox, root), before, 'nothing outside the root changed');
      for (const p of c.inside)
        assert.ok(existsSync(join(root, p)) || lstatSync(join(root, p)), `${p} is inside`);
      if (c.name.startsWith('a hardlink through ../')) {
        assert.equal(statSync(join(root, 'pw3')).ino, statSync(join(root, 'etc/passwd')).ino);
        assert.equal(readFileSync(join(root, 'pw3'), 'utf8'), 'inside');
      }
    });
  }
});

describe('layer errors', () => {
  test('zstd layers (made by the zstd CLI) unpack, by media type and by magic number', async () => {
    const tar = await tarOf([file('etc/zstd-was-here', 'z'.repeat(100_000))]);
    const z = spawnSync('zstd', ['-q', '-c', '-19'], { input: tar });
    assert.equal(z.status, 0, `zstd: ${z.stderr}`);
    for (const mt of ['application/vnd.oci.image.layer.v1.tar+zstd', gzipType]) {
      const dest = join(work, `z-${randomBytes(4).toString('hex')}`);
      mkdirSync(dest);
      const { unpackLayer } = await import('../../src/snapshot/index.js');
      const r = await unpackLayer(streamOf(z.stdout), dest, {
        mediaType: mt,
        expectedDigest: digestOf(z.stdout),
      });
      assert.equal(r.diffID, digestOf(tar));
      assert.equal(readFileSync(join(dest, 'etc/zstd-was-here'), 'utf8'), 'z'.repeat(100_000));
    }
    await assert.rejects(
      unpackInto(z.stdout.subarray(0, z.stdout.length - 20), 'application/vnd.oci.image.layer.v1.tar+zstd'),
      /unpacking layer/,
    );
  });
  test('bzip2 and xz layers are refused as unsupported', async () => {
    await assert.rejects(
      unpackInto(Buffer.from([0x42, 0x5a, 0x68, 0x39, 0, 0, 0, 0]), gzipType),
      (e: unknown) =>
        e instanceof UnsupportedError && /bzip2-compressed layers are not supported/.test(e.message),
    );
  });
  test('an unknown media type is refused', async () => {
    await assert.rejects(unpackInto(Buffer.alloc(10), 'application/json'), InvalidArgumentError);
  });
  test('corrupt gzip and truncated tar say which layer', async () => {
    const data = gzipSync(await tarOf([file('a', 'x'.repeat(5000))]));
    await assert.rejects(unpackInto(data.subarray(0, data.length - 30), gzipType), /unpacking layer .*: /);
    const tar = await tarOf([file('a', 'x'.repeat(5000))]);
    await assert.rejects(
      unpackInto(tar.subarray(0, 2000), tarType),
      /unexpected end of archive in the content of "a"/,
    );
  });
});

async function unpackInto(data: Buffer, mediaType: string): Promise<unknown> {
  const { unpackLayer } = await import('../../src/snapshot/index.js');
  const dest = join(work, `u-${randomBytes(4).toString('hex')}`);
  mkdirSync(dest);
  return unpackLayer(streamOf(data), dest, { mediaType });
}

/** A two-layer image as gzip blobs with their digests and diffIDs. */
async function makeImage(): Promise<{ blob: Buffer; digest: Digest; diffID: Digest }[]> {
  const l0 = await tarOf([
    { header: { type: 'dir', path: 'etc', mode: 0o755, mtime: 1000 } },
    file('etc/os-release', 'ID=test\n'),
    { header: { type: 'dir', path: 'usr', mode: 0o751, xattrs: new Map([['user.usr', Buffer.from('u')]]) } },
    { header: { type: 'dir', path: 'usr/bin', mode: 0o755 } },
    { header: { type: 'char', path: 'dev/null', devmajor: 1, devminor: 3, mode: 0o666 } },
    {
      header: {
        type: 'fifo',
        path: 'run/fifo',
        mode: 0o600,
        xattrs: new Map([['user.not-here', Buffer.from('x')]]),
      },
    },
    {
      header: {
        type: 'file',
        path: 'usr/bin/tool',
        size: 3,
        mode: 0o4755,
        xattrs: new Map([['user.k', Buffer.from([0, 1])]]),
      },
      body: Buffer.from('bin'),
    },
  ]);
  const l1 = await tarOf([
    file('usr/bin/other', 'two'),
    { header: { type: 'file', path: 'etc/.wh.os-release' } },
    { header: { type: 'file', path: 'run/.wh..wh..opq' } },
    { header: { type: 'dir', path: 'run', mode: 0o700 } },
    { header: { type: 'file', path: 'usr/.wh..wh..opq' } },
    { header: { type: 'char', path: 'dev/null', devmajor: 1, devminor: 3, mode: 0o666 } },
    { header: { type: 'hardlink', path: 'dev/null2', linkpath: 'dev/null' } },
  ]);
  return [l0, l1].map((t) => {
    const blob = gzipSync(t);
    return { blob, digest: digestOf(blob), diffID: digestOf(t) };
  });
}

describe('snapshot store', () => {
  test('unpacks by chain ID once; overlay form; lookup, du and remove', async () => {
    const root = join(work, 'store1');
    const store = await SnapshotStore.open({ root });
    const [l0, l1] = await makeImage();
    const s0 = await store.unpackLayer(streamOf(l0!.blob), {
      mediaType: gzipType,
      diffID: l0!.diffID,
      digest: l0!.digest,
    });
    assert.equal(s0.chainID, l0!.diffID);
    assert.equal(s0.kind, 'layer');
    const s1 = await store.unpackLayer(streamOf(l1!.blob), {
      mediaType: gzipType,
      diffID: l1!.diffID,
      digest: l1!.digest,
      parent: s0,
    });
    assert.equal(s1.chainID, chainIDOf(l0!.diffID, l1!.diffID));
    assert.equal(s1.parent, s0.id);
    assert.deepEqual(await store.getByChainID(s1.chainID!), s1);
    // a second unpack of the same chain is served from the store without reading the blob
    const again = await store.unpackLayer(
      (async function* () {
        yield Buffer.alloc(0);
        throw new Error('the blob must not be read');
      })(),
      { mediaType: gzipType, diffID: l1!.diffID, parent: s0 },
    );
    assert.equal(again.id, s1.id);
    // overlay form: the whiteout is a 0/0 char device, the opaque dir has the xattr
    const wh = lstatSync(join(s1.dir, 'etc/os-release'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
    assert.match(readFileSync(join(s1.dir, '..', 'meta.json'), 'utf8'), /"kind": "layer"/);
    const lines = treeManifest(s1.dir, { dirMtime: false });
    assert.ok(
      lines.some((l) => l.startsWith('"run" dir 700') && l.includes('trusted.overlay.opaque=0x79')),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('"dev/null2" char 666') && l.includes('hardlink=dev/null')),
      lines.join('\n'),
    );
    // an implicit directory made opaque keeps what it inherits from below, and the other way round
    assert.ok(
      lines.some(
        (l) =>
          l.startsWith('"usr" dir 751') &&
          l.includes('trusted.overlay.opaque=0x79') &&
          l.includes('user.usr=0x75'),
      ),
      lines.join('\n'),
    );
    // the implicit parent "usr/bin" of layer 1 takes its metadata from layer 0
    assert.equal(statSync(join(s1.dir, 'usr/bin')).mtimeMs, statSync(join(s0.dir, 'usr/bin')).mtimeMs);
    // setuid and binary xattrs survived in layer 0
    assert.ok(lines.length > 0);
    const l0lines = treeManifest(s0.dir);
    assert.ok(
      l0lines.some((l) => l.startsWith('"usr/bin/tool" file 4755') && l.includes('user.k=0x0001')),
      l0lines.join('\n'),
    );
    const du = await store.du();
    assert.equal(du.snapshots.length, 2);
    assert.equal(du.total, 'ID=test\n'.length + 3 + 3);
    await assert.rejects(store.remove(s0.id), /is the parent of/);
    await store.remove(s1.id);
    await store.remove(s0.id);
    assert.deepEqual(await store.list(), []);
  });

  test('a digest mismatch leaves nothing behind', async () => {
    const root = join(work, 'store2');
    const store = await SnapshotStore.open({ root });
    const [l0] = await makeImage();
    const wrong = digestOf('something else');
    await assert.rejects(
      store.unpackLayer(streamOf(l0!.blob), { mediaType: gzipType, diffID: wrong }),
      (e: unknown) =>
        e instanceof DigestMismatchError && /diffID\) is sha256:.*, expected sha256:/.test(e.message),
    );
    await assert.rejects(
      store.unpackLayer(streamOf(l0!.blob), { mediaType: gzipType, digest: wrong }),
      (e: unknown) => e instanceof DigestMismatchError && /blob digest is/.test(e.message),
    );
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(readdirSync(join(root, 'snapshots', '.tmp')), []);
  });
});

/** Runs a node script (ESM) that imports the compiled snapshot module as `S`. */
function child(
  script: string,
  args: string[] = [],
): ChildProcess & { lines: string[]; ready: Promise<string> } {
  const file = join(work, `child-${randomBytes(4).toString('hex')}.mjs`);
  writeFileSync(
    file,
    `import * as S from ${JSON.stringify(join(repoRoot, 'dist/src/snapshot/index.js'))};\n${script}`,
  );
  const cp = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    let buf = '';
    cp.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i !== -1) {
        lines.push(buf.slice(0, i));
        resolve(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
    cp.on('exit', (code) => reject(new Error(`child exited with ${code} before writing a line`)));
  });
  return Object.assign(cp, { lines, ready });
}

function exited(cp: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (cp.exitCode !== null || cp.signalCode !== null) resolve(cp.exitCode);
    else cp.on('exit', (code) => resolve(code));
  });
}

describe('crash safety and concurrent processes', () => {
  test('kill -9 in the middle of an unpack: the next open removes the staging dir', async () => {
    const root = join(work, 'crash1');
    // the child unpacks a tar that it reads from stdin; we send half and kill it
    const cp = child(
      `
      const store = await S.SnapshotStore.open({ root: process.argv[2] });
      console.log('open');
      await store.unpackLayer(process.stdin, { mediaType: ${JSON.stringify(tarType)} });
      console.log('done');
    `,
      [root],
    );
    await cp.ready;
    const big = await tarOf(Array.from({ length: 200 }, (_, i) => file(`f${i}`, 'x'.repeat(10_000))));
    cp.stdin!.on('error', () => {}); // EPIPE once it is killed
    cp.stdin!.write(big.subarray(0, big.length / 2));
    // wait until files appear in the staging dir
    const tmp = join(root, 'snapshots', '.tmp');
    for (let i = 0; i < 100 && !readdirSync(tmp).some((d) => existsSync(join(tmp, d, 'fs', 'f50'))); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(readdirSync(tmp).length === 1, 'a staging dir exists while unpacking');
    cp.kill('SIGKILL');
    await exited(cp);
    const store = await SnapshotStore.open({ root });
    assert.deepEqual(readdirSync(tmp), []);
    assert.deepEqual(readdirSync(join(root, 'snapshots', '.trash')), []);
    assert.deepEqual(await store.list(), []);
  });

  test('kill -9 with a step mounted: the next open unmounts and removes it', async () => {
    const root = join(work, 'crash2');
    const cp = child(
      `
      const store = await S.SnapshotStore.open({ root: process.argv[2] });
      const a = await store.prepare(undefined);
      console.log(a.merged);
      setInterval(() => {}, 1000);
    `,
      [root],
    );
    const merged = await cp.ready;
    assert.equal(mountsUnder(merged).length, 1, 'the step is mounted');
    cp.kill('SIGKILL');
    await exited(cp);
    await SnapshotStore.open({ root });
    assert.deepEqual(mountsUnder(join(root, 'snapshots')), []);
    assert.deepEqual(readdirSync(join(root, 'snapshots', '.tmp')), []);
  });

  test('work of a live process is left alone by another process opening the store', async () => {
    const root = join(work, 'live');
    const store = await SnapshotStore.open({ root });
    const active = await store.prepare(undefined);
    const cp = child(`await S.SnapshotStore.open({ root: process.argv[2] }); console.log('opened');`, [root]);
    await cp.ready;
    await exited(cp);
    assert.equal(mountsUnder(active.merged).length, 1);
    writeFileSync(join(active.merged, 'x'), 'still here');
    const snap = await store.commit(active);
    assert.equal(readFileSync(join(snap.dir, 'x'), 'utf8'), 'still here');
  });

  test('two processes unpacking the same layer at once: one snapshot, both get it', async () => {
    const root = join(work, 'race');
    await SnapshotStore.open({ root });
    const [l0] = await makeImage();
    const blobFile = join(work, 'race-blob');
    writeFileSync(blobFile, l0!.blob);
    const script = `
      const { createReadStream } = await import('node:fs');
      const store = await S.SnapshotStore.open({ root: process.argv[2] });
      const s = await store.unpackLayer(createReadStream(process.argv[3]), { mediaType: ${JSON.stringify(gzipType)}, diffID: process.argv[4] });
      console.log(s.id);
    `;
    const a = child(script, [root, blobFile, l0!.diffID]);
    const b = child(script, [root, blobFile, l0!.diffID]);
    const [ida, idb] = await Promise.all([a.ready, b.ready]);
    await Promise.all([exited(a), exited(b)]);
    assert.equal(ida, idb);
    const store = await SnapshotStore.open({ root });
    assert.deepEqual(
      (await store.list()).map((s) => s.id),
      [ida],
    );
    assert.deepEqual(readdirSync(join(root, 'snapshots', '.tmp')), []);
  });
});
