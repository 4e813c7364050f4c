/**
 * Build steps on a real overlayfs: changes made in the merged view (deletes, replaced and
 * recreated entries, new devices and hardlinks, attribute changes) become the right layer, and
 * that layer, unpacked over the lower (as an overlay layer, and applied to a plain copy), gives
 * back the same merged tree. Diffs are byte-for-byte reproducible; long chains are folded.
 */
import assert from 'node:assert/strict';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { before, describe, test } from 'node:test';
import { digestOf } from '../../src/oci/index.js';
import { defaultTools, type Snapshot, SnapshotStore, unpackTar } from '../../src/snapshot/index.js';
import { readTar, type TarHeader } from '../../src/tar/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { bash, collect, requireRoot, sh, streamOf, treeManifest } from './snapshot-helpers.js';

const work = tempDir('polyarch-overlay-');
const gzipType = 'application/vnd.oci.image.layer.v1.tar+gzip';
let store: SnapshotStore;
let base: Snapshot;

/** A sink that keeps the bytes. */
function memorySink(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts) };
}

async function headersOf(gz: Buffer): Promise<TarHeader[]> {
  const { createGunzip } = await import('node:zlib');
  const g = createGunzip();
  g.end(gz);
  const out: TarHeader[] = [];
  for await (const { header } of readTar(g)) out.push(header);
  return out;
}

/** Path order of a layer: component-wise, bytewise (parents before children). */
function pathOrder(a: string, b: string): number {
  const x = a.replace(/\/$/, '').split('/');
  const y = b.replace(/\/$/, '').split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

before(async () => {
  requireRoot();
  store = await SnapshotStore.open({ root: join(work, 'root') });
  // the base layer is made by GNU tar from a tree made by the shell
  const src = join(work, 'base-src');
  mkdirSync(src);
  bash(
    `cd "${src}"
    printf keep > keep; printf bye > delete-me; printf old > recreate
    mkdir -p dir-del/b dir-replace chmod-dir opaque-src/x
    printf a > dir-del/a; printf c > dir-del/b/c; printf a > dir-replace/a; printf b > dir-replace/b
    printf 1 > hl1; ln hl1 hl2
    ln -s keep sym
    setfattr -n user.base -v 0x00ff keep
    touch -d '2001-02-03 04:05:06' keep dir-del dir-replace chmod-dir .`,
  );
  const tgz = join(work, 'base.tgz');
  sh('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-czpf', tgz, '-C', src, '.']);
  const diffID = digestOf(sh('bash', ['-c', `zcat "${tgz}"`]));
  base = await store.unpackLayer(createReadStream(tgz), { mediaType: gzipType, diffID });
});

describe('whiteouts on a real overlay', () => {
  let merged: string[];
  let step: Snapshot;
  let layer: Buffer;

  test('a step deletes, replaces and recreates entries of the lower layer', async () => {
    const active = await store.prepare(base);
    bash(
      `cd "${active.merged}"
      rm delete-me
      rm -rf dir-del
      rm -rf dir-replace && mkdir dir-replace && printf new > dir-replace/c
      rm recreate && printf again > recreate
      printf added > added && ln added added-link
      chmod 0700 chmod-dir
      setfattr -n user.new -v 0x000a01 keep
      mkdir -p newdir/sub && printf x > newdir/sub/f
      mknod newdev c 1 5
      rm hl2`,
    );
    merged = treeManifest(active.merged, { mtime: 's' });
    // the upper dir holds the overlay's own records of this
    const upper = treeManifest(active.upper);
    assert.ok(
      upper.some((l) => l.startsWith('"delete-me" char 0') && l.includes('rdev=0')),
      upper.join('\n'),
    );
    assert.ok(
      upper.some((l) => l.startsWith('"dir-replace" dir') && l.includes('trusted.overlay.opaque=0x79')),
    );
    step = await store.commit(active);
    assert.equal(step.kind, 'committed');
    assert.equal(step.parent, base.id);
  });

  test('the diff has the right .wh. entries and no overlay attributes', async () => {
    const { sink, bytes } = memorySink();
    const info = await store.diff(step, sink);
    layer = bytes();
    assert.equal(info.digest, digestOf(layer));
    assert.equal(info.size, layer.length);
    assert.equal(info.mediaType, gzipType);
    const headers = await headersOf(layer);
    const names = headers.map((h) => h.name);
    assert.deepEqual(names, [...names].sort(pathOrder), 'entries in path order');
    for (const n of [
      '.wh.delete-me',
      '.wh.dir-del',
      'dir-replace/',
      'dir-replace/.wh..wh..opq',
      'dir-replace/c',
      '.wh.hl2',
    ]) {
      assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
    }
    assert.ok(
      !names.includes('.wh.recreate') && names.includes('recreate'),
      'a recreated file is just a file',
    );
    assert.ok(!names.some((n) => n.startsWith('dir-del/')), 'nothing below a deleted directory');
    const byName = new Map(headers.map((h) => [h.name, h]));
    assert.equal(byName.get('added-link')?.type, 'hardlink');
    assert.equal(byName.get('added-link')?.linkpath.toString(), 'added');
    assert.equal(byName.get('newdev')?.type, 'char');
    assert.equal(byName.get('newdev')?.devminor, 5);
    assert.equal(byName.get('chmod-dir/')?.mode, 0o700);
    assert.deepEqual(byName.get('keep')?.xattrs.get('user.new'), Buffer.from([0, 10, 1]));
    for (const h of headers) {
      assert.ok(
        ![...h.xattrs.keys()].some((k) => k.includes('overlay')),
        `${h.name} has no overlay attributes`,
      );
      assert.equal(h.uname, '');
      assert.equal(h.mtime.nsec, 0);
      if (h.name.includes('.wh.'))
        assert.deepEqual([h.mode, h.uid, h.gid, h.mtime.sec, h.size], [0, 0, 0, 0, 0]);
    }
    // GNU tar reads it too
    const listing = sh('tar', ['-tvzf', '-'], { input: layer }).toString();
    assert.match(listing, /added-link link to added/);
    assert.match(listing, /dir-replace\/\.wh\.\.wh\.\.opq/);
    // the snapshot now knows its diffID and chain ID
    const again = await store.mustGet(step.id);
    assert.equal(again.diffID, info.diffID);
    assert.equal(again.chainID, digestOf(`${base.chainID} ${info.diffID}`));
  });

  test('the diff unpacked as a layer over the lower gives the merged tree back', async () => {
    const info = await store.diff(step, memorySink().sink);
    const s = await store.unpackLayer(streamOf(layer), {
      mediaType: gzipType,
      parent: base,
      diffID: info.diffID,
    });
    assert.notEqual(s.id, step.id);
    const mp = join(work, 'ro');
    mkdirSync(mp);
    await store.mount(s, mp);
    try {
      assert.deepEqual(treeManifest(mp, { mtime: 's' }), merged);
    } finally {
      await store.unmount(mp);
    }
    // and flattened into a plain directory
    const flat = join(work, 'flat');
    await store.flatten(s, flat);
    assert.deepEqual(treeManifest(flat, { mtime: 's' }), merged);
  });

  test('the diff applied to a plain copy of the lower gives the merged tree too', async () => {
    const plain = join(work, 'plain');
    await store.flatten(base, plain);
    const { createGunzip } = await import('node:zlib');
    const g = createGunzip();
    g.end(layer);
    await unpackTar(g, plain, { whiteouts: 'apply' });
    assert.deepEqual(treeManifest(plain, { mtime: 's' }), merged);
  });

  test('diffs are reproducible: same bytes twice, and from a copy of the tree', async () => {
    const a = memorySink();
    const b = memorySink();
    await store.diff(step, a.sink);
    await store.diff(step, b.sink);
    assert.ok(a.bytes().equals(b.bytes()));
    const copy = join(work, 'upper-copy');
    sh('cp', ['-a', step.dir, copy]);
    const { diffUpperDir } = await import('../../src/snapshot/index.js');
    const c = memorySink();
    await diffUpperDir(copy, c.sink);
    assert.ok(c.bytes().equals(a.bytes()), 'a copy with other inode numbers gives the same layer');
  });

  test('sourceDateEpoch clamps mtimes', async () => {
    const epoch = 1_000_000_000; // 2001-09-09, after the base's 2001-02-03 and before today
    const { sink, bytes } = memorySink();
    await store.diff(step, sink, { sourceDateEpoch: epoch });
    const headers = await headersOf(bytes());
    assert.ok(headers.every((h) => h.mtime.sec <= epoch));
    assert.ok(
      headers.some((h) => h.mtime.sec === epoch),
      'new files are clamped to the epoch',
    );
    assert.ok(!bytes().equals(layer));
  });
});

describe('chains', () => {
  test('FROM scratch: a step on nothing', async () => {
    const active = await store.prepare(undefined);
    writeFileSync(join(active.merged, 'hello'), 'world');
    const s = await store.commit(active);
    const { sink, bytes } = memorySink();
    const info = await store.diff(s, sink);
    assert.deepEqual(
      (await headersOf(bytes())).map((h) => h.name),
      ['hello'],
    );
    assert.equal(info.diffID, (await store.mustGet(s.id)).chainID, 'a bottom layer: chain ID = diffID');
  });

  test('a chain longer than maxLowers is folded, also recursively, and reads the same', async () => {
    const folding = await SnapshotStore.open({ root: join(work, 'fold'), maxLowers: 6 });
    let top: Snapshot | undefined;
    const n = 20;
    for (let i = 0; i < n; i++) {
      const a = await folding.prepare(top, { mount: false });
      writeFileSync(join(a.upper, `f${i}`), `${i}`);
      if (i > 0) sh('mknod', [join(a.upper, `f${i - 1}`), 'c', '0', '0']);
      mkdirSync(join(a.upper, 'all'));
      writeFileSync(join(a.upper, 'all', `g${i}`), `${i}`);
      top = await folding.commit(a);
    }
    const active = await folding.prepare(top);
    try {
      assert.ok(active.lowers.length <= 6, `${active.lowers.length} lowers`);
      assert.deepEqual(readdirSync(active.merged).sort(), ['all', `f${n - 1}`]);
      assert.equal(readdirSync(join(active.merged, 'all')).length, n);
      assert.equal(readFileSync(join(active.merged, 'all', 'g7'), 'utf8'), '7');
      assert.ok(readdirSync(join(work, 'fold', 'snapshots', '.folded')).length >= 2, 'folded twice');
    } finally {
      await folding.discard(active);
    }
    const flat = join(work, 'fold-flat');
    await folding.flatten(top, flat);
    assert.deepEqual(readdirSync(flat).sort(), ['all', `f${n - 1}`]);
  });

  test('an active step can be discarded, leaving nothing', async () => {
    const a = await store.prepare(base);
    writeFileSync(join(a.merged, 'x'), 'x');
    await store.discard(a);
    assert.deepEqual(readdirSync(join(work, 'root', 'snapshots', '.tmp')), []);
  });

  test('the diff streams into a file sink as well', async () => {
    const out = join(work, 'layer.tgz');
    const info = await store.diff(base, createWriteStream(out));
    assert.equal(info.digest, digestOf(readFileSync(out)));
    const listed = sh('tar', ['-tzf', out]).toString().split('\n').filter(Boolean);
    assert.ok(listed.includes('keep') && listed.includes('hl2'), listed.join(' '));
    assert.equal((await collect(createReadStream(out))).length, info.size);
  });
});

describe('a directory known from the layers, without a mount (certainlyDir)', () => {
  test('says yes only where the mounted view has a directory, and for the plain cases', async () => {
    // s1 adds a tree and a symlink; s2 deletes x (a whiteout), replaces a/b (opaque, c gone)
    const a1 = await store.prepare(base);
    bash(`cd "${a1.merged}" && mkdir -p a/b/c x/y && ln -s a linkdir`);
    const s1 = await store.commit(a1);
    const a2 = await store.prepare(s1);
    bash(`cd "${a2.merged}" && rm -rf x a/b && mkdir -p a/b new/deep`);
    const s2 = await store.commit(a2);
    const expected: Record<string, boolean> = {
      '/': true,
      '/new/deep': true,
      '/a': true,
      '/a/b/': true,
      '/a/b/c': false,
      '/x': false,
      '/x/y': false,
      '/linkdir': false,
      '/linkdir/b': false,
      '/dir-replace': true,
      '/dir-del/b': true,
      '/keep': false,
      '/keep/sub': false,
      '/missing': false,
      '/a/../x': false,
    };
    const view = await store.prepare(s2);
    try {
      for (const [path, want] of Object.entries(expected)) {
        const got = await store.certainlyDir(s2, path);
        assert.equal(got, want, path);
        // the oracle: the kernel's merged view
        if (got) assert.ok(statSync(join(view.merged, path), { throwIfNoEntry: false })?.isDirectory(), path);
      }
      assert.equal(statSync(join(view.merged, 'a/b/c'), { throwIfNoEntry: false }), undefined);
      assert.equal(statSync(join(view.merged, 'x'), { throwIfNoEntry: false }), undefined);
    } finally {
      await store.discard(view);
    }
    assert.equal(await store.certainlyDir(undefined, '/'), true);
    assert.equal(await store.certainlyDir(undefined, '/tmp'), false);
  });
});

/** The options of the mount at `target`, as the kernel shows them. */
function mountOptions(target: string): string {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === target);
  assert.ok(line, `${target} is mounted`);
  return line.slice(line.indexOf(' - ') + 3);
}

/** Linux shows `volatile` as given (5.10 to 6.x) or as `fsync=volatile` (later). */
const isVolatile = (options: string) => /(^|,)(fsync=)?volatile(,|$)/.test(options);

/** overlayfs has `volatile` from Linux 5.10. */
function kernelHasVolatile(): boolean {
  const [major = 0, minor = 0] = release().split('.').map(Number);
  return major > 5 || (major === 5 && minor >= 10);
}

describe('volatile step overlays', () => {
  test('a step is mounted volatile where the kernel has it, and commits what it wrote', async (t) => {
    if (!kernelHasVolatile()) {
      t.skip(`Linux ${release()} has no overlayfs volatile (5.10 and later have)`);
      return;
    }
    const a = await store.prepare(base);
    assert.ok(isVolatile(mountOptions(a.merged)), mountOptions(a.merged));
    writeFileSync(join(a.merged, 'made-in-step'), 'kept');
    const snap = await store.commit(a);
    assert.equal(readFileSync(join(snap.dir, 'made-in-step'), 'utf8'), 'kept');
    // the work dir (with overlayfs's incompat/volatile marker) went with the mount
    assert.deepEqual(readdirSync(join(snap.dir, '..')).sort(), ['fs', 'meta.json']);
    await store.remove(snap.id);
  });

  test('volatile: false mounts without it', async () => {
    const plain = await SnapshotStore.open({ root: join(work, 'root'), volatile: false });
    const a = await plain.prepare(base);
    assert.ok(!isVolatile(mountOptions(a.merged)), mountOptions(a.merged));
    await plain.discard(a);
  });

  test('a kernel that refuses volatile: the step mounts without it, and later ones do not ask', async () => {
    // mount(8) as on a kernel before 5.10, which rejects the unknown option
    const calls = join(work, 'mount-calls');
    const fakeMount = join(work, 'mount-old-kernel');
    writeFileSync(
      fakeMount,
      `#!/bin/sh\necho "$*" >> "${calls}"\ncase "$*" in *volatile*) echo 'mount: wrong fs type, bad option' >&2; exit 32;; esac\nexec mount "$@"\n`,
      { mode: 0o755 },
    );
    const old = await SnapshotStore.open({
      root: join(work, 'root'),
      tools: { ...defaultTools, mount: fakeMount },
    });
    const a = await old.prepare(base);
    assert.ok(!isVolatile(mountOptions(a.merged)), mountOptions(a.merged));
    writeFileSync(join(a.merged, 'x'), 'x');
    const snap = await old.commit(a);
    assert.equal(readFileSync(join(snap.dir, 'x'), 'utf8'), 'x');
    const b = await old.prepare(base);
    await old.discard(b);
    const tried = readFileSync(calls, 'utf8').trim().split('\n');
    assert.deepEqual(
      tried.map((l) => l.includes('volatile')),
      [true, false, false],
      tried.join('\n'),
    );
    await old.remove(snap.id);
  });
});

describe('sizes of committed steps', () => {
  test('a commit does not measure its layer; asking does, once, and keeps what an export recorded', async () => {
    const a = await store.prepare(base);
    writeFileSync(join(a.merged, 'ten'), '0123456789');
    bash(`cd "${a.merged}" && ln ten ten-again && printf abc > three`);
    const snap = await store.commit(a);
    assert.equal(snap.size, undefined);
    const metaPath = join(snap.dir, '..', 'meta.json');
    assert.doesNotMatch(readFileSync(metaPath, 'utf8'), /"size"/);
    // an export records the blob meanwhile, on the snapshot as it was read before
    await store.diff(snap, memorySink().sink);
    const sized = await store.sized(snap);
    assert.equal(sized.size, 13, 'hardlinked content counted once');
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { size?: number; blob?: unknown };
    assert.equal(meta.size, 13);
    assert.ok(meta.blob, 'the blob the export recorded is kept');
    // recorded: asking again reads it and does not walk the directory
    writeFileSync(join(snap.dir, 'not-a-real-change'), 'xxxxx');
    const listed = (await store.list({ sizes: true })).find((s) => s.id === snap.id);
    assert.equal(listed?.size, 13);
    const du = await store.du();
    assert.equal(du.snapshots.find((s) => s.id === snap.id)?.size, 13);
    await store.remove(snap.id);
  });
});
