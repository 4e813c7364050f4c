/**
 * snapshot/syscalls — the helper's mount(2) and umount2(2) on a real overlayfs: what it
 * mounts is the overlay mount(8) would have made, relative layer paths resolve in the given
 * directory, the kernel's errors come back as errnos (and as StoreErrors naming the call
 * through `mountOverlay`), and where the helper cannot run the answer is "use the program".
 * Its reading of a tree's extended attributes gives what getfattr (the oracle) gives.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StoreError } from '../../src/errors.js';
import {
  defaultTools,
  mountOverlay,
  parseXattrDump,
  readTreeXattrs,
  unmount,
  type Xattrs,
  xattrDumpArgs,
} from '../../src/snapshot/index.js';
import { MNT_DETACH, Syscalls } from '../../src/snapshot/syscalls.js';
import { run } from '../../src/snapshot/tools.js';
import { tempDir } from '../helpers/fixtures.js';
import { bash, makeFixtureTree, requireRoot } from './snapshot-helpers.js';

const { ENOENT, EINVAL, EBUSY } = constants.errno;

/** The mount table's line for `target` (fs type and options), or undefined. */
function mounted(target: string): string | undefined {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === target);
  return line?.slice(line.indexOf(' - ') + 3);
}

/** A directory with `lower/` (one file), `upper/`, `work/` and the mount point `merged/`. */
function layout(): string {
  const dir = tempDir('polyarch-mountcall-');
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'lower', 'from-lower'), 'lower');
  return dir;
}

describe('mount(2) through the helper', () => {
  const mc = new Syscalls();
  before(() => requireRoot());
  after(() => mc.close());

  test('an overlay with relative layer paths: read through, written to the upper, unmounted', async () => {
    const dir = layout();
    const target = join(dir, 'merged');
    const data = 'lowerdir=lower,upperdir=upper,workdir=work,index=off,volatile';
    assert.equal(
      await mc.mount({ source: 'overlay', target, fstype: 'overlay', flags: 0, data, cwd: dir }),
      0,
    );
    const line = mounted(target);
    assert.ok(line?.startsWith('overlay overlay '), line);
    assert.match(line!, /lowerdir=lower,upperdir=upper,workdir=work/);
    assert.match(line!, /volatile/);
    assert.equal(readFileSync(join(target, 'from-lower'), 'utf8'), 'lower');
    writeFileSync(join(target, 'new'), 'made');
    assert.equal(readFileSync(join(dir, 'upper', 'new'), 'utf8'), 'made');
    assert.ok(mc.pid !== undefined, 'one helper process serves the calls');
    assert.equal(await mc.umount(target), 0);
    assert.equal(mounted(target), undefined);
  });

  test('the kernel says why: a missing layer, a path that is no mount point, a busy mount', async () => {
    const dir = layout();
    const target = join(dir, 'merged');
    const bad = 'lowerdir=missing,upperdir=upper,workdir=work';
    assert.equal(
      await mc.mount({ source: 'overlay', target, fstype: 'overlay', flags: 0, data: bad, cwd: dir }),
      ENOENT,
    );
    assert.equal(mounted(target), undefined);
    assert.equal(await mc.umount(target), EINVAL);
    const data = 'lowerdir=lower,upperdir=upper,workdir=work';
    assert.equal(
      await mc.mount({ source: 'overlay', target, fstype: 'overlay', flags: 0, data, cwd: dir }),
      0,
    );
    const fd = openSync(join(target, 'from-lower'), 'r');
    try {
      assert.equal(await mc.umount(target), EBUSY);
      assert.equal(await mc.umount(target, MNT_DETACH), 0, 'a lazy unmount detaches it while busy');
      assert.equal(mounted(target), undefined);
    } finally {
      closeSync(fd);
    }
  });

  test('calls made at once are each answered', async () => {
    const dirs = [layout(), layout(), layout()];
    const data = 'lowerdir=lower,upperdir=upper,workdir=work';
    const mounts = dirs.map((cwd) =>
      mc.mount({ source: 'overlay', target: join(cwd, 'merged'), fstype: 'overlay', flags: 0, data, cwd }),
    );
    assert.deepEqual(await Promise.all(mounts), [0, 0, 0]);
    assert.deepEqual(await Promise.all(dirs.map((d) => mc.umount(join(d, 'merged')))), [0, 0, 0]);
  });

  test('mountOverlay and unmount report a failed call with what was being done', async () => {
    const dir = layout();
    const target = join(dir, 'merged');
    await assert.rejects(
      mountOverlay(defaultTools, { lowerdirs: ['missing'], upperdir: 'upper', workdir: 'work' }, target, dir),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message.startsWith(`mounting overlay at ${target}: mount(2) failed: ENOENT (`),
    );
    await assert.rejects(
      unmount(defaultTools, target),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message === `unmounting ${target}: umount2(2) failed: EINVAL (not a mount point)`,
    );
  });

  test('mountOverlay then a lazy unmount of the busy mount, both through the helper', async () => {
    const dir = layout();
    const target = join(dir, 'merged');
    await mountOverlay(
      defaultTools,
      { lowerdirs: ['lower'], upperdir: 'upper', workdir: 'work' },
      target,
      dir,
    );
    assert.match(mounted(target) ?? '', /^overlay overlay .*lowerdir=lower,upperdir=upper,workdir=work/);
    const fd = openSync(join(target, 'from-lower'), 'r');
    try {
      await assert.rejects(unmount(defaultTools, target), /umount2\(2\) failed: EBUSY \(still in use\)/);
      await unmount(defaultTools, target, { lazy: true });
      assert.equal(mounted(target), undefined);
    } finally {
      closeSync(fd);
    }
  });
});

describe('where the helper cannot make the call, mount(8) does', () => {
  before(() => requireRoot());

  test('no perl: the answer is undefined and nothing is mounted', async () => {
    const mc = new Syscalls({ perl: '/nonexistent/perl' });
    const dir = layout();
    const target = join(dir, 'merged');
    const data = 'lowerdir=lower,upperdir=upper,workdir=work';
    assert.equal(
      await mc.mount({ source: 'overlay', target, fstype: 'overlay', flags: 0, data, cwd: dir }),
      undefined,
    );
    assert.equal(await mc.umount(target), undefined, 'and it is not tried again');
    assert.equal(mounted(target), undefined);
  });

  test('an architecture without known call numbers starts no helper', async () => {
    const mc = new Syscalls({ arch: 's390x' });
    assert.equal(await mc.umount('/nonexistent'), undefined);
    assert.equal(mc.pid, undefined);
  });

  test('a path with a newline cannot travel in a request line', async () => {
    const mc = new Syscalls();
    assert.equal(await mc.umount('/tmp/a\nb'), undefined);
    mc.close();
  });

  test('a helper that answers nonsense: the call fails saying so, and later calls are left to the programs', async () => {
    const fake = join(tempDir('polyarch-syscalls-fake-'), 'perl');
    writeFileSync(fake, '#!/bin/sh\nwhile read -r l; do echo "not an errno"; done\n', { mode: 0o755 });
    const mc = new Syscalls({ perl: fake });
    await assert.rejects(
      mc.umount('/nonexistent-mountcall-target'),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message === 'umount /nonexistent-mountcall-target: the helper answered "not an errno"',
    );
    assert.equal(await mc.umount('/nonexistent-mountcall-target'), undefined);
  });

  test('a helper that went away between calls: later calls are answered undefined', async () => {
    const mc = new Syscalls();
    assert.equal(await mc.umount('/nonexistent-mountcall-target'), ENOENT);
    const pid = mc.pid!;
    const gone = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (mc.pid === undefined) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    process.kill(pid, 'SIGKILL');
    await gone;
    assert.equal(await mc.umount('/nonexistent-mountcall-target'), undefined);
  });
});

/** Path → name → value in hex, sorted: two dumps compared as what they say. */
function plain(dump: Map<string, Xattrs>): [string, [string, string][]][] {
  return [...dump]
    .map(([path, x]): [string, [string, string][]] => [
      path,
      [...x].map(([n, v]): [string, string] => [n, v.toString('hex')]).sort(),
    ])
    .filter(([, x]) => x.length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("a tree's extended attributes through the helper", () => {
  const sc = new Syscalls();
  before(() => requireRoot());
  after(() => sc.close());

  test('what getfattr reads: binary values, symlinks themselves, odd names, nothing followed', async () => {
    const dir = tempDir('polyarch-syscalls-xattr-');
    makeFixtureTree(dir);
    bash(
      `cd "${dir}"
      setfattr -n user.odd -v "a=b c" $'new\\nline'
      setfattr -n user.x -v 0x00 $'caf\\xe9'
      setfattr -n user.empty dir/sub
      setfattr -n user.big -v 0x$(head -c 4000 /dev/urandom | od -An -tx1 -v | tr -d ' \\n') empty
      ln -s dir followme`,
    );
    const r = await sc.treeXattrs(dir);
    assert.equal(r?.errno, 0);
    const oracle = await run('getfattr', xattrDumpArgs([dir], { recursive: true }));
    assert.equal(oracle.code, 0, oracle.stderr);
    const ours = plain(parseXattrDump(r!.text!));
    assert.deepEqual(ours, plain(parseXattrDump(oracle.stdout.toString('latin1'))));
    const paths = ours.map(([p]) => p);
    assert.ok(paths.includes(`${dir}/dir/symlink`), "the symlink's own attribute");
    assert.ok(paths.includes(Buffer.from(`${dir}/new\nline`).toString('latin1')));
    assert.ok(
      !paths.some((p) => p.startsWith(`${dir}/followme/`)),
      'a symlink to a directory is not followed',
    );
    assert.ok(ours.find(([p]) => p === `${dir}/empty`)![1][0]![1].length === 8000, 'a 4000-byte value');
  });

  test('a tree without attributes, a missing root, and readTreeXattrs naming the error', async () => {
    const dir = tempDir('polyarch-syscalls-none-');
    bash(`cd "${dir}" && mkdir -p a/b && printf x > a/b/f`);
    assert.deepEqual(await sc.treeXattrs(dir), { errno: 0, text: '' });
    assert.deepEqual(await sc.treeXattrs(join(dir, 'missing')), { errno: ENOENT });
    await assert.rejects(
      readTreeXattrs(defaultTools, join(dir, 'missing')),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message === `reading extended attributes under ${join(dir, 'missing')}: ENOENT`,
    );
  });

  test('nothing waits behind a read: calls made meanwhile are left to the programs', async () => {
    const dir = layout();
    const target = join(dir, 'merged');
    const data = 'lowerdir=lower,upperdir=upper,workdir=work';
    const reading = sc.treeXattrs(dir);
    const mountMeanwhile = sc.mount({
      source: 'overlay',
      target,
      fstype: 'overlay',
      flags: 0,
      data,
      cwd: dir,
    });
    const readMeanwhile = sc.treeXattrs(dir);
    assert.equal(await mountMeanwhile, undefined);
    assert.equal(await readMeanwhile, undefined);
    assert.equal((await reading)?.errno, 0);
    assert.equal(mounted(target), undefined, 'the helper did not mount it');
    const mounting = sc.mount({ source: 'overlay', target, fstype: 'overlay', flags: 0, data, cwd: dir });
    assert.equal(await sc.treeXattrs(dir), undefined, 'nor does a read wait behind a mount');
    assert.equal(await mounting, 0);
    assert.equal(await sc.umount(target), 0);
  });

  test('a tree of more than 2,000 files is left to getfattr, which reads the same', async () => {
    const dir = tempDir('polyarch-syscalls-big-');
    bash(`cd "${dir}" && mkdir d && cd d && touch $(seq -f f%g 2100) && setfattr -n user.last -v 0x01 f2100`);
    assert.equal(await sc.treeXattrs(dir), undefined);
    const x = await readTreeXattrs(defaultTools, dir);
    assert.deepEqual(plain(x), [[`${dir}/d/f2100`, [['user.last', '01']]]]);
    assert.equal(
      (await sc.treeXattrs(join(dir, 'd', 'f2100')))?.errno,
      0,
      'the helper still serves the next read',
    );
  });

  test('a helper that cannot run: readTreeXattrs falls back to getfattr with the same answer', async () => {
    const dir = tempDir('polyarch-syscalls-fallback-');
    makeFixtureTree(dir);
    const viaGetfattr = await readTreeXattrs({ ...defaultTools, getfattr: '/usr/bin/getfattr' }, dir);
    assert.deepEqual(plain(await readTreeXattrs(defaultTools, dir)), plain(viaGetfattr));
    assert.equal(await new Syscalls({ perl: '/nonexistent/perl' }).treeXattrs(dir), undefined);
  });
});
