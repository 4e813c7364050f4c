import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entryHeader, splitParents, splitWildcards } from '../../src/context/index.js';
import {
  applyChmod,
  contentDispositionFilename,
  destParentToCreate,
  effectiveDest,
  isGitSource,
  isHttpSource,
  isTarHeader,
  normalizeDest,
  parseChecksum,
  parseChmod,
  parseChown,
  resolveChown,
  urlFilename,
  validateAdd,
} from '../../src/fileop/index.js';

describe('destination path rules', () => {
  const cases: [string, string, string][] = [
    ['/', '.', '/'],
    ['/', '', '/'],
    ['/app', '.', '/app/'],
    ['/app', './', '/app/'],
    ['/app', 'bin/', '/app/bin/'],
    ['/app', 'bin', '/app/bin'],
    ['/app', '/etc/x', '/etc/x'],
    ['/app', '/etc/x/', '/etc/x/'],
    ['/app', '../x', '/x'],
    ['/app', '../../../x', '/x'],
    ['/', 'a/b/.', '/a/b/.'],
    ['/', '/.', '/.'],
    ['app', 'x', '/app/x'],
    ['/app/', 'x//y/', '/app/x/y/'],
  ];
  for (const [workdir, dest, want] of cases) {
    test(`WORKDIR ${workdir} + ${JSON.stringify(dest)} → ${want}`, () =>
      assert.equal(normalizeDest(workdir, dest), want));
  }
  test('what fsutil creates before copying', () => {
    assert.equal(destParentToCreate('/app/bin/'), '/app/bin/');
    assert.equal(destParentToCreate('/app/x.txt'), '/app/');
    assert.equal(destParentToCreate('/a/b/.'), '/a/b/.');
    assert.equal(destParentToCreate('/x'), '/');
  });
  test('several sources or matches make the destination a directory', () => {
    assert.equal(effectiveDest('/', 'out', 1, 1), '/out');
    assert.equal(effectiveDest('/', 'out', 2, 2), '/out/');
    assert.equal(effectiveDest('/', 'out', 1, 3), '/out/');
    assert.equal(effectiveDest('/', 'out', 1, 0), '/out');
    assert.equal(effectiveDest('/w', 'out/', 1, 1), '/w/out/');
  });
  test('--parents pivots', () => {
    assert.deepEqual(splitParents('foo1/foo2/bar'), { root: '/', keep: 'foo1/foo2/bar', required: true });
    assert.deepEqual(splitParents('/test/a/b/./c/d'), { root: '/test/a/b', keep: 'c/d', required: true });
    assert.deepEqual(splitParents('/test/a/./b/./c'), { root: '/test/a', keep: 'b/c', required: true });
    assert.deepEqual(splitParents('/test/a/b/c/d/.'), { root: '/', keep: 'test/a/b/c/d', required: true });
    assert.deepEqual(splitParents('./src/**/*.txt'), { root: '/', keep: 'src/**/*.txt', required: false });
    assert.deepEqual(splitParents('/test/a/b*/./c/**/e'), {
      root: '/test/a/b*',
      keep: 'c/**/e',
      required: false,
    });
  });
  test('wildcard split', () => {
    assert.deepEqual(splitWildcards('/a/b/*.txt'), { dir: '/a/b', pattern: '*.txt' });
    assert.deepEqual(splitWildcards('/a/*/c'), { dir: '/a', pattern: '*/c' });
    assert.deepEqual(splitWildcards('/a/b'), { dir: '/a/b', pattern: '' });
    assert.deepEqual(splitWildcards('/a\\*b'), { dir: '/a\\*b', pattern: '' });
    assert.deepEqual(splitWildcards('/[ab]'), { dir: '/', pattern: '[ab]' });
  });
});

describe('--chmod parsing (dockerfile2llb + dchapes-mode)', () => {
  test('octal', () => {
    assert.deepEqual(parseChmod('755'), { kind: 'octal', text: '755', mode: 0o755 });
    assert.equal(applyChmod(parseChmod('0644'), 0o777, false), 0o644);
    assert.equal(applyChmod(parseChmod('4755'), 0o600, false), 0o4755);
    assert.equal(applyChmod(parseChmod('07777'), 0, true), 0o7777);
  });
  test('errors say what was wrong', () => {
    const nonOctal = /invalid chmod parameter: '.*'\. it should be octal string and between 0 and 07777/;
    assert.throws(() => parseChmod('17777'), nonOctal);
    assert.throws(() => parseChmod('9'), nonOctal);
    assert.throws(() => parseChmod('0778'), nonOctal);
    for (const bad of ['', ',', 'q+r', 'z', 'u', 'g', 'o', 'go', 'u+r,']) {
      assert.throws(() => parseChmod(bad), /invalid chmod parameter/, bad);
    }
  });
  // dchapes-mode TestApply: [old mode, new mode, umask, mode string]; 0o40000 marks a directory.
  const D = 0o40000;
  const apply: [number, number, number, string][] = [
    [0o777, 0o000, 0, '='],
    [0o777, 0o777, 0, '+'],
    [0o421, 0o421, 0, '+'],
    [0o777, 0o777, 0, '-'],
    [0o421, 0o421, 0, '-'],
    [0o0421, 0o1421, 0, '+t'],
    [0o1421, 0o421, 0, '-t'],
    [0o000, 0o400, 0, 'u+r'],
    [0o000, 0o200, 0, 'u+w'],
    [0o000, 0o100, 0, 'u+x'],
    [0o000, 0o000, 0, 'u+X'],
    [0o001, 0o101, 0, 'u+X'],
    [D | 0o000, D | 0o100, 0, 'u+X'],
    [0o0000, 0o4000, 0, 'u+s'],
    [0o000, 0o040, 0, 'g+r'],
    [0o000, 0o020, 0, 'g+w'],
    [0o000, 0o010, 0, 'g+x'],
    [0o000, 0o000, 0, 'g+X'],
    [0o100, 0o110, 0, 'g+X'],
    [D | 0o000, D | 0o010, 0, 'g+X'],
    [0o000, 0o2000, 0, 'g+s'],
    [0o000, 0o004, 0, 'o+r'],
    [0o000, 0o002, 0, 'o+w'],
    [0o000, 0o001, 0, 'o+x'],
    [0o000, 0o000, 0, 'o+X'],
    [0o100, 0o101, 0, 'o+X'],
    [D | 0o000, D | 0o001, 0, 'o+X'],
    [0o000, 0o000, 0, 'o+s'],
    [0o000, 0o421, 0, '0421'],
    [0o000, 0o7421, 0, '07421'],
    [0o000, 0o444, 0, '+r'],
    [0o000, 0o222, 0, '+w'],
    [0o000, 0o111, 0, '+x'],
    [0o000, 0o000, 0, '+X'],
    [0o010, 0o111, 0, '+X'],
    [D | 0o000, D | 0o111, 0, '+X'],
    [0o000, 0o6000, 0, '+s'],
    [0o000, 0o440, 0o034, '+r'],
    [0o000, 0o220, 0o052, '+w'],
    [0o000, 0o110, 0o061, '+x'],
    [0o777, 0o333, 0, '-r'],
    [0o777, 0o555, 0, '-w'],
    [0o777, 0o666, 0, '-x'],
    [0o777, 0o777, 0, '-X'],
    [D | 0o777, D | 0o777, 0, '-X'],
    [0o6777, 0o777, 0, '-s'],
    [0o777, 0o337, 0o037, '-r'],
    [0o777, 0o557, 0o057, '-w'],
    [0o777, 0o667, 0o067, '-x'],
    [0o777, 0o377, 0, 'u-r'],
    [0o777, 0o577, 0, 'u-w'],
    [0o777, 0o677, 0, 'u-x'],
    [0o777, 0o777, 0, 'u-X'],
    [D | 0o777, D | 0o777, 0, 'u-X'],
    [0o4777, 0o777, 0, 'u-s'],
    [0o000, 0o600, 0, 'u=rw'],
    [0o777, 0o677, 0, 'u=rw'],
    [0o777, 0o077, 0, 'u='],
    [0o000, 0o666, 0, '=rw'],
    [0o777, 0o666, 0, '=rw'],
    [0o042, 0o442, 0, 'u=g'],
    [0o742, 0o442, 0, 'u=g'],
    [0o722, 0o022, 0, 'u=g-w'],
    [0o742, 0o442, 0, 'u=g-w'],
    [0o762, 0o462, 0, 'u=g-w'],
    [0o772, 0o572, 0, 'u=g-w'],
    [0o021, 0o121, 0, 'u+o'],
    [0o021, 0o221, 0, 'u+g'],
    [0o021, 0o321, 0, 'u+go'],
    [0o011, 0o111, 0o037, 'u+uo'],
    [0o111, 0o011, 0o037, '-u'],
    [0o111, 0o011, 0o037, '-Xu'],
    [0o111, 0o011, 0o037, '-uX'],
    [0o000, 0o764, 0, 'a=r,ug=rw,u+x'],
    [0o777, 0o764, 0, 'a=r,ug=rw,u+x'],
    [0o000, 0o1624, 0, 'o+r,g+w,a+t,g-s,u+og'],
    [0o2100, 0o1724, 0, 'o+r,g+w,a+t,g-s,u+og'],
    [D | 0o6000, D | 0o5624, 0, 'o+r,g+w,a+t,g-s,u+og'],
    [0o777, 0o644, 0, '644'],
    [0o777, 0o755, 0, 'go-w'],
    [0o666, 0o664, 0o002, '=rw,+X'],
    [0o766, 0o775, 0o002, '=rw,+X'],
    [0o766, 0o765, 0o012, '=rw,+X'],
    [0o000, 0o755, 0, 'u=rwx,go=rx'],
    [0o000, 0o755, 0, 'u=rwx,go=u-w'],
    [0o777, 0o700, 0, 'go='],
    [0o770, 0o755, 0, 'go=u-w'],
    [0o670, 0o644, 0, 'go=u-w'],
    [0o570, 0o555, 0, 'go=u-w'],
    [0o370, 0o311, 0, 'go=u-w'],
  ];
  for (const [omode, nmode, umask, str] of apply) {
    test(`${str} (umask ${umask.toString(8)}) on ${omode.toString(8)} → ${nmode.toString(8)}`, () => {
      const isDir = (omode & D) !== 0;
      assert.equal(
        applyChmod(parseChmod(str, umask), omode & 0o7777, isDir).toString(8),
        (nmode & 0o7777).toString(8),
      );
    });
  }
});

describe('--chown', () => {
  test('parsing (llb.WithUser)', () => {
    assert.deepEqual(parseChown('1000'), { user: { id: 1000 }, group: undefined });
    assert.deepEqual(parseChown('app'), { user: { name: 'app' }, group: undefined });
    assert.deepEqual(parseChown('app:staff'), { user: { name: 'app' }, group: { name: 'staff' } });
    assert.deepEqual(parseChown('1:2'), { user: { id: 1 }, group: { id: 2 } });
    assert.deepEqual(parseChown('app:'), { user: { name: 'app' }, group: undefined });
    assert.deepEqual(parseChown(':5'), { user: { id: 0 }, group: { id: 5 } });
    assert.deepEqual(parseChown('99999999999'), { user: { name: '99999999999' }, group: undefined });
    assert.throws(() => parseChown(''), /invalid --chown/);
  });
  const passwd = [
    'root:x:0:0:root:/root:/bin/sh',
    '# comment',
    'broken line',
    'app:x:1000:1001:App:/home/app:/bin/sh',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    '',
  ].join('\n');
  const group = ['root:x:0:', 'staff:x:50:app,other', 'appgrp:x:1001:', 'weird:x:notanumber:'].join('\n');
  const db = { passwd, group };
  const cases: [string, { uid: number; gid: number }][] = [
    ['1000', { uid: 1000, gid: 1000 }],
    ['1000:50', { uid: 1000, gid: 50 }],
    ['app', { uid: 1000, gid: 1001 }],
    ['app:', { uid: 1000, gid: 1001 }],
    ['app:staff', { uid: 1000, gid: 50 }],
    ['app:7', { uid: 1000, gid: 7 }],
    ['42:staff', { uid: 42, gid: 50 }],
    ['nobody', { uid: 65534, gid: 65534 }],
    ['root', { uid: 0, gid: 0 }],
  ];
  for (const [spec, want] of cases) {
    test(`resolve ${spec}`, () => assert.deepEqual(resolveChown(parseChown(spec), db), want));
  }
  test('unknown names are errors that name them; root needs no files', () => {
    assert.throws(
      () => resolveChown(parseChown('ghost'), db, '/rootfs'),
      /unable to find user ghost: no matching entries in \/etc\/passwd of \/rootfs/,
    );
    assert.throws(() => resolveChown(parseChown('app:ghosts'), db), /unable to find group ghosts/);
    assert.throws(
      () => resolveChown(parseChown('app'), { passwd: undefined, group: undefined }, 'scratch'),
      /no \/etc\/passwd in scratch/,
    );
    assert.deepEqual(resolveChown(parseChown('root:root'), { passwd: undefined, group: undefined }), {
      uid: 0,
      gid: 0,
    });
  });
});

describe('archives', () => {
  function tarHeader(name: string): Buffer {
    const b = Buffer.alloc(512);
    b.write(name, 0, 'latin1');
    b.write('0000644\0', 100, 'latin1');
    b.write('0000000\0', 108, 'latin1');
    b.write('0000000\0', 116, 'latin1');
    b.write('00000000000\0', 124, 'latin1');
    b.write('00000000000\0', 136, 'latin1');
    b.write('        ', 148, 'latin1');
    b.write('0', 156, 'latin1');
    b.write('ustar\x0000', 257, 'latin1');
    let sum = 0;
    for (const x of b) sum += x;
    b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return b;
  }
  test('a tar header is recognised by its checksum', () => {
    const h = tarHeader('hello.txt');
    assert.ok(isTarHeader(h));
    const bad = Buffer.from(h);
    bad[0] = 0x41;
    assert.ok(!isTarHeader(bad));
    assert.ok(!isTarHeader(Buffer.alloc(512)));
    assert.ok(!isTarHeader(h.subarray(0, 100)));
    assert.ok(!isTarHeader(Buffer.alloc(512, 0x20)));
    // a right checksum over a numeric field that is not octal: Go's reader refuses it too
    const badMode = tarHeader('x');
    badMode.write('0000694\0', 100, 'latin1');
    badMode.write('        ', 148, 'latin1');
    let sum = 0;
    for (const x of badMode) sum += x;
    badMode.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.ok(!isTarHeader(badMode));
  });
});

describe('ADD sources', () => {
  test('git vs http', () => {
    assert.ok(isGitSource('git@github.com:moby/buildkit.git'));
    assert.ok(isGitSource('git://example.com/repo'));
    assert.ok(isGitSource('https://github.com/moby/buildkit.git#v0.12'));
    assert.ok(!isGitSource('https://example.com/file.tar.gz'));
    assert.ok(isHttpSource('https://example.com/file.tar.gz'));
    assert.ok(!isHttpSource('https://github.com/moby/buildkit.git'));
    assert.ok(!isHttpSource('file.txt'));
  });
  test('validation before any work', () => {
    assert.throws(
      () => validateAdd(['git@github.com:x/y.git', '/d'].slice(0, 1), undefined),
      /git sources are not supported yet/,
    );
    assert.throws(
      () => validateAdd(['a', 'b'], `sha256:${'0'.repeat(64)}`),
      /checksum can't be specified for multiple sources/,
    );
    assert.throws(
      () => validateAdd(['a'], `sha256:${'0'.repeat(64)}`),
      /checksum requires HTTP\(S\) or Git sources/,
    );
    validateAdd(['https://x/y'], `sha256:${'0'.repeat(64)}`);
  });
  test('filenames of URLs', () => {
    assert.equal(urlFilename('https://example.com/dl/tool-1.2.tar.gz?x=1'), 'tool-1.2.tar.gz');
    assert.equal(urlFilename('https://example.com/a%20b.txt'), 'a b.txt');
    assert.equal(urlFilename('https://example.com/dir/'), 'dir');
    assert.equal(urlFilename('https://example.com/'), '__unnamed__');
    assert.equal(urlFilename('https://example.com', 'attachment; filename="report.csv"'), 'report.csv');
    assert.equal(
      urlFilename('https://example.com/', "attachment; filename*=UTF-8''na%C3%AFve.txt"),
      'naïve.txt',
    );
    assert.equal(contentDispositionFilename('attachment; filename=../../etc/passwd'), 'passwd');
    assert.equal(contentDispositionFilename('attachment; filename="dir/"'), undefined);
    assert.equal(contentDispositionFilename('inline'), undefined);
  });
  test('checksums', () => {
    assert.deepEqual(parseChecksum(`sha256:${'a'.repeat(64)}`), { algorithm: 'sha256', hex: 'a'.repeat(64) });
    assert.deepEqual(parseChecksum(`sha512:${'b'.repeat(128)}`).algorithm, 'sha512');
    assert.throws(() => parseChecksum('md5:abc'), /unsupported digest algorithm "md5"/);
    assert.throws(() => parseChecksum(`sha256:${'a'.repeat(63)}`), /invalid sha256 digest/);
    assert.throws(() => parseChecksum('a'.repeat(64)), /unsupported digest algorithm ""/);
  });
});

describe('checksum headers', () => {
  const base = {
    uid: 0,
    gid: 0,
    size: 5,
    mtimeNs: 1n,
    ctimeNs: 1n,
    ino: 1n,
    dev: 1n,
    nlink: 1,
    rdev: 0,
  };
  test('cover type, permission bits, owner, size and link target, not times', () => {
    const f = entryHeader({ ...base, type: 'file', mode: 0o100644 });
    assert.equal(f, '-0644 0:0 5');
    assert.equal(entryHeader({ ...base, type: 'file', mode: 0o100644, mtimeNs: 99n, ctimeNs: 7n }), f);
    assert.notEqual(entryHeader({ ...base, type: 'file', mode: 0o100755 }), f);
    assert.notEqual(entryHeader({ ...base, type: 'file', mode: 0o104644 }), f);
    assert.notEqual(entryHeader({ ...base, type: 'file', mode: 0o100644, uid: 1 }), f);
    assert.equal(
      entryHeader({ ...base, type: 'symlink', mode: 0o120777, linkTarget: '../x' }),
      'l0777 0:0 "../x"',
    );
    assert.equal(entryHeader({ ...base, type: 'dir', mode: 0o40755 }), 'd0755 0:0');
  });
});
