import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ExecError } from '../../src/errors.js';
import { parseGroup, parsePasswd, readExecUser, resolveUser } from '../../src/executor/user.js';
import { tempDir } from '../helpers/fixtures.js';

const passwd = parsePasswd(
  [
    'root:x:0:0:root:/root:/bin/sh',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    '',
    'builder:x:1000:1000:Builder:/home/builder:/bin/sh',
    'dup:x:1000:1001::/dup:/bin/sh',
    'broken:x:notanumber:7::/b:/bin/sh',
  ].join('\n'),
);
const group = parseGroup(
  [
    'root:x:0:',
    'wheel:x:10:root,builder',
    'builders:x:1000:',
    'extra:x:2000:builder',
    'staff:x:50:daemon',
  ].join('\n'),
);

describe('parsePasswd / parseGroup', () => {
  test('read the fields runc reads, with Atoi semantics', () => {
    assert.deepEqual(passwd[2], {
      name: 'builder',
      uid: 1000,
      gid: 1000,
      home: '/home/builder',
      shell: '/bin/sh',
    });
    assert.equal(passwd.length, 5, 'blank lines skipped');
    assert.equal(passwd[4]!.uid, 0, 'a malformed uid reads as 0, as runc');
    assert.deepEqual(group[1], { name: 'wheel', gid: 10, members: ['root', 'builder'] });
    assert.deepEqual(group[0]!.members, []);
  });
});

describe('resolveUser (BuildKit GetUser over runc GetExecUser)', () => {
  const cases: [string, { uid: number; gid: number; additionalGids: number[] }][] = [
    ['', { uid: 0, gid: 0, additionalGids: [0, 10] }],
    ['root', { uid: 0, gid: 0, additionalGids: [0, 10] }],
    ['0', { uid: 0, gid: 0, additionalGids: [0, 10] }],
    ['builder', { uid: 1000, gid: 1000, additionalGids: [1000, 10, 2000] }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [1000, 10, 2000] }],
    ['daemon', { uid: 1, gid: 1, additionalGids: [1, 50] }],
    // numeric uid:gid is the fast path: no lookup, no supplementary groups
    ['1000:2000', { uid: 1000, gid: 2000, additionalGids: [2000] }],
    ['root:root', { uid: 0, gid: 0, additionalGids: [0] }],
    ['builder:extra', { uid: 1000, gid: 2000, additionalGids: [2000] }],
    ['builder:50', { uid: 1000, gid: 50, additionalGids: [50] }],
    ['builder:4242', { uid: 1000, gid: 4242, additionalGids: [4242] }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [0] }],
    ['4242:builders', { uid: 4242, gid: 1000, additionalGids: [1000] }],
  ];
  for (const [spec, want] of cases) {
    test(`"${spec}"`, () => {
      const got = resolveUser(spec, passwd, group);
      assert.deepEqual({ uid: got.uid, gid: got.gid, additionalGids: got.additionalGids }, want);
    });
  }

  test('first match wins for duplicate uids; home comes from passwd', () => {
    assert.equal(resolveUser('1000', passwd, group).home, '/home/builder');
    assert.equal(resolveUser('4242', passwd, group).home, '/');
  });

  test('unknown names are errors with runc’s messages; the default user never fails', () => {
    assert.throws(
      () => resolveUser('nobody', passwd, group),
      /^Error: unable to find user nobody: no matching entries in passwd file$/,
    );
    assert.throws(
      () => resolveUser('builder:nogroup', passwd, group),
      /unable to find group nogroup: no matching entries in group file/,
    );
    assert.throws(() => resolveUser('nobody', undefined, undefined), /unable to find user nobody/);
    assert.deepEqual(resolveUser('', undefined, undefined), {
      uid: 0,
      gid: 0,
      additionalGids: [0],
      home: '/',
    });
    assert.deepEqual(resolveUser('1:2', undefined, undefined).additionalGids, [2]);
  });
});

describe('readExecUser', () => {
  test('reads /etc/passwd through symlinks kept inside the rootfs, and wraps errors', () => {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'data', 'passwd'), 'app:x:77:88::/app:/bin/sh\n');
    writeFileSync(join(root, 'data', 'group'), 'app:x:88:\nobs:x:99:app\n');
    symlinkSync('/data/passwd', join(root, 'etc', 'passwd'));
    symlinkSync('../../../../data/group', join(root, 'etc', 'group'));
    assert.deepEqual(readExecUser(root, 'app'), { uid: 77, gid: 88, additionalGids: [88, 99], home: '/app' });
    assert.throws(
      () => readExecUser(root, 'ghost'),
      (err: unknown) =>
        err instanceof ExecError &&
        err.message ===
          'resolving user "ghost": unable to find user ghost: no matching entries in passwd file',
    );
  });
});
