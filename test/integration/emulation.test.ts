/**
 * Emulation against the real kernel: binfmt_misc handlers registered from Debian's
 * qemu-user-static, foreign busybox root filesystems run through runc and QEMU, the preflight
 * with a real handler disabled, and `polyarch emulators`. Runs as root; every handler a test
 * changes is put back as it was.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EmulationError } from '../../src/errors.js';
import {
  armProbeElf,
  checkPlatforms,
  defaultBinfmtDir,
  formatRegistration,
  installEmulators,
  parseBinfmtEntry,
  probeExecutable,
  readBinfmt,
} from '../../src/executor/emulation/index.js';
import { Executor } from '../../src/executor/index.js';
import { polyarchBin, repoRoot } from '../helpers/fixtures.js';
import { busyboxRootfs, mountOverlay, type Overlay, scratchDir } from './executor-fixtures.js';

const overlays: Overlay[] = [];
after(() => {
  for (const o of overlays) o.unmount();
});

/** Remembers a handler (or its absence) and puts it back exactly. */
function snapshotHandler(name: string): () => void {
  const path = join(defaultBinfmtDir, name);
  const original = existsSync(path) ? parseBinfmtEntry(name, readFileSync(path, 'utf8')) : undefined;
  return () => {
    if (existsSync(path)) writeFileSync(path, '-1');
    if (!original) return;
    writeFileSync(
      join(defaultBinfmtDir, 'register'),
      formatRegistration({
        name,
        kind: original.kind,
        offset: original.offset,
        magic: original.magic,
        mask: original.mask,
        interpreter: original.interpreter,
        flags: original.flags,
      }),
    );
    if (!original.enabled) writeFileSync(path, '0');
  };
}

function polyarch(args: string[], opts: { uid?: number } = {}) {
  const r = spawnSync(process.execPath, [polyarchBin, ...args], {
    encoding: 'utf8',
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  // the handlers the platform tests need, registered the way `polyarch emulators install` does
  installEmulators(['linux/arm64', 'linux/arm/v7']);
});

describe('emulation (binfmt_misc + QEMU)', () => {
  test('the preflight accepts arm64 and arm/v7 through their handlers', () => {
    const report = checkPlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    assert.deepEqual(
      report.map((r) => [r.platform, r.status, r.handlers.map((h) => h.flags.includes('F'))]),
      [
        ['linux/amd64', 'native', []],
        ['linux/arm64', 'emulated', [true]],
        ['linux/arm/v7', 'emulated', [true]],
      ],
    );
  });

  for (const [platform, machine] of [
    ['linux/arm64', 'aarch64'],
    ['linux/arm/v7', 'armv7l'],
  ] as const) {
    test(`a ${platform} busybox runs uname -m → ${machine} under QEMU through runc`, async () => {
      const ovl = mountOverlay(busyboxRootfs(platform));
      overlays.push(ovl);
      const ex = new Executor({ stateDir: scratchDir('state-') });
      let out = '';
      const r = await ex.run({
        rootfs: ovl.merged,
        args: ['/bin/busybox', 'uname', '-m'],
        platform,
        stdout: (b) => (out += b),
      });
      assert.equal(r.exitCode, 0);
      assert.equal(out, `${machine}\n`);
    });
  }

  test('without a working handler a foreign binary is an EmulationError naming the platform, not an exec format error', async () => {
    const restore = snapshotHandler('qemu-aarch64');
    const ovl = mountOverlay(busyboxRootfs('linux/arm64'));
    overlays.push(ovl);
    try {
      writeFileSync(join(defaultBinfmtDir, 'qemu-aarch64'), '0');
      const ex = new Executor({ stateDir: scratchDir('state-') });
      await assert.rejects(
        ex.run({ rootfs: ovl.merged, args: ['/bin/busybox', 'true'], platform: 'linux/arm64' }),
        (err: unknown) => {
          assert.ok(err instanceof EmulationError);
          assert.match(err.message, /the binary for linux\/arm64 cannot be executed on this host/);
          assert.match(err.message, /polyarch emulators install linux\/arm64/);
          return true;
        },
      );
    } finally {
      restore();
    }
  });

  test('a disabled real handler fails the preflight; `emulators install` replaces it and `emulators` shows it', () => {
    const restore = snapshotHandler('qemu-riscv64');
    try {
      installEmulators(['linux/riscv64']);
      writeFileSync(join(defaultBinfmtDir, 'qemu-riscv64'), '0');
      assert.throws(
        () => checkPlatforms(['linux/arm64', 'linux/riscv64']),
        (err: unknown) => {
          assert.ok(err instanceof EmulationError);
          assert.match(
            err.message,
            /^cannot run linux\/riscv64 binaries on this linux\/amd64 host: the binfmt_misc handler qemu-riscv64 is disabled; register an emulator with `polyarch emulators install linux\/riscv64` \(as root\), or install Debian's handlers with `apt-get install qemu-user-static`$/,
          );
          return true;
        },
      );

      const install = polyarch(['emulators', 'install', 'linux/riscv64']);
      assert.equal(install.code, 0, install.stderr);
      assert.equal(
        install.stdout,
        'linux/riscv64: installed qemu-riscv64 (/usr/libexec/qemu-binfmt/riscv64-binfmt-P, flags PCF) (removed qemu-riscv64)\n',
      );
      const entry = parseBinfmtEntry(
        'qemu-riscv64',
        readFileSync(join(defaultBinfmtDir, 'qemu-riscv64'), 'utf8'),
      );
      assert.equal(entry.enabled, true);
      assert.equal(entry.flags, 'POCF'); // C implies O
      assert.equal(checkPlatforms(['linux/riscv64'])[0]!.status, 'emulated');

      const list = polyarch(['emulators', '--platform', 'linux/riscv64,linux/amd64']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^PLATFORM\s+STATUS\s+HANDLER\s+INTERPRETER\s+FLAGS\n/);
      assert.match(
        list.stdout,
        /\nlinux\/riscv64\s+emulated\s+qemu-riscv64\s+\/usr\/libexec\/qemu-binfmt\/riscv64-binfmt-P\s+POCF\n/,
      );
      assert.match(list.stdout, /\nlinux\/amd64\s+native\n/);

      const json = JSON.parse(
        polyarch(['emulators', '--platform', 'linux/riscv64', '--format', 'json']).stdout,
      );
      assert.deepEqual(json, [
        {
          platform: 'linux/riscv64',
          status: 'emulated',
          qemu: 'riscv64',
          handlers: [
            { name: 'qemu-riscv64', interpreter: '/usr/libexec/qemu-binfmt/riscv64-binfmt-P', flags: 'POCF' },
          ],
        },
      ]);

      const again = polyarch(['emulators', 'install', 'linux/riscv64']);
      assert.match(again.stdout, /^linux\/riscv64: already handled by qemu-riscv64/);

      const uninstall = polyarch(['emulators', 'uninstall', 'linux/riscv64']);
      assert.equal(uninstall.stdout, 'removed qemu-riscv64\n');
      assert.ok(!existsSync(join(defaultBinfmtDir, 'qemu-riscv64')));
      const after = polyarch(['emulators', '--platform', 'linux/riscv64']);
      assert.match(after.stdout, /linux\/riscv64: no binfmt_misc handler for riscv64 binaries is registered/);
      assert.match(after.stdout, /Install emulators with: polyarch emulators install linux\/riscv64\n$/);
    } finally {
      restore();
    }
  });

  test('a handler without F is replaced by install', () => {
    const restore = snapshotHandler('qemu-s390x');
    try {
      if (existsSync(join(defaultBinfmtDir, 'qemu-s390x')))
        writeFileSync(join(defaultBinfmtDir, 'qemu-s390x'), '-1');
      const magic =
        '\\x7fELF\\x02\\x02\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x16';
      const mask =
        '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfc\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff';
      writeFileSync(
        join(defaultBinfmtDir, 'register'),
        `:s390x-noF:M::${magic}:${mask}:/usr/bin/qemu-s390x-static:`,
      );
      try {
        assert.throws(
          () => checkPlatforms(['linux/s390x']),
          /s390x-noF \(\/usr\/bin\/qemu-s390x-static\) lacks the F flag/,
        );
        const r = installEmulators(['linux/s390x']);
        assert.deepEqual(r.results[0]!.removed, ['s390x-noF']);
        assert.equal(r.results[0]!.action, 'installed');
        assert.equal(checkPlatforms(['linux/s390x'])[0]!.handlers[0]!.name, 'qemu-s390x');
      } finally {
        if (existsSync(join(defaultBinfmtDir, 's390x-noF')))
          writeFileSync(join(defaultBinfmtDir, 's390x-noF'), '-1');
      }
    } finally {
      restore();
    }
  });

  test('install and uninstall need root and say so', () => {
    const r = polyarch(['emulators', 'install', 'linux/riscv64'], { uid: 65534 });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'ERROR: installing emulators: changing binfmt_misc handlers needs root (try sudo)\n',
    );
    const u = polyarch(['emulators', 'uninstall', 'all'], { uid: 65534 });
    assert.equal(u.code, 1);
    assert.match(u.stderr, /needs root/);
  });

  test('binfmt_misc is mounted when it is not; a failure to mount is reported', () => {
    const dir = scratchDir('binfmt-');
    const state = readBinfmt(dir, { mount: true });
    try {
      assert.equal(state.mounted, true);
      assert.ok(state.entries.some((e) => e.name === 'qemu-aarch64'));
    } finally {
      spawnSync('umount', [dir]);
    }
    chmodSync(join(dir, '..'), 0o755);
    chmodSync(dir, 0o777);
    const script = `import('${join(repoRoot, 'dist/src/executor/emulation/index.js')}').then((m) => console.log(JSON.stringify(m.readBinfmt('${dir}', { mount: true }))))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const failed = JSON.parse(r.stdout);
    assert.equal(failed.mounted, false);
    assert.match(
      failed.mountError,
      new RegExp(`^mount -t binfmt_misc binfmt_misc ${dir} failed: .*\\(mounting it needs root\\)$`),
    );
  });

  test('the AArch32 probe is a valid arm program (run by QEMU directly and through binfmt_misc)', () => {
    const dir = scratchDir('probe-');
    const probe = join(dir, 'probe');
    writeFileSync(probe, armProbeElf());
    chmodSync(probe, 0o755);
    assert.equal(spawnSync('/usr/bin/qemu-arm-static', [probe]).status, 0);
    assert.ok(readBinfmt().entries.some((e) => e.name === 'qemu-arm' && e.enabled));
    assert.equal(probeExecutable(armProbeElf(), dir), true);
  });
});
