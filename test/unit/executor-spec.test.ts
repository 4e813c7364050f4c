import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capabilitiesOfMask, defaultCapabilities } from '../../src/executor/capabilities.js';
import {
  dedupMounts,
  defaultMaskedPaths,
  defaultPathEnv,
  defaultReadonlyPaths,
  generateSpec,
  type SpecInput,
  specMount,
} from '../../src/executor/spec.js';

const input: SpecInput = {
  rootfs: '/var/lib/polyarch/snapshots/1/merged',
  args: ['/bin/sh', '-c', 'make'],
  env: ['FOO=bar'],
  cwd: '/src',
  user: { uid: 1000, gid: 1000, additionalGids: [1000, 20], home: '/home/u' },
  hostname: 'buildkitsandbox',
  network: 'host',
  security: 'sandbox',
  mounts: [],
  files: { resolvConf: '/state/id/resolv.conf', hosts: '/state/id/hosts', hostname: '/state/id/hostname' },
  readonlyRootfs: false,
  ulimits: [],
  allCapabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
  cgroupsPath: '/polyarch/id',
};

describe('generateSpec', () => {
  test('a sandboxed step: BuildKit’s defaults', () => {
    const s = generateSpec(input);
    assert.equal(s.ociVersion, '1.0.2');
    assert.deepEqual(s.process.args, input.args);
    assert.deepEqual(s.process.env, [defaultPathEnv, 'FOO=bar']);
    assert.equal(s.process.cwd, '/src');
    assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 20] });
    assert.equal(s.process.terminal, false);
    assert.equal(s.process.noNewPrivileges, false);
    assert.equal(s.process.rlimits, undefined, 'BuildKit resets rlimits');
    assert.deepEqual(s.process.capabilities, {
      bounding: [...defaultCapabilities],
      effective: [...defaultCapabilities],
      permitted: [...defaultCapabilities],
    });
    assert.deepEqual(s.root, { path: input.rootfs, readonly: false });
    assert.equal(s.hostname, 'buildkitsandbox');
    assert.deepEqual(
      s.linux.namespaces.map((n) => n.type),
      ['pid', 'ipc', 'uts', 'mount'],
      'host network: no network namespace',
    );
    assert.deepEqual(s.linux.maskedPaths, defaultMaskedPaths);
    assert.deepEqual(s.linux.readonlyPaths, defaultReadonlyPaths);
    assert.deepEqual(s.linux.resources.devices, [{ allow: false, access: 'rwm' }]);
    assert.equal(s.linux.cgroupsPath, '/polyarch/id');
    assert.equal(s.linux.devices, undefined);
    assert.deepEqual(
      s.mounts.map((m) => [m.destination, m.type, m.source]),
      [
        ['/proc', 'proc', 'proc'],
        ['/dev', 'tmpfs', 'tmpfs'],
        ['/dev/pts', 'devpts', 'devpts'],
        ['/dev/shm', 'tmpfs', 'shm'],
        ['/dev/mqueue', 'mqueue', 'mqueue'],
        ['/sys', 'sysfs', 'sysfs'],
        ['/sys/fs/cgroup', 'cgroup', 'cgroup'],
        ['/etc/resolv.conf', 'bind', '/state/id/resolv.conf'],
        ['/etc/hosts', 'bind', '/state/id/hosts'],
        ['/etc/hostname', 'bind', '/state/id/hostname'],
      ],
    );
    assert.deepEqual(s.mounts[5]!.options, ['nosuid', 'noexec', 'nodev', 'ro']);
    assert.deepEqual(s.mounts[7]!.options, ['nosuid', 'noexec', 'nodev', 'rbind', 'ro']);
  });

  test('network none adds a network namespace (runc brings up loopback)', () => {
    const s = generateSpec({ ...input, network: 'none' });
    assert.deepEqual(
      s.linux.namespaces.map((n) => n.type),
      ['pid', 'ipc', 'uts', 'mount', 'network'],
    );
  });

  test('an insecure step: all capabilities, nothing masked, writable /sys, all devices', () => {
    const s = generateSpec({
      ...input,
      security: 'insecure',
      extraDevices: [{ path: '/dev/loop0', type: 'b', major: 7, minor: 0 }],
    });
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
      assert.deepEqual(s.process.capabilities[set], ['CAP_CHOWN', 'CAP_SYS_ADMIN'], set);
    }
    assert.deepEqual(s.linux.maskedPaths, []);
    assert.deepEqual(s.linux.readonlyPaths, []);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/sys')!.options, [
      'nosuid',
      'noexec',
      'nodev',
      'rw',
    ]);
    assert.deepEqual(s.linux.resources.devices, [
      { allow: true, type: 'c', access: 'rwm' },
      { allow: true, type: 'b', access: 'rwm' },
    ]);
    assert.ok(s.linux.devices!.some((d) => d.path === '/dev/fuse'));
    assert.equal(s.linux.devices!.at(-1)!.path, '/dev/loop0');
  });

  test('ulimits become rlimits; PATH given is kept', () => {
    const s = generateSpec({
      ...input,
      env: ['PATH=/opt/bin'],
      ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
      readonlyRootfs: true,
    });
    assert.deepEqual(s.process.env, ['PATH=/opt/bin']);
    assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }]);
    assert.equal(s.root.readonly, true);
  });

  test('requested mounts follow the defaults; one on the same destination replaces it in place', () => {
    const s = generateSpec({
      ...input,
      mounts: [
        { type: 'bind', source: '/cache/go', target: '/root/.cache/go-build' },
        { type: 'bind', source: '/my/hosts', target: '/etc/hosts', readonly: true },
      ],
    });
    assert.equal(s.mounts.length, 11);
    assert.deepEqual(s.mounts[8], {
      destination: '/etc/hosts',
      type: 'bind',
      source: '/my/hosts',
      options: ['rbind', 'ro'],
    });
    assert.deepEqual(s.mounts[10]!.options, ['rbind', 'rw']);
  });
});

describe('specMount', () => {
  test('bind, tmpfs and raw mounts', () => {
    assert.deepEqual(
      specMount({ type: 'bind', source: '/s', target: '/t', readonly: true, options: ['nosuid'] }),
      {
        destination: '/t',
        type: 'bind',
        source: '/s',
        options: ['rbind', 'ro', 'nosuid'],
      },
    );
    assert.deepEqual(specMount({ type: 'tmpfs', target: '/tmp', size: 1048576, mode: 0o1777 }), {
      destination: '/tmp',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'size=1048576', 'mode=1777'],
    });
    assert.deepEqual(
      specMount({
        type: 'raw',
        fsType: 'overlay',
        source: 'overlay',
        target: '/x',
        options: ['lowerdir=/a'],
      }),
      {
        destination: '/x',
        type: 'overlay',
        source: 'overlay',
        options: ['lowerdir=/a'],
      },
    );
  });

  test('dedupMounts keeps the first position and the last definition', () => {
    const m = (d: string, s: string) => ({ destination: d, type: 'bind', source: s });
    assert.deepEqual(dedupMounts([m('/a', '1'), m('/b', '2'), m('/a', '3')]), [m('/a', '3'), m('/b', '2')]);
  });
});

describe('capabilities', () => {
  test('masks as /proc/self/status shows them', () => {
    assert.deepEqual(capabilitiesOfMask('00000000a80425fb').sort(), [...defaultCapabilities].sort());
    assert.deepEqual(capabilitiesOfMask('0000000000000001'), ['CAP_CHOWN']);
    assert.equal(capabilitiesOfMask('000001ffffffffff').length, 41);
    assert.ok(!capabilitiesOfMask('000001fffeffffff').includes('CAP_SYS_RESOURCE'));
  });
});
