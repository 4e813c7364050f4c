// COPY/ADD on real directories, run as root so ownership can be checked. The rules are
// BuildKit's (fsutil copy + dockerfile2llb); the cases follow BuildKit's own dockerfile tests
// where they exist (exclude patterns, --parents, --chmod non-octal, dockerignore).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { dirSource, loadContext, type SourceFS } from '../../src/context/index.js';
import { DigestMismatchError, NotFoundError, UnsupportedError } from '../../src/errors.js';
import { add, type CopyOptions, copy, type ExtractTar } from '../../src/fileop/index.js';
import { haveCommand, tempDir } from '../helpers/fixtures.js';

assert.equal(process.getuid?.(), 0, 'these tests run as root (ownership is part of what they check)');

/** Every path under root → "type perm uid:gid [content|target]", for whole-tree assertions. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(p);
      const perm = (st.mode & 0o7777).toString(8).padStart(4, '0');
      const own = `${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out[r] = `d ${perm} ${own}`;
        walk(p, r);
      } else if (st.isSymbolicLink()) out[r] = `l ${own} -> ${readlinkSync(p)}`;
      else if (st.isFile()) out[r] = `f ${perm} ${own} ${readFileSync(p, 'utf8')}`;
      else out[r] = `? ${perm} ${own}`;
    }
  };
  walk(root, '');
  return out;
}

/** Writes a tree: "dir/" → directory, string → file content, {link} → symlink. */
function writeTree(
  root: string,
  spec: Record<string, string | { link: string } | { mode: number; data: string }>,
) {
  for (const [p, v] of Object.entries(spec)) {
    const full = join(root, p);
    if (p.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(join(full, '..'), { recursive: true });
    if (typeof v === 'string') writeFileSync(full, v);
    else if ('link' in v) symlinkSync(v.link, full);
    else {
      writeFileSync(full, v.data);
      chmodSync(full, v.mode);
    }
  }
}

const scratch = tempDir('polyarch-fileop-');
let serial = 0;
/** A new directory under this file's scratch directory. */
function fresh(prefix: string): string {
  const d = join(scratch, `${prefix}${++serial}`);
  mkdirSync(d);
  return d;
}
function freshDest(): string {
  return fresh('dest-');
}

async function copyCtx(ctxDir: string, o: Omit<CopyOptions, 'source' | 'destRoot'>, destRoot = freshDest()) {
  const ctx = await loadContext({ dir: ctxDir });
  const stats = await copy({ source: ctx.source, destRoot, ...o });
  return { destRoot, stats, ctx };
}

describe('COPY destination rules', () => {
  const ctxDir = fresh('ctx-');
  before(() => {
    writeTree(ctxDir, {
      'a.txt': 'A',
      'b.txt': 'B',
      'c.md': 'C',
      'dir/x': 'X',
      'dir/sub/y': 'Y',
      'dir/sub/deeper/z': 'Z',
    });
    chmodSync(join(ctxDir, 'dir/sub'), 0o700);
  });

  test('a file into a directory (trailing slash) keeps its name; parents are created 0755', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['a.txt'], dest: '/app/bin/' });
    const s = snapshot(destRoot);
    assert.equal(s['app'], 'd 0755 0:0');
    assert.equal(s['app/bin'], 'd 0755 0:0');
    assert.equal(s['app/bin/a.txt'], 'f 0644 0:0 A');
  });
  test('a file to a path without slash creates or replaces that file', async () => {
    const destRoot = freshDest();
    writeTree(destRoot, { 'app/renamed': 'old content' });
    await copyCtx(ctxDir, { sources: ['a.txt'], dest: '/app/renamed' }, destRoot);
    await copyCtx(ctxDir, { sources: ['b.txt'], dest: '/app/new' }, destRoot);
    const s = snapshot(destRoot);
    assert.equal(s['app/renamed'], 'f 0644 0:0 A');
    assert.equal(s['app/new'], 'f 0644 0:0 B');
  });
  test('a file onto an existing directory (no slash) goes inside it', async () => {
    const destRoot = freshDest();
    mkdirSync(join(destRoot, 'app'));
    await copyCtx(ctxDir, { sources: ['a.txt'], dest: '/app' }, destRoot);
    assert.equal(snapshot(destRoot)['app/a.txt'], 'f 0644 0:0 A');
  });
  test('the destination is relative to the WORKDIR; . means the WORKDIR itself', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['a.txt'], dest: '.', workdir: '/work/dir' });
    await copyCtx(ctxDir, { sources: ['b.txt'], dest: '../up.txt', workdir: '/work/dir' }, destRoot);
    const s = snapshot(destRoot);
    assert.equal(s['work/dir/a.txt'], 'f 0644 0:0 A');
    assert.equal(s['work/up.txt'], 'f 0644 0:0 B');
  });
  test('a directory copies its contents, with modes and mtimes; the new top dir is 0755', async () => {
    const mtime = new Date('2020-02-02T02:02:02.5Z');
    utimesSync(join(ctxDir, 'dir/sub/y'), mtime, mtime);
    const { destRoot } = await copyCtx(ctxDir, { sources: ['dir'], dest: '/out' });
    const s = snapshot(destRoot);
    assert.deepEqual(s, {
      out: 'd 0755 0:0',
      'out/sub': 'd 0700 0:0',
      'out/sub/deeper': 'd 0755 0:0',
      'out/sub/deeper/z': 'f 0644 0:0 Z',
      'out/sub/y': 'f 0644 0:0 Y',
      'out/x': 'f 0644 0:0 X',
    });
    assert.equal(statSync(join(destRoot, 'out/sub/y')).mtime.getTime(), mtime.getTime());
  });
  test('merging into an existing directory keeps its metadata and other contents', async () => {
    const destRoot = freshDest();
    writeTree(destRoot, { 'out/keep': 'K', 'out/x': 'old' });
    chmodSync(join(destRoot, 'out'), 0o711);
    await copyCtx(ctxDir, { sources: ['dir'], dest: '/out' }, destRoot);
    const s = snapshot(destRoot);
    assert.equal(s['out'], 'd 0711 0:0');
    assert.equal(s['out/keep'], 'f 0644 0:0 K');
    assert.equal(s['out/x'], 'f 0644 0:0 X');
  });
  test('COPY . copies the whole context', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['.'], dest: '/all/' });
    assert.deepEqual(Object.keys(snapshot(join(destRoot, 'all'))), [
      'a.txt',
      'b.txt',
      'c.md',
      'dir',
      'dir/sub',
      'dir/sub/deeper',
      'dir/sub/deeper/z',
      'dir/sub/y',
      'dir/x',
    ]);
  });
  test('several sources make the destination a directory even without a slash', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['a.txt', 'b.txt'], dest: '/many' });
    const s = snapshot(destRoot);
    assert.equal(s['many/a.txt'], 'f 0644 0:0 A');
    assert.equal(s['many/b.txt'], 'f 0644 0:0 B');
  });
  test('wildcards: Go filepath.Match per component, ** is not special, no match copies nothing', async () => {
    const destRoot = freshDest();
    await copyCtx(ctxDir, { sources: ['*.txt'], dest: '/w/' }, destRoot);
    await copyCtx(ctxDir, { sources: ['[ab].txt'], dest: '/cls/' }, destRoot);
    await copyCtx(ctxDir, { sources: ['dir/*/y'], dest: '/deep/' }, destRoot);
    await copyCtx(ctxDir, { sources: ['**/y'], dest: '/star2/' }, destRoot);
    await copyCtx(ctxDir, { sources: ['*.nomatch'], dest: '/none/' }, destRoot);
    await copyCtx(ctxDir, { sources: ['c.?d'], dest: '/single' }, destRoot);
    const s = snapshot(destRoot);
    assert.deepEqual(
      Object.keys(s).sort(),
      ['cls', 'cls/a.txt', 'cls/b.txt', 'deep', 'deep/y', 'single', 'w', 'w/a.txt', 'w/b.txt'],
      '`**/y` matches nothing at depth 2 (`**` is `*`), `*.nomatch` creates nothing',
    );
    assert.equal(s['single'], 'f 0644 0:0 C', 'one wildcard match to a non-directory path is a file');
  });
  test('a file cannot replace a directory, nor a directory a file', async () => {
    const destRoot = freshDest();
    writeTree(destRoot, { 'app/a.txt/': '', file: 'f' });
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['a.txt'], dest: '/app/' }, destRoot),
      /cannot replace to directory \/app\/a.txt with file/,
    );
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['dir'], dest: '/file' }, destRoot),
      /cannot copy to non-directory: \/file/,
    );
  });
  test('a missing source is a clear error naming the path, as BuildKit words it', async () => {
    await assert.rejects(copyCtx(ctxDir, { sources: ['missing.txt'], dest: '/' }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.message, '"/missing.txt": not found');
      return true;
    });
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['a.txt', 'dir/nope/x'], dest: '/d/' }),
      /"\/dir\/nope\/x": not found/,
    );
  });
});

describe('COPY --chown and --chmod', () => {
  const ctxDir = fresh('ctx-');
  const rootfs = fresh('rootfs-');
  before(() => {
    writeTree(ctxDir, {
      'f.txt': { mode: 0o640, data: 'F' },
      'run.sh': { mode: 0o755, data: '#!/bin/sh' },
      'd/inner.txt': { mode: 0o600, data: 'I' },
      'd/link': { link: 'inner.txt' },
    });
    chmodSync(join(ctxDir, 'd'), 0o750);
    writeTree(rootfs, {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n',
      'etc/group': 'root:x:0:\nappgrp:x:1001:\nstaff:x:50:app\n',
    });
  });

  test('by name (primary group), name:group, numbers; created parents owned by the user', async () => {
    const cases: [string, string][] = [
      ['app', '1000:1001'],
      ['app:staff', '1000:50'],
      ['1234', '1234:1234'],
      ['1234:5', '1234:5'],
      ['app:7', '1000:7'],
    ];
    for (const [chown, owner] of cases) {
      const destRoot = freshDest();
      writeTree(destRoot, { 'etc/passwd': readFileSync(join(rootfs, 'etc/passwd'), 'utf8') });
      writeTree(destRoot, { 'etc/group': readFileSync(join(rootfs, 'etc/group'), 'utf8') });
      await copyCtx(ctxDir, { sources: ['f.txt', 'd'], dest: '/home/app/', chown }, destRoot);
      const s = snapshot(destRoot);
      assert.equal(s['home'], `d 0755 ${owner}`, chown);
      assert.equal(s['home/app'], `d 0755 ${owner}`, chown);
      assert.equal(s['home/app/f.txt'], `f 0640 ${owner} F`, chown);
      assert.equal(s['home/app/inner.txt'], `f 0600 ${owner} I`, chown);
      assert.equal(s['home/app/link'], `l ${owner} -> inner.txt`, chown);
      assert.equal(s['etc'], 'd 0755 0:0', 'existing directories keep their owner');
    }
  });
  test('names come from a separate root when asked (COPY --link onto scratch)', async () => {
    const { destRoot } = await copyCtx(ctxDir, {
      sources: ['f.txt'],
      dest: '/x',
      chown: 'app:staff',
      userDbRoot: rootfs,
    });
    assert.equal(snapshot(destRoot)['x'], 'f 0640 1000:50 F');
  });
  test('an unknown user or group is an error; root works without /etc/passwd', async () => {
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['f.txt'], dest: '/x', chown: 'ghost' }),
      /unable to find user ghost: no \/etc\/passwd/,
    );
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['f.txt'], dest: '/x', chown: 'app:ghosts', userDbRoot: rootfs }),
      /unable to find group ghosts/,
    );
    const { destRoot } = await copyCtx(ctxDir, { sources: ['f.txt'], dest: '/x', chown: 'root:root' });
    assert.equal(snapshot(destRoot)['x'], 'f 0640 0:0 F');
  });
  test('/etc/passwd is read inside the root even through an escaping symlink', async () => {
    const destRoot = freshDest();
    writeTree(destRoot, {
      'etc/passwd': { link: '../../../../../../real/passwd' },
      'real/passwd': 'svc:x:77:88::/:/bin/sh\n',
    });
    await copyCtx(ctxDir, { sources: ['f.txt'], dest: '/x', chown: 'svc' }, destRoot);
    assert.equal(snapshot(destRoot)['x'], 'f 0640 77:88 F');
  });
  test('octal --chmod applies to files, copied directories and the directories the copy creates (BuildKit v0.24), not symlinks', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['d'], dest: '/p/q', chmod: '0751' });
    const s = snapshot(destRoot);
    assert.equal(s['p'], 'd 0751 0:0', 'a parent the copy created');
    assert.equal(s['p/q'], 'd 0751 0:0', 'the top directory was created, not copied');
    assert.equal(s['p/q/inner.txt'], 'f 0751 0:0 I');
    assert.equal(s['p/q/link'], 'l 0:0 -> inner.txt');
  });
  test('symbolic --chmod gives what GNU chmod gives (BuildKit testChmodNonOctal cases)', async () => {
    const base = fresh('chmod-');
    writeTree(base, { 'input/file': { mode: 0o666, data: '' } });
    for (const [mode, isDir] of [
      ['go-w', false],
      ['u=rw,g=r,o=r', false],
      ['a+X', false],
      ['go-w', true],
      ['u+rw,g+r,o-x,o+w', true],
      ['a+X', true],
      ['u=rwx,go=u-w', false],
      ['+t,g+s', true],
    ] as [string, boolean][]) {
      const src = join(base, `src-${mode}-${isDir}`);
      const expected = join(base, `exp-${mode}-${isDir}`);
      if (isDir) {
        mkdirSync(join(src, 'dir'), { recursive: true });
        chmodSync(join(src, 'dir'), 0o124);
      } else {
        writeTree(src, { file: { mode: 0o666, data: '' } });
      }
      const name = isDir ? 'dir' : 'file';
      execFileSync('cp', ['-a', join(src, name), expected]);
      execFileSync('chmod', [mode, expected]);
      const destRoot = freshDest();
      await copy({
        source: dirSource(src),
        sources: [isDir ? '/' : name],
        destRoot,
        dest: '/out/',
        chmod: mode,
      });
      const got = isDir
        ? lstatSync(join(destRoot, 'out/dir')).mode
        : lstatSync(join(destRoot, 'out/file')).mode;
      assert.equal(
        (got & 0o7777).toString(8),
        (statSync(expected).mode & 0o7777).toString(8),
        `${mode} on ${name}`,
      );
    }
  });
  test('a bad --chmod fails before anything is written', async () => {
    const destRoot = freshDest();
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['f.txt'], dest: '/x', chmod: '8' }, destRoot),
      /invalid chmod parameter: '8'/,
    );
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['f.txt'], dest: '/x', chmod: 'q+z' }, destRoot),
      /invalid chmod parameter/,
    );
    assert.deepEqual(snapshot(destRoot), {});
  });
});

describe('COPY --exclude (BuildKit testExcludedFilesOnCopy)', () => {
  const ctxDir = fresh('ctx-');
  before(() => {
    writeTree(ctxDir, {
      'dir1/file-101.png': '2',
      'dir1/file-102.txt': '3',
      'dir1/file-103.jpeg': '4',
      'dir2/file-201.pdf': '6',
      'dir2/file-202.jpeg': '7',
      'dir2/file-203.png': '8',
      'dir3/file-301.mp3': '9',
      'dir3/file-302.mpeg': '10',
      'hom.txt': 'h',
      'home.md': 'm',
    });
  });
  const files = (root: string, dir: string) =>
    Object.entries(snapshot(join(root, dir)))
      .filter(([, v]) => v.startsWith('f'))
      .map(([k]) => k)
      .sort();

  test('builder1..6 of the BuildKit test', async () => {
    const destRoot = freshDest();
    const run = (o: Omit<CopyOptions, 'source' | 'destRoot'>) => copyCtx(ctxDir, o, destRoot);
    await run({ sources: ['.'], dest: '/1', exclude: ['*/*.png', '*/*.jpeg'] });
    await run({ sources: ['.'], dest: '/2', exclude: ['*/*.pdf', '*/*.txt'] });
    await run({ sources: ['dir3/'], dest: '/3/', exclude: ['*.mp3'] });
    await run({ sources: ['dir*'], dest: '/4/', exclude: ['*.mp3', '*.jpeg', '*.png', '*.pdf', '*.txt'] });
    await run({ sources: ['dir*'], dest: '/5', exclude: ['*.mp*', '*.jpeg', '*.png', '*.pdf'] });
    await run({ sources: ['dir*'], dest: '/6', exclude: ['*'] });
    assert.deepEqual(files(destRoot, '1'), [
      'dir1/file-102.txt',
      'dir2/file-201.pdf',
      'dir3/file-301.mp3',
      'dir3/file-302.mpeg',
      'hom.txt',
      'home.md',
    ]);
    assert.deepEqual(files(destRoot, '2'), [
      'dir1/file-101.png',
      'dir1/file-103.jpeg',
      'dir2/file-202.jpeg',
      'dir2/file-203.png',
      'dir3/file-301.mp3',
      'dir3/file-302.mpeg',
      'hom.txt',
      'home.md',
    ]);
    assert.deepEqual(files(destRoot, '3'), ['file-302.mpeg']);
    assert.deepEqual(files(destRoot, '4'), ['file-302.mpeg']);
    assert.deepEqual(files(destRoot, '5'), ['file-102.txt']);
    assert.deepEqual(readdirSync(join(destRoot, '6')), [], 'all excluded: the directory exists and is empty');
  });
  test('a wildcard-matched file is excluded too (the documented hom* example)', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['hom*'], dest: '/mydir/', exclude: ['*.txt'] });
    assert.deepEqual(files(destRoot, 'mydir'), ['home.md']);
  });
  test('exceptions re-include, and excluded parents are created for them', async () => {
    const { destRoot } = await copyCtx(ctxDir, {
      sources: ['.'],
      dest: '/e/',
      exclude: ['dir*', '!dir2/*.png'],
    });
    assert.deepEqual(files(destRoot, 'e'), ['dir2/file-203.png', 'hom.txt', 'home.md']);
  });
});

describe('COPY --parents (BuildKit testCopyParents, testCopyRelativeParents)', () => {
  const ctxDir = fresh('ctx-');
  const base = fresh('base-');
  before(() => {
    writeTree(ctxDir, {
      'foo1/foo2/bar': 'testing',
      'foo1/foo2/baz': 'testing2',
      'x/a.txt': 'xa',
      'y/a.txt': 'ya',
    });
    chmodSync(join(ctxDir, 'foo1'), 0o700);
    chmodSync(join(ctxDir, 'foo1/foo2'), 0o700);
    for (const d of ['a/b/c/d/e', 'a/b2/c/d/e', 'a/b/c2/d/e', 'a/b/c2/d/e2'])
      mkdirSync(join(base, 'test', d), { recursive: true });
    for (const f of ['a/b/c/d/foo', 'a/b/c/d/e/bay', 'a/b2/c/d/e/bar', 'a/b/c2/d/e/baz', 'a/b/c2/d/e2/baz']) {
      writeFileSync(join(base, 'test', f), '');
    }
  });
  test('context: the whole path is kept, parents take the source metadata', async () => {
    const destRoot = freshDest();
    await copyCtx(ctxDir, { sources: ['foo1/foo2/bar'], dest: '/', parents: true }, destRoot);
    await copyCtx(
      ctxDir,
      { sources: ['foo1/foo2/ba*'], dest: '.', workdir: '/test', parents: true },
      destRoot,
    );
    await copyCtx(
      ctxDir,
      { sources: ['./x/a.txt', './y/a.txt'], dest: '/parents/', parents: true },
      destRoot,
    );
    const s = snapshot(destRoot);
    assert.equal(s['foo1'], 'd 0700 0:0');
    assert.equal(s['foo1/foo2/bar'], 'f 0644 0:0 testing');
    assert.equal(s['test/foo1/foo2/bar'], 'f 0644 0:0 testing');
    assert.equal(s['test/foo1/foo2/baz'], 'f 0644 0:0 testing2');
    assert.equal(s['parents/x/a.txt'], 'f 0644 0:0 xa');
    assert.equal(s['parents/y/a.txt'], 'f 0644 0:0 ya');
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['foo1/none'], dest: '/', parents: true }),
      /"\/foo1\/none": not found/,
    );
  });
  const cases: [string, string[], string[], string[]][] = [
    ['middle', ['/test/a/b/./c/d'], ['c/d/e/', 'c/d/foo'], ['a', 'e']],
    ['end', ['/test/a/b/c/d/.'], ['test/a/b/c/d/e/', 'test/a/b/c/d/foo'], []],
    ['start', ['./test/a/b/c/d'], ['test/a/b/c/d/e/', 'test/a/b/c/d/foo'], []],
    ['double', ['/test/a/./b/./c'], ['b/c/d/e/', 'b/c/d/foo'], []],
    ['wildcard', ['/test/a/./*/c'], ['b/c/d/e/', 'b2/c/d/e/bar'], []],
    ['doublewildcard', ['/test/a/b*/./c/**/e'], ['c/d/e/', 'c/d/e/bay', 'c/d/e/bar'], []],
    [
      'doubleinputs',
      ['/test/a/b/c*/./d/**/baz', '/test/a/b*/./c/**/bar'],
      ['d/e/baz', 'd/e2/baz', 'c/d/e/bar'],
      ['d/e/bay'],
    ],
  ];
  for (const [name, sources, present, absent] of cases) {
    test(`--from: ${name}`, async () => {
      const destRoot = freshDest();
      await copy({ source: dirSource(base), sources, destRoot, dest: '/out/', parents: true });
      const s = snapshot(join(destRoot, 'out'));
      for (const p of present) {
        const key = p.replace(/\/$/, '');
        assert.ok(
          s[key]?.startsWith(p.endsWith('/') ? 'd' : 'f'),
          `${name}: ${p} in ${JSON.stringify(Object.keys(s))}`,
        );
      }
      for (const p of absent) assert.equal(s[p], undefined, `${name}: ${p} absent`);
    });
  }
});

describe('COPY and symlinks, ownership, hard links, special files', () => {
  const ctxDir = fresh('ctx-');
  before(() => {
    writeTree(ctxDir, {
      'data/real.txt': 'REAL',
      x: 'top-level x',
      'etc/passwd': 'context passwd',
      linkdir: { link: 'data' },
      up: { link: '../x' },
      abs: { link: '/etc/passwd' },
      dangling: { link: 'nowhere' },
      'far/away/esc': { link: '../../../../../../../../etc/shadow' },
      'tree/rel': { link: '../data/real.txt' },
      'tree/file': 'T',
      owned: 'O',
      hard1: 'H',
    });
    linkSync(join(ctxDir, 'hard1'), join(ctxDir, 'tree/hard2'));
    chownSync(join(ctxDir, 'owned'), 1234, 4321);
    execFileSync('mkfifo', [join(ctxDir, 'tree/fifo')]);
  });

  test('a named symlink is followed inside the context root, never outside it', async () => {
    const destRoot = freshDest();
    await copyCtx(ctxDir, { sources: ['up', 'abs', 'linkdir'], dest: '/s/' }, destRoot);
    const s = snapshot(destRoot);
    assert.equal(s['s/up'], 'f 0644 0:0 top-level x', 'up -> ../x resolves to the context /x');
    assert.equal(s['s/abs'], 'f 0644 0:0 context passwd', '/etc/passwd means the context /etc/passwd');
    assert.equal(s['s/real.txt'], 'f 0644 0:0 REAL', 'a symlinked directory copies its contents');
    await assert.rejects(
      copyCtx(ctxDir, { sources: ['far/away/esc'], dest: '/' }),
      /"\/far\/away\/esc": not found/,
    );
    await assert.rejects(copyCtx(ctxDir, { sources: ['dangling'], dest: '/' }), /"\/dangling": not found/);
  });
  test('symlinks inside a copied directory stay symlinks; hard links stay linked; fifos are recreated', async () => {
    const { destRoot, stats } = await copyCtx(ctxDir, { sources: ['tree', 'hard1'], dest: '/t/' });
    const s = snapshot(destRoot);
    assert.equal(s['t/rel'], 'l 0:0 -> ../data/real.txt');
    assert.equal(s['t/fifo'], '? 0644 0:0');
    assert.ok(lstatSync(join(destRoot, 't/fifo')).isFIFO());
    assert.equal(stats.hardlinks, 0, 'hard links are kept within one source only');
    const again = await copyCtx(ctxDir, { sources: ['.'], dest: '/all/' });
    assert.equal(again.stats.hardlinks, 1);
    assert.equal(
      lstatSync(join(again.destRoot, 'all/hard1')).ino,
      lstatSync(join(again.destRoot, 'all/tree/hard2')).ino,
    );
  });
  test('context files are owned by 0:0; --from keeps the owner', async () => {
    const { destRoot } = await copyCtx(ctxDir, { sources: ['owned'], dest: '/o' });
    assert.equal(snapshot(destRoot)['o'], 'f 0644 0:0 O');
    const dest2 = freshDest();
    await copy({ source: dirSource(ctxDir), sources: ['owned'], destRoot: dest2, dest: '/o' });
    assert.equal(snapshot(dest2)['o'], 'f 0644 1234:4321 O');
  });
  test('followSymlinks false copies a named symlink as a symlink', async () => {
    const destRoot = freshDest();
    await copy({ source: dirSource(ctxDir), sources: ['up'], destRoot, dest: '/u', followSymlinks: false });
    assert.equal(snapshot(destRoot)['u'], 'l 0:0 -> ../x');
  });
  test('destination symlinks are followed inside the destination root', async () => {
    const destRoot = freshDest();
    writeTree(destRoot, {
      'usr/local/': '',
      'opt/app': { link: '/usr/local' },
      esc: { link: '../../../../../../../tmp/polyarch-escape-target' },
      old: { link: 'elsewhere' },
    });
    await copyCtx(ctxDir, { sources: ['x'], dest: '/opt/app/bin/' }, destRoot);
    await copyCtx(ctxDir, { sources: ['x'], dest: '/esc/x' }, destRoot);
    await copyCtx(ctxDir, { sources: ['x'], dest: '/old' }, destRoot);
    const s = snapshot(destRoot);
    assert.equal(s['usr/local/bin/x'], 'f 0644 0:0 top-level x', 'through /opt/app -> /usr/local');
    assert.equal(
      s['tmp/polyarch-escape-target/x'],
      'f 0644 0:0 top-level x',
      'an escaping link is clamped to the root',
    );
    assert.equal(
      s['elsewhere'],
      'f 0644 0:0 top-level x',
      'a dangling final link is written through, inside the root',
    );
  });
  test('mtimes survive (µs), createdTime overrides them', async () => {
    const t = new Date('2001-09-09T01:46:40.123Z');
    utimesSync(join(ctxDir, 'tree/file'), t, t);
    const { destRoot } = await copyCtx(ctxDir, { sources: ['tree/file'], dest: '/m' });
    assert.equal(statSync(join(destRoot, 'm')).mtime.getTime(), t.getTime());
    const epoch = new Date('2024-01-01T00:00:00Z');
    const r2 = await copyCtx(ctxDir, { sources: ['tree'], dest: '/e/sub/', createdTime: epoch });
    for (const p of ['e', 'e/sub', 'e/sub/file'])
      assert.equal(lstatSync(join(r2.destRoot, p)).mtime.getTime(), epoch.getTime(), p);
  });
  test('xattrs are copied (best effort, via getfattr/setfattr)', {
    skip: !haveCommand('setfattr') && 'attr is not installed',
  }, async () => {
    writeTree(ctxDir, { 'attrs/x': 'x' });
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello', join(ctxDir, 'attrs/x')]);
    const { destRoot, stats } = await copyCtx(ctxDir, { sources: ['attrs'], dest: '/xa/' });
    const got = execFileSync('getfattr', ['--only-values', '-n', 'user.note', join(destRoot, 'xa/x')], {
      encoding: 'utf8',
    });
    assert.equal(got, 'hello');
    assert.equal(stats.xattrs, 1);
  });
  test('xattrs survive names that getfattr and setfattr quote', {
    skip: !haveCommand('setfattr') && 'attr is not installed',
  }, async () => {
    const names = ['back\\slash', 'a b', 'eq=sign', 'tab\there', 'ünï'];
    writeTree(ctxDir, Object.fromEntries(names.map((n) => [`odd/${n}`, n])));
    for (const n of names) execFileSync('setfattr', ['-n', 'user.note', '-v', n, join(ctxDir, 'odd', n)]);
    const { destRoot, stats } = await copyCtx(ctxDir, { sources: ['odd'], dest: '/xo/' });
    for (const n of names) {
      const got = execFileSync('getfattr', ['--only-values', '-n', 'user.note', join(destRoot, 'xo', n)], {
        encoding: 'utf8',
      });
      assert.equal(got, n, n);
    }
    assert.equal(stats.xattrs, names.length);
  });
});

describe('COPY from a context with .dockerignore', () => {
  test('ignored files are absent, an ignored source is not found, exceptions re-include', async () => {
    const ctxDir = fresh('ctx-');
    writeTree(ctxDir, {
      '.dockerignore': 'docs\n!docs/README.md\n*.log\nsecret/\n',
      'docs/README.md': 'readme',
      'docs/other.md': 'other',
      'app.log': 'log',
      'secret/key': 'k',
      'main.go': 'package main',
    });
    const ctx = await loadContext({ dir: ctxDir });
    const destRoot = freshDest();
    await copy({ source: ctx.source, sources: ['.'], destRoot, dest: '/src/' });
    assert.deepEqual(Object.keys(snapshot(join(destRoot, 'src'))).sort(), [
      '.dockerignore',
      'docs',
      'docs/README.md',
      'main.go',
    ]);
    await assert.rejects(
      copy({ source: ctx.source, sources: ['secret/key'], destRoot, dest: '/k' }),
      /"\/secret\/key": not found/,
    );
    await assert.rejects(
      copy({ source: ctx.source, sources: ['app.log'], destRoot, dest: '/k' }),
      /"\/app.log": not found/,
    );
  });
});

// --- ADD ------------------------------------------------------------------------------------

/** An ExtractTar for tests: GNU tar reads the stream; --chown is applied afterwards. */
const gnuTarExtract: ExtractTar = (stream: Readable, destDir, opts) =>
  new Promise((resolve, reject) => {
    const child = spawn('tar', ['-x', '-f', '-', '-C', destDir, '--same-owner', '--same-permissions'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    stream.on('error', reject);
    child.stdin.on('error', () => {});
    stream.pipe(child.stdin);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`tar exited ${code}: ${err}`));
      if (opts.chown) execFileSync('chown', ['-hR', `${opts.chown.uid}:${opts.chown.gid}`, destDir]);
      resolve();
    });
  });

describe('ADD of local archives', () => {
  const ctxDir = fresh('ctx-');
  const payload = fresh('payload-');
  before(() => {
    writeTree(payload, {
      'pkg/bin/tool': { mode: 0o755, data: '#!/bin/sh\necho hi\n' },
      'pkg/README': 'read me',
    });
    chownSync(join(payload, 'pkg/README'), 42, 43);
    const t = (args: string[]) => execFileSync('tar', ['-C', payload, ...args, 'pkg']);
    t(['-cf', join(ctxDir, 'plain.tar')]);
    t(['-czf', join(ctxDir, 'a.tar.gz')]);
    t(['-cJf', join(ctxDir, 'a.tar.xz')]);
    t(['-cjf', join(ctxDir, 'a.tar.bz2')]);
    t(['--zstd', '-cf', join(ctxDir, 'a.tar.zst')]);
    writeFileSync(join(ctxDir, 'notatar.gz'), execFileSync('gzip', ['-c'], { input: 'just text\n' }));
    writeFileSync(join(ctxDir, 'text.txt'), 'just text\n');
  });
  const addCtx = async (o: { sources: string[]; dest: string; unpack?: boolean; chown?: string }) => {
    const ctx = await loadContext({ dir: ctxDir });
    const destRoot = freshDest();
    const stats = await add({ source: ctx.source, destRoot, extractTar: gnuTarExtract, ...o });
    return { destRoot, stats };
  };

  for (const name of ['plain.tar', 'a.tar.gz', 'a.tar.xz', 'a.tar.bz2', 'a.tar.zst']) {
    test(`${name} is unpacked into the destination directory, owners and modes kept`, async () => {
      const { destRoot, stats } = await addCtx({ sources: [name], dest: '/opt' });
      const s = snapshot(destRoot);
      assert.equal(stats.unpacked, 1);
      assert.equal(s['opt/pkg/bin/tool'], 'f 0755 0:0 #!/bin/sh\necho hi\n');
      assert.equal(s['opt/pkg/README'], 'f 0644 42:43 read me');
    });
  }
  test('--chown applies to unpacked entries; several archives unpack into one directory', async () => {
    const { destRoot, stats } = await addCtx({
      sources: ['a.tar.gz', 'a.tar.xz', 'text.txt'],
      dest: '/o/',
      chown: '7:8',
    });
    assert.equal(stats.unpacked, 2);
    const s = snapshot(destRoot);
    assert.equal(s['o/pkg/README'], 'f 0644 7:8 read me');
    assert.equal(s['o/text.txt'], 'f 0644 7:8 just text\n');
  });
  test('--unpack=false copies the archive; a compressed non-tar is copied as is', async () => {
    const a = await addCtx({ sources: ['a.tar.xz'], dest: '/keep/', unpack: false });
    assert.equal(a.stats.unpacked, 0);
    assert.deepEqual(readFileSync(join(a.destRoot, 'keep/a.tar.xz')), readFileSync(join(ctxDir, 'a.tar.xz')));
    const b = await addCtx({ sources: ['notatar.gz'], dest: '/n' });
    assert.deepEqual(readFileSync(join(b.destRoot, 'n')), readFileSync(join(ctxDir, 'notatar.gz')));
  });
  test('git sources are recognised and refused clearly', async () => {
    await assert.rejects(
      addCtx({ sources: ['https://github.com/moby/buildkit.git'], dest: '/' }),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedError);
        assert.match(err.message, /git sources are not supported yet/);
        return true;
      },
    );
  });
});

describe('ADD of URLs (a local HTTP server)', () => {
  let server: Server;
  let base = '';
  const body = 'downloaded payload\n';
  const sha = execFileSync('sha256sum', { input: body, encoding: 'utf8' }).split(' ')[0]!;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/files/tool.sh') {
        res.writeHead(200, {
          'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
          'content-type': 'text/plain',
        });
        res.end(body);
      } else if (req.url === '/') {
        res.writeHead(200, { 'content-disposition': 'attachment; filename="named.txt"' });
        res.end(body);
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: '/files/tool.sh' });
        res.end();
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const emptyCtx = fresh('ctx-');
  const addUrl = async (o: { sources: string[]; dest: string; checksum?: string; chmod?: string }) => {
    const destRoot = freshDest();
    const source: SourceFS = dirSource(emptyCtx);
    const stats = await add({ source, destRoot, extractTar: gnuTarExtract, ...o });
    return { destRoot, stats };
  };

  test('named after the URL path, 0600, mtime from Last-Modified', async () => {
    const { destRoot } = await addUrl({ sources: [`${base}/files/tool.sh`], dest: '/dl/' });
    const p = join(destRoot, 'dl/tool.sh');
    assert.equal(snapshot(destRoot)['dl/tool.sh'], `f 0600 0:0 ${body}`);
    assert.equal(statSync(p).mtime.toISOString(), '2015-10-21T07:28:00.000Z');
  });
  test('--checksum good passes, bad fails with both digests', async () => {
    const ok = await addUrl({
      sources: [`${base}/files/tool.sh`],
      dest: '/ok',
      checksum: `sha256:${sha}`,
      chmod: '755',
    });
    assert.equal(snapshot(ok.destRoot)['ok'], `f 0755 0:0 ${body}`);
    const wrong = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      addUrl({ sources: [`${base}/files/tool.sh`], dest: '/bad', checksum: wrong }),
      (err: unknown) => {
        assert.ok(err instanceof DigestMismatchError);
        assert.match(
          err.message,
          new RegExp(`digest mismatch for .*/files/tool.sh: sha256:${sha} \\(expected: ${wrong}\\)`),
        );
        return true;
      },
    );
  });
  test('redirects are followed; a URL without a path uses Content-Disposition', async () => {
    const r = await addUrl({ sources: [`${base}/redirect`, `${base}/`], dest: '/r/' });
    const s = snapshot(r.destRoot);
    assert.equal(s['r/redirect'], `f 0600 0:0 ${body}`);
    assert.equal(s['r/named.txt'], `f 0600 0:0 ${body}`);
  });
  test('a failing status is an error', async () => {
    await assert.rejects(addUrl({ sources: [`${base}/missing`], dest: '/m' }), /invalid response status 404/);
  });
});
