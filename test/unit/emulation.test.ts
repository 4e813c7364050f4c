import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EmulationError } from '../../src/errors.js';
import {
  assessPlatform,
  type BinfmtState,
  checkPlatforms,
  elfHeader,
  formatRegistration,
  type HostInfo,
  matchesHeader,
  nativePlatforms,
  parseBinfmtEntry,
  parseRegistration,
  platformElfHeader,
  qemuArchOf,
  qemuRegistration,
  readBinfmt,
  readRegistrationData,
} from '../../src/executor/emulation/index.js';
import { parsePlatform } from '../../src/platforms/index.js';
import { tempDir } from '../helpers/fixtures.js';

// Debian 12 qemu-user-static's /usr/lib/binfmt.d lines (golden data)
const debianConf: Record<string, string> = {
  aarch64:
    ':qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF',
  arm: ':qemu-arm:M::\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x28\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/arm-binfmt-P:OPF',
  riscv64:
    ':qemu-riscv64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xf3\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/riscv64-binfmt-P:OPF',
  s390x:
    ':qemu-s390x:M::\\x7f\\x45\\x4c\\x46\\x02\\x02\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x16:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfc\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff:/usr/libexec/qemu-binfmt/s390x-binfmt-P:OPF',
  ppc64le:
    ':qemu-ppc64le:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x15\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfc\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\x00:/usr/libexec/qemu-binfmt/ppc64le-binfmt-P:OPF',
  mips64el:
    ':qemu-mips64el:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x08\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xfe\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/mips64el-binfmt-P:OPF',
  mipsel:
    ':qemu-mipsel:M::\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xfe\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x20:/usr/libexec/qemu-binfmt/mipsel-binfmt-P:OPF',
  mipsn32el:
    ':qemu-mipsn32el:M::\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x20:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xfe\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x20:/usr/libexec/qemu-binfmt/mipsn32el-binfmt-P:OPF',
  loongarch64:
    ':qemu-loongarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x02\\x01:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfc\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/loongarch64-binfmt-P:OPF',
};

/** A handler as /proc shows it, from a registration line. */
function procEntry(line: string, enabled = true, flags?: string): string {
  const r = parseRegistration(line);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return [
    enabled ? 'enabled' : 'disabled',
    `interpreter ${r.interpreter}`,
    `flags: ${flags ?? r.flags}`,
    `offset ${r.offset}`,
    `magic ${hex(r.magic)}`,
    ...(r.mask ? [`mask ${hex(r.mask)}`] : []),
    '',
  ].join('\n');
}

const amd64Host: HostInfo = {
  platform: { os: 'linux', architecture: 'amd64' },
  cpuFlags:
    'fpu cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3 avx avx2 bmi1 bmi2 f16c fma abm movbe xsave'.split(' '),
  compat32: true,
};

describe('QEMU mapping', () => {
  test('platform → QEMU target', () => {
    const cases: [string, string | undefined][] = [
      ['linux/arm64', 'aarch64'],
      ['linux/arm64/v8', 'aarch64'],
      ['linux/arm/v5', 'arm'],
      ['linux/arm/v6', 'arm'],
      ['linux/arm/v7', 'arm'],
      ['linux/386', 'i386'],
      ['linux/amd64', 'x86_64'],
      ['linux/ppc64le', 'ppc64le'],
      ['linux/s390x', 's390x'],
      ['linux/riscv64', 'riscv64'],
      ['linux/mips64le', 'mips64el'],
      ['linux/mipsle', 'mipsel'],
      ['linux/loong64', 'loongarch64'],
      ['windows/amd64', undefined],
      ['linux/wasm', undefined],
    ];
    for (const [p, q] of cases) assert.equal(qemuArchOf(parsePlatform(p)), q, p);
  });

  test("each target's ELF header is accepted by Debian's handler for it, and only by it", () => {
    const entries = Object.entries(debianConf).map(([name, line]) => parseBinfmtEntry(name, procEntry(line)));
    const expect: [string, string][] = [
      ['linux/arm64', 'aarch64'],
      ['linux/arm/v7', 'arm'],
      ['linux/riscv64', 'riscv64'],
      ['linux/s390x', 's390x'],
      ['linux/ppc64le', 'ppc64le'],
      ['linux/mips64le', 'mips64el'],
      ['linux/mipsle', 'mipsel'],
      ['linux/loong64', 'loongarch64'],
    ];
    for (const [platform, handler] of expect) {
      const header = platformElfHeader(parsePlatform(platform))!;
      assert.deepEqual(
        entries.filter((e) => matchesHeader(e, header)).map((e) => e.name),
        [handler],
        platform,
      );
    }
    // amd64 and 386 binaries match none of them
    for (const p of ['linux/amd64', 'linux/386']) {
      const header = platformElfHeader(parsePlatform(p))!;
      assert.deepEqual(
        entries.filter((e) => matchesHeader(e, header)),
        [],
        p,
      );
    }
  });

  test('elfHeader writes class, data, machine and flags in the right byte order', () => {
    const be = elfHeader({ elfClass: 2, data: 2, machine: 22 });
    assert.deepEqual([...be.slice(0, 8)], [0x7f, 0x45, 0x4c, 0x46, 2, 2, 1, 0]);
    assert.deepEqual([...be.slice(16, 20)], [0, 2, 0, 22]);
    const le32 = elfHeader({ elfClass: 1, data: 1, machine: 40, flags: 0x05000000 });
    assert.deepEqual([...le32.slice(18, 20)], [40, 0]);
    assert.deepEqual([...le32.slice(36, 40)], [0, 0, 0, 5]);
  });
});

describe('binfmt_misc format', () => {
  test('parses a handler file', () => {
    const e = parseBinfmtEntry(
      'qemu-aarch64',
      'enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\nmagic 7f454c46\nmask ffffff00\n',
    );
    assert.deepEqual(e, {
      name: 'qemu-aarch64',
      enabled: true,
      interpreter: '/usr/bin/qemu-aarch64-static',
      flags: 'OCF',
      kind: 'magic',
      offset: 0,
      magic: new Uint8Array([0x7f, 0x45, 0x4c, 0x46]),
      mask: new Uint8Array([0xff, 0xff, 0xff, 0]),
    });
    const ext = parseBinfmtEntry('jar', 'disabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n');
    assert.equal(ext.kind, 'extension');
    assert.equal(ext.extension, 'jar');
    assert.equal(ext.enabled, false);
    assert.equal(matchesHeader(ext, new Uint8Array(64)), false);
  });

  test('registration lines: mixed literal and \\x escapes in, all escaped out', () => {
    const r = parseRegistration(debianConf.loongarch64!);
    assert.equal(r.name, 'qemu-loongarch64');
    assert.deepEqual([...r.magic.slice(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    assert.equal(r.magic.length, 20);
    assert.equal(r.flags, 'OPF');
    const line = formatRegistration({
      ...r,
      name: 'qemu-loongarch64',
      interpreter: '/usr/bin/qemu-loongarch64-static',
      flags: 'CF',
    });
    assert.ok(line.startsWith(':qemu-loongarch64:M:0:\\x7f\\x45\\x4c\\x46\\x02'));
    assert.ok(line.endsWith(':/usr/bin/qemu-loongarch64-static:CF'));
    assert.deepEqual(parseRegistration(line).magic, r.magic);
    assert.deepEqual(parseRegistration(line).mask, r.mask);
    assert.throws(() => parseRegistration(':x:Q::ab::/i:'), /type must be M or E/);
    assert.throws(() => parseRegistration(':x:M::ab:\\xff:/i:'), /mask and magic differ in length/);
  });
});

describe('nativePlatforms', () => {
  test('amd64: the micro-architecture levels the CPU has, and 386 when the kernel runs it', () => {
    const fmt = (h: HostInfo) =>
      nativePlatforms(h).map((p) => [p.architecture, p.variant].filter(Boolean).join('/'));
    assert.deepEqual(fmt(amd64Host), ['amd64/v3', 'amd64/v2', 'amd64', '386']);
    assert.deepEqual(fmt({ ...amd64Host, cpuFlags: [], compat32: false }), ['amd64']);
  });
  test('arm64: arm/v7…v5 only with AArch32 support', () => {
    const arm64 = { platform: { os: 'linux', architecture: 'arm64' }, cpuFlags: [], compat32: false };
    assert.deepEqual(nativePlatforms(arm64), [{ os: 'linux', architecture: 'arm64' }]);
    assert.equal(nativePlatforms({ ...arm64, compat32: true }).length, 4);
    assert.deepEqual(
      nativePlatforms({
        platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
        cpuFlags: [],
        compat32: false,
      }).map((p) => p.variant),
      ['v6', 'v5'],
    );
  });
});

describe('assessPlatform', () => {
  const exists = (p: string) => p.startsWith('/usr/bin/');
  const entry = (line: string, enabled = true, flags?: string) =>
    parseBinfmtEntry(parseRegistration(line).name, procEntry(line, enabled, flags));
  const fixed = (line: string) =>
    line.replace(/\/usr\/libexec\/qemu-binfmt\/(\w+)-binfmt-P:OPF$/, '/usr/bin/qemu-$1-static:OCF');
  const state = (...entries: ReturnType<typeof entry>[]): BinfmtState => ({
    dir: '/b',
    mounted: true,
    enabled: true,
    entries,
  });
  const native = nativePlatforms(amd64Host);
  const arm64 = parsePlatform('linux/arm64');

  test('native, emulated, and each way of being unavailable', () => {
    const good = entry(fixed(debianConf.aarch64!));
    assert.equal(assessPlatform(parsePlatform('linux/386'), state(), native, exists).status, 'native');
    const em = assessPlatform(arm64, state(good), native, exists);
    assert.equal(em.status, 'emulated');
    assert.equal(em.qemu, 'aarch64');
    assert.deepEqual(em.handlers, [good]);

    const reason = (s: BinfmtState, p = arm64) => assessPlatform(p, s, native, exists).reason;
    assert.equal(reason(state()), 'no binfmt_misc handler for aarch64 binaries is registered');
    assert.equal(
      reason(state(entry(fixed(debianConf.aarch64!), false))),
      'the binfmt_misc handler qemu-aarch64 is disabled',
    );
    assert.equal(
      reason(state(entry(fixed(debianConf.aarch64!), true, 'OC'))),
      'the binfmt_misc handler qemu-aarch64 (/usr/bin/qemu-aarch64-static) lacks the F flag, so its interpreter cannot be found inside containers',
    );
    assert.equal(
      reason(state(entry(debianConf.aarch64!, true, 'OPF'))),
      'the binfmt_misc handler qemu-aarch64 points to /usr/libexec/qemu-binfmt/aarch64-binfmt-P, which does not exist',
    );
    assert.equal(reason({ ...state(good), enabled: false }), 'binfmt_misc is disabled (/b/status)');
    assert.equal(
      reason({ ...state(), mounted: false, mountError: 'EPERM' }),
      'binfmt_misc is not mounted at /b (EPERM)',
    );
    assert.equal(
      reason(state(), parsePlatform('linux/amd64/v4')),
      'this CPU lacks the x86-64-v4 features and no x86_64 emulator is registered',
    );
    assert.equal(reason(state(), parsePlatform('windows/amd64')), 'windows/amd64 is not a Linux platform');
  });

  test('a broken handler that matches a native platform is still what the kernel uses', () => {
    const i386 =
      ':qemu-i386:M::\\x7fELF\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00:\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-i386-static:OC';
    const r = assessPlatform(parsePlatform('linux/386'), state(entry(i386)), native, exists);
    assert.equal(r.status, 'unavailable');
    assert.match(r.reason!, /qemu-i386 .* lacks the F flag/);
  });
});

describe('checkPlatforms with a binfmt_misc directory given', () => {
  function fakeBinfmt(files: Record<string, string>): string {
    const dir = tempDir();
    writeFileSync(join(dir, 'status'), 'enabled\n');
    writeFileSync(join(dir, 'register'), '');
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  }
  const interpreterExists = () => true;

  test('passes when every platform is native or handled, reporting how', () => {
    const dir = fakeBinfmt({ 'qemu-aarch64': procEntry(debianConf.aarch64!, true, 'OCF') });
    const report = checkPlatforms(['linux/amd64', 'linux/arm64'], {
      binfmtDir: dir,
      host: amd64Host,
      interpreterExists,
    });
    assert.deepEqual(
      report.map((r) => [r.platform, r.status, r.handlers.map((h) => h.name)]),
      [
        ['linux/amd64', 'native', []],
        ['linux/arm64', 'emulated', ['qemu-aarch64']],
      ],
    );
  });

  test('fails with one EmulationError naming the platform, the reason and the fix', () => {
    const dir = fakeBinfmt({ 'qemu-aarch64': procEntry(debianConf.aarch64!, true, 'OC') });
    assert.throws(
      () =>
        checkPlatforms(['linux/amd64', 'linux/arm64'], {
          binfmtDir: dir,
          host: amd64Host,
          interpreterExists,
        }),
      (err: unknown) => {
        assert.ok(err instanceof EmulationError);
        assert.equal(err.code, 'EMULATION');
        assert.equal(
          err.message,
          'cannot run linux/arm64 binaries on this linux/amd64 host: the binfmt_misc handler qemu-aarch64 ' +
            '(/usr/libexec/qemu-binfmt/aarch64-binfmt-P) lacks the F flag, so its interpreter cannot be found inside containers; ' +
            "register an emulator with `polyarch emulators install linux/arm64` (as root), or install Debian's handlers with `apt-get install qemu-user-static`",
        );
        return true;
      },
    );
  });

  test('several failing platforms are listed one per line', () => {
    const dir = fakeBinfmt({});
    assert.throws(
      () =>
        checkPlatforms(['linux/arm64', 'linux/s390x', 'linux/arm/v7'], { binfmtDir: dir, host: amd64Host }),
      {
        message:
          'cannot run linux/arm64, linux/s390x, linux/arm/v7 binaries on this linux/amd64 host:\n' +
          '  linux/arm64: no binfmt_misc handler for aarch64 binaries is registered\n' +
          '  linux/s390x: no binfmt_misc handler for s390x binaries is registered\n' +
          '  linux/arm/v7: no binfmt_misc handler for arm binaries is registered\n' +
          'Register emulators with `polyarch emulators install linux/arm64 linux/s390x linux/arm/v7` (as root), ' +
          "or install Debian's handlers with `apt-get install qemu-user-static`",
      },
    );
  });

  test('a directory without binfmt_misc is reported, not mounted over', () => {
    const dir = tempDir();
    const state = readBinfmt(dir);
    assert.deepEqual(state, { dir, mounted: false, enabled: false, entries: [] });
    assert.throws(
      () => checkPlatforms(['linux/arm64'], { binfmtDir: dir, host: amd64Host }),
      /binfmt_misc is not mounted at /,
    );
  });
});

describe('registration data', () => {
  test('from binfmt.d (.conf) or binfmt-support, with our name, interpreter and flags', () => {
    const d1 = tempDir();
    writeFileSync(join(d1, 'qemu-aarch64.conf'), `# comment\n${debianConf.aarch64}\n`);
    const d2 = tempDir();
    writeFileSync(
      join(d2, 'qemu-riscv64'),
      'package qemu-user-static\ninterpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P\nmagic \\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xf3\\x00\noffset 0\nmask \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff\ncredentials no\nfix_binary yes\npreserve yes\n',
    );
    const dataDirs = [d1, d2];
    assert.equal(readRegistrationData('s390x', dataDirs), undefined);
    const exists = (p: string) => p === '/usr/bin/qemu-aarch64-static' || p.endsWith('-binfmt-P');
    // Debian's -binfmt-P wrapper is installed: P with the wrapper is the default
    const d = qemuRegistration('aarch64', { dataDirs, interpreterExists: exists });
    assert.equal(d.interpreter, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P');
    assert.equal(d.flags, 'PCF');
    const a = qemuRegistration('aarch64', { dataDirs, interpreterExists: exists, preserveArgv0: false });
    assert.equal(a.name, 'qemu-aarch64');
    assert.equal(a.interpreter, '/usr/bin/qemu-aarch64-static');
    assert.equal(a.flags, 'CF');
    // no wrapper: the static binary without P
    const n = qemuRegistration('aarch64', {
      dataDirs,
      interpreterExists: (x) => x === '/usr/bin/qemu-aarch64-static',
    });
    assert.equal(n.flags, 'CF');
    assert.deepEqual(a.magic, parseRegistration(debianConf.aarch64!).magic);
    const p = qemuRegistration('aarch64', { dataDirs, interpreterExists: exists, preserveArgv0: true });
    assert.equal(p.interpreter, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P');
    assert.equal(p.flags, 'PCF');
    const r = qemuRegistration('riscv64', { dataDirs, interpreterExists: exists });
    assert.equal(r.interpreter, '/usr/libexec/qemu-binfmt/riscv64-binfmt-P');
    assert.deepEqual(r.mask, parseRegistration(debianConf.riscv64!).mask);
    assert.throws(
      () => qemuRegistration('s390x', { dataDirs }),
      /no binfmt data for qemu-s390x .*apt-get install qemu-user-static/,
    );
    assert.throws(
      () => qemuRegistration('aarch64', { dataDirs, interpreterExists: () => false }),
      /no QEMU binary for aarch64/,
    );
  });
});
