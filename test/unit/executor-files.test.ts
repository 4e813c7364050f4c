import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import { isStaleId } from '../../src/executor/executor.js';
import { hostnameFile, hostsFile, validateHostname } from '../../src/executor/hosts.js';
import { containerResolvConf, nameservers } from '../../src/executor/resolvconf.js';
import { resolveInRoot } from '../../src/executor/rootpath.js';
import { initExecFailure, logErrors, ociRuntime, runArgs } from '../../src/executor/runtime.js';
import { findMountStubs, removeMountStubs } from '../../src/executor/stubs.js';
import { tempDir } from '../helpers/fixtures.js';

describe('containerResolvConf (BuildKit + libnetwork FilterResolvDNS)', () => {
  const local = 'search corp.example\nnameserver 127.0.0.53\nnameserver ::1\noptions ndots:2\n';
  const mixed = 'nameserver 127.0.0.1\nnameserver 10.0.0.2 # office\n';

  test('host networking keeps the host file as is', () => {
    assert.equal(containerResolvConf(local, 'host'), local);
    assert.equal(containerResolvConf(mixed, 'host'), mixed);
  });

  test('a new network namespace drops localhost resolvers, adding public ones when none is left', () => {
    assert.equal(
      containerResolvConf(local, 'none'),
      'search corp.example\noptions ndots:2\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844',
    );
    assert.equal(containerResolvConf(mixed, 'none'), 'nameserver 10.0.0.2 # office\n');
  });

  test('host networking without any nameserver gets the public ones too', () => {
    assert.match(containerResolvConf('search x\n', 'host'), /\nnameserver 8\.8\.8\.8\n/);
    assert.match(containerResolvConf('', 'none'), /^\nnameserver 8\.8\.8\.8/);
  });

  test('nameservers() reads IPv4 and IPv6 entries, ignoring comments', () => {
    assert.deepEqual(
      nameservers('nameserver 1.1.1.1\n# nameserver 9.9.9.9\nnameserver fe80::1%eth0\nnameserver bogus\n'),
      ['1.1.1.1', 'fe80::1%eth0'],
    );
  });
});

describe('hosts', () => {
  test('hostsFile: localhost with the hostname, IPv6 loopback, then --add-host entries', () => {
    assert.equal(
      hostsFile('box', [
        { host: 'db', ip: '10.0.0.5' },
        { host: 'v6', ip: 'fd00::1' },
      ]),
      '127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb\nfd00::1\tv6\n',
    );
    assert.equal(hostnameFile('box'), 'box\n');
  });
  test('rejects malformed entries and hostnames', () => {
    assert.throws(() => hostsFile('box', [{ host: 'db', ip: '10.0.0.300' }]), InvalidArgumentError);
    assert.throws(() => hostsFile('box', [{ host: 'a b', ip: '10.0.0.3' }]), /invalid host name "a b"/);
    assert.throws(() => validateHostname('-bad'), /invalid hostname "-bad"/);
    assert.throws(() => validateHostname('a..b'), InvalidArgumentError);
    validateHostname('build-1.example');
  });
});

describe('resolveInRoot', () => {
  const root = tempDir();
  mkdirSync(join(root, 'etc/real'), { recursive: true });
  symlinkSync('/etc/real', join(root, 'abs'));
  symlinkSync('../../../../..', join(root, 'etc/up'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));

  test('follows symlinks inside the root and clamps .. at it', () => {
    assert.equal(resolveInRoot(root, '/abs/file'), join(root, 'etc/real/file'));
    assert.equal(resolveInRoot(root, '/etc/up/etc/passwd'), join(root, 'etc/passwd'));
    assert.equal(resolveInRoot(root, '../../x/../y'), join(root, 'y'));
    assert.equal(resolveInRoot(root, '/'), root);
    assert.equal(resolveInRoot(root, '/missing/../../a/b'), join(root, 'a/b'));
    // what follows a missing component's `..` is resolved again
    assert.equal(resolveInRoot(root, '/missing/../abs/file'), join(root, 'etc/real/file'));
    // `..` after a symlink climbs from where the symlink points
    assert.equal(resolveInRoot(root, '/abs/../real/x'), join(root, 'etc/real/x'));
  });
  test('symlink loops are an error', () => {
    assert.throws(() => resolveInRoot(root, '/loop1/x'), /too many levels of symbolic links/);
  });
});

describe('mount stubs', () => {
  test('removes what was missing and is still empty, deepest first, and restores the parent’s times', () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\n');
    utimesSync(join(root, 'etc'), 946684800, 946684800);
    const before = statSync(join(root, 'etc'), { bigint: true }).mtimeNs;
    const stubs = findMountStubs(root, [
      '/etc/hosts',
      '/etc/passwd',
      '/run/secrets/token',
      '/proc',
      '/cache',
    ]);
    assert.deepEqual(stubs.paths, [
      join(root, 'run/secrets/token'),
      join(root, 'etc/hosts'),
      join(root, 'run/secrets'),
      join(root, 'run'),
      join(root, 'proc'),
      join(root, 'cache'),
    ]);
    // what the runtime does: empty files and directories as mount points
    writeFileSync(join(root, 'etc/hosts'), '');
    mkdirSync(join(root, 'run/secrets'), { recursive: true });
    writeFileSync(join(root, 'run/secrets/token'), '');
    mkdirSync(join(root, 'proc'));
    // what the process did: write into a stub directory
    mkdirSync(join(root, 'cache'));
    writeFileSync(join(root, 'cache/kept'), 'x');
    removeMountStubs(stubs);
    for (const gone of ['etc/hosts', 'run', 'proc']) assert.ok(!existsSync(join(root, gone)), gone);
    assert.ok(existsSync(join(root, 'cache/kept')));
    assert.ok(existsSync(join(root, 'etc/passwd')));
    assert.equal(statSync(join(root, 'etc'), { bigint: true }).mtimeNs, before);
  });

  test('leaves a directory alone when no stub was made in it (no overlay copy-up)', () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc'));
    const stubs = findMountStubs(root, ['/etc/hosts']);
    utimesSync(join(root, 'etc'), 1000, 2000);
    removeMountStubs(stubs);
    assert.equal(statSync(join(root, 'etc')).mtimeMs, 2_000_000);
  });

  test('keeps a stub path the process filled', () => {
    const root = tempDir();
    const stubs = findMountStubs(root, ['/data/file']);
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/file'), 'content');
    removeMountStubs(stubs);
    assert.ok(existsSync(join(root, 'data/file')));
  });
});

describe('runtime helpers', () => {
  test('command line of a run', () => {
    const rt = ociRuntime({ name: 'crun' });
    assert.deepEqual(rt, { name: 'crun', binary: 'crun', root: '/run/crun' });
    assert.deepEqual(runArgs(rt, 'id1', '/b', '/b/log', '/b/pid'), [
      '--root',
      '/run/crun',
      '--log',
      '/b/log',
      '--log-format',
      'json',
      'run',
      '--bundle',
      '/b',
      '--pid-file',
      '/b/pid',
      'id1',
    ]);
  });
  test('logErrors keeps error and fatal entries (and stray text)', () => {
    const log = [
      '{"level":"warning","msg":"ignored","time":"t"}',
      '{"msg":"cgroups in hybrid mode not supported","level":"error","time":"t"}',
      'panic: oops',
      '',
    ].join('\n');
    assert.deepEqual(logErrors(log), ['cgroups in hybrid mode not supported', 'panic: oops']);
  });
  test('initExecFailure finds runc 1.1’s exec failure at the end of stderr', () => {
    assert.equal(
      initExecFailure('exec /bin/busybox: exec format error\n'),
      'exec /bin/busybox: exec format error',
    );
    assert.equal(initExecFailure('some output\nexec /x: permission denied'), 'exec /x: permission denied');
    assert.equal(initExecFailure('exec /x: exec format error\nlater line\n'), undefined);
  });
  test('isStaleId: ids of polyarch processes that are gone', () => {
    const alive = (pid: number) => pid === 42;
    assert.equal(isStaleId('polyarch-41-3-abcd', alive), true);
    assert.equal(isStaleId('polyarch-42-3-abcd', alive), false);
    assert.equal(isStaleId('buildkit-41', alive), false);
  });
});
