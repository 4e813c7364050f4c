import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  compareNames,
  entryTypeOf,
  hostPath,
  parseContextArg,
  safeToPersist,
} from '../../src/context/index.js';

describe('context arguments', () => {
  const cases: [string, ReturnType<typeof parseContextArg>][] = [
    ['.', { kind: 'dir', dir: '.' }],
    ['../app', { kind: 'dir', dir: '../app' }],
    ['-', { kind: 'stdin' }],
    ['https://example.com/ctx.tar.gz', { kind: 'url', url: 'https://example.com/ctx.tar.gz' }],
    ['git@github.com:me/app.git', { kind: 'url', url: 'git@github.com:me/app.git' }],
    ['github.com/me/app', { kind: 'url', url: 'github.com/me/app' }],
  ];
  for (const [arg, want] of cases) test(arg, () => assert.deepEqual(parseContextArg(arg), want));
  test('empty is an error', () => assert.throws(() => parseContextArg(''), /must not be empty/));
});

describe('stat cache trust', () => {
  const now = 1_700_000_000_000_000_000n;
  const key = (mtimeNs: bigint, ctimeNs = mtimeNs) => ({ size: 1, ino: 1n, mtimeNs, ctimeNs });
  test('times safely before hashing began are persisted', () => {
    assert.ok(safeToPersist(key(now - 1_000_000_000n + 7n), now));
  });
  test('times within a few clock ticks of hashing are not (racily clean)', () => {
    assert.ok(!safeToPersist(key(now - 10_000_000n + 7n), now));
    assert.ok(
      !safeToPersist(key(now - 5_000_000_000n + 7n, now + 1n), now),
      'a recent ctime alone is enough',
    );
    assert.ok(!safeToPersist(key(now + 1_000_000n), now));
  });
  test('whole-second timestamps (coarse filesystems) need a wider margin', () => {
    assert.ok(!safeToPersist(key(now - 1_000_000_000n), now));
    assert.ok(safeToPersist(key(now - 3_000_000_000n), now));
  });
});

describe('names and types', () => {
  test('byte order like Go, also past the BMP', () => {
    const names = ['b', 'a', 'B', '\uFF21', '\u{1F600}', 'é', '_'];
    assert.deepEqual(names.sort(compareNames), ['B', '_', 'a', 'b', 'é', '\uFF21', '\u{1F600}']);
  });
  test('file types from st_mode', () => {
    assert.equal(entryTypeOf(0o100644), 'file');
    assert.equal(entryTypeOf(0o40755), 'dir');
    assert.equal(entryTypeOf(0o120777), 'symlink');
    assert.equal(entryTypeOf(0o10644), 'fifo');
    assert.equal(entryTypeOf(0o20600), 'char');
    assert.equal(entryTypeOf(0o60600), 'block');
    assert.equal(entryTypeOf(0o140755), 'socket');
  });
});

describe('host paths', () => {
  // clean paths are concatenated without path.join; the answer must be join's all the same
  const cases: [string, string][] = [
    ['/ctx', '/a/b.txt'],
    ['/ctx', '/'],
    ['/', '/a'],
    ['/ctx/', '/a'],
    ['/ctx', '/a/'],
    ['/ctx', '//a'],
    ['/ctx', '/a/./b'],
    ['/ctx', '/a/../b'],
    ['/ctx/..', '/a'],
    ['/ctx', '/a/..'],
    ['/ctx', '/.hidden/..x/...'],
    ['ctx', '/a'],
    ['/ctx', 'a'],
  ];
  for (const [root, path] of cases) {
    const want = path === '/' ? root : join(root, path);
    test(`${root} + ${path} = ${want}`, () => assert.equal(hostPath(root, path), want));
  }
});
