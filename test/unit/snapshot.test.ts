import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Digest } from '../../src/oci/index.js';
import {
  chainIDOf,
  chainIDs,
  cleanComponents,
  detectCompression,
  formatXattrRestore,
  isInternalXattr,
  mountsUnder,
  overlayLowerdirs,
  overlayMountData,
  type PathInfo,
  type PathView,
  parseMountinfo,
  parseXattrDump,
  quote,
  resolveInRoot,
  unquote,
} from '../../src/snapshot/index.js';

/** A tree in memory: path → info. */
function view(entries: Record<string, PathInfo>): PathView & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    lookup(rel) {
      lookups.push(rel);
      return entries[rel] ?? { kind: 'missing' };
    },
  };
}

describe('cleanComponents', () => {
  const cases: [string, string][] = [
    ['a/b/c', 'a/b/c'],
    ['./a//b/', 'a/b'],
    ['../x', 'x'],
    ['/abs/../../x', 'x'],
    ['a/../../x', 'x'],
    ['a/./b/../c', 'a/c'],
    ['/', ''],
    ['..', ''],
  ];
  for (const [input, want] of cases) {
    test(`${input} → ${want || '(root)'}`, () => assert.equal(cleanComponents(input).join('/'), want));
  }
});

describe('resolveInRoot (securejoin)', () => {
  test('a symlink to / resolves to the root', () => {
    const v = view({ link: { kind: 'symlink', target: '/' }, etc: { kind: 'dir' } });
    assert.deepEqual(resolveInRoot(v, ['link', 'etc']), ['etc']);
  });
  test('a symlink to ../../ stops at the root', () => {
    const v = view({ up: { kind: 'symlink', target: '../../' } });
    assert.deepEqual(resolveInRoot(v, ['up', 'x']), ['x']);
  });
  test('relative and absolute targets, chained', () => {
    const v = view({
      usr: { kind: 'dir' },
      'usr/lib': { kind: 'dir' },
      lib: { kind: 'symlink', target: 'usr/lib' },
      'usr/lib/l64': { kind: 'symlink', target: '/usr/lib/../lib' },
    });
    assert.deepEqual(resolveInRoot(v, ['lib', 'l64', 'x']), ['usr', 'lib', 'x']);
  });
  test('missing components are kept and not looked up below', () => {
    const v = view({});
    assert.deepEqual(resolveInRoot(v, ['a', 'b', 'c']), ['a', 'b', 'c']);
    assert.deepEqual(v.lookups, ['a']);
  });
  test('loops are refused', () => {
    const v = view({ a: { kind: 'symlink', target: 'b' }, b: { kind: 'symlink', target: 'a' } });
    assert.throws(() => resolveInRoot(v, ['a', 'x']), /too many levels of symbolic links/);
  });
});

describe('xattr dump format', () => {
  test('quote/unquote round-trips every byte', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const q = quote(all);
    assert.match(q, /^[\x21-\x7e]*$/);
    assert.deepEqual(unquote(q), all);
  });
  test('parses getfattr output: escaped names, base64, empty values', () => {
    const dump = [
      '# file: /r/nl\\012name',
      'trusted.t=0saGk=',
      '',
      '# file: /r/a b',
      'user.e=0s',
      'user.x=0sAP8B',
      '',
    ].join('\n');
    const m = parseXattrDump(dump);
    assert.deepEqual([...m.keys()], ['/r/nl\nname', '/r/a b']);
    assert.deepEqual(m.get('/r/a b')?.get('user.x'), Buffer.from([0, 0xff, 1]));
    assert.deepEqual(m.get('/r/a b')?.get('user.e'), Buffer.alloc(0));
    assert.equal(m.get('/r/nl\nname')?.get('trusted.t')?.toString(), 'hi');
  });
  test('formats setfattr --restore input that parses back', () => {
    const path = Buffer.from([0x2f, 0x72, 0x2f, 0xe9, 0x0a, 0x20]).toString('latin1');
    const text = formatXattrRestore([[path, new Map([['user.v', Buffer.from([0, 10, 255])]])]]);
    assert.match(text.toString('latin1'), /^# file: \/r\/\\351\\012\\040\nuser\.v=0sAAr\/\n\n$/);
    assert.deepEqual(
      parseXattrDump(text.toString('latin1')).get(path)?.get('user.v'),
      Buffer.from([0, 10, 255]),
    );
  });
  test('overlay and host attributes are internal', () => {
    assert.ok(isInternalXattr('trusted.overlay.opaque'));
    assert.ok(isInternalXattr('user.overlay.origin'));
    assert.ok(isInternalXattr('security.selinux'));
    assert.ok(!isInternalXattr('security.capability'));
    assert.ok(!isInternalXattr('user.mime_type'));
  });
});

describe('overlay mount data', () => {
  test('writable mount options', () => {
    assert.equal(
      overlayMountData({ lowerdirs: ['a/fs', '.empty/0'], upperdir: 'u', workdir: 'w' }),
      'lowerdir=a/fs:.empty/0,upperdir=u,workdir=w,index=off,redirect_dir=off,metacopy=off',
    );
  });
  test('a read-only mount needs two lowers; paths with : or , are refused', () => {
    assert.throws(() => overlayMountData({ lowerdirs: ['a'] }), /at least 2 lower directories/);
    assert.equal(overlayMountData({ lowerdirs: ['a', 'b'] }), 'lowerdir=a:b');
    assert.throws(() => overlayMountData({ lowerdirs: ['a:b', 'c'] }), /contains ':'/);
    assert.throws(() => overlayMountData({ lowerdirs: ['a'], upperdir: 'u' }), /go together/);
  });
  test('mountinfo parsing, mounts below a directory deepest first, overlay lowers', () => {
    const table = parseMountinfo(
      [
        '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
        '47 22 0:40 / /s/.tmp/x/merged rw,relatime - overlay overlay rw,lowerdir=ab/fs:.empty/0,upperdir=.tmp/x/fs,workdir=.tmp/x/work',
        '48 47 0:41 / /s/.tmp/x/merged/proc rw - proc proc rw',
        '49 22 0:42 / /s/.tmp/with\\040space rw - tmpfs tmpfs rw',
      ].join('\n'),
    );
    assert.equal(table[3]!.mountPoint, '/s/.tmp/with space');
    assert.deepEqual(mountsUnder('/s/.tmp/x', table), ['/s/.tmp/x/merged/proc', '/s/.tmp/x/merged']);
    assert.deepEqual(overlayLowerdirs(table), [['ab/fs', '.empty/0']]);
  });
});

describe('chain IDs', () => {
  const a = `sha256:${'a'.repeat(64)}` as Digest;
  const b = `sha256:${'b'.repeat(64)}` as Digest;
  test('the bottom layer is its own diffID; above, sha256("<parent> <diffID>")', () => {
    assert.equal(chainIDOf(undefined, a), a);
    // echo -n "sha256:aaa…a sha256:bbb…b" | sha256sum
    assert.equal(chainIDOf(a, b), 'sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c');
    assert.deepEqual(chainIDs([a, b]), [a, chainIDOf(a, b)]);
    assert.notEqual(chainIDOf(a, b), chainIDOf(b, a));
  });
});

describe('compression detection', () => {
  test('by magic number', () => {
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
    assert.equal(detectCompression(Buffer.from('BZh91AY')), 'bzip2');
    assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])), 'xz');
    assert.equal(detectCompression(Buffer.from('etc/passwd\0')), 'none');
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b])), 'none', 'gzip needs its method byte');
  });
});
