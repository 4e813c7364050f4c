import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Platform } from '../../src/oci/types.js';
import {
  compatiblePlatforms,
  formatPlatform,
  parsePlatform,
  parsePlatformList,
  platformMatcher,
  strictPlatformMatcher,
} from '../../src/platforms/index.js';

const amd64Host: Platform = { os: 'linux', architecture: 'amd64' };
const arm64Host: Platform = { os: 'linux', architecture: 'arm64' };

describe('parsePlatform', () => {
  const cases: [string, string, Platform?][] = [
    ['linux/amd64', 'linux/amd64'],
    ['linux/arm64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['aarch64', 'linux/arm64'],
    ['arm64/v8', 'linux/arm64'],
    ['arm64', 'linux/arm64'],
    ['arm', 'linux/arm/v7'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/arm/5', 'linux/arm/v5'],
    ['armhf', 'linux/arm/v7'],
    ['armel', 'linux/arm/v6'],
    ['linux/armhf', 'linux/arm/v7'],
    ['x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['i386', 'linux/386'],
    ['linux/i386', 'linux/386'],
    ['ppc64le', 'linux/ppc64le'],
    ['s390x', 'linux/s390x'],
    ['riscv64', 'linux/riscv64'],
    ['linux/arm64/9', 'linux/arm64/v9'],
    ['LINUX/AMD64', 'linux/amd64'],
    ['linux', 'linux/amd64', amd64Host],
    ['linux', 'linux/arm64', arm64Host],
    ['windows/amd64', 'windows/amd64'],
    ['macos/arm64', 'darwin/arm64'],
    ['darwin', 'darwin/amd64', amd64Host],
    [' linux/amd64 ', 'linux/amd64'],
  ];
  for (const [input, want, host] of cases) {
    test(`${JSON.stringify(input)} → ${want}`, () => {
      assert.equal(formatPlatform(parsePlatform(input, host ?? amd64Host)), want);
    });
  }

  test('arm64/v8 and linux/arm64 give the same value', () => {
    assert.deepEqual(parsePlatform('linux/arm64/v8', amd64Host), { os: 'linux', architecture: 'arm64' });
  });

  test('os version in parentheses', () => {
    assert.deepEqual(parsePlatform('windows(10.0.17763)/amd64', amd64Host), {
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.17763',
    });
  });

  const invalid = ['', 'linux/amd64/v2/x', 'linux/*', 'nonsense', 'linux//amd64', 'linux/arm 64', '/amd64'];
  for (const input of invalid) {
    test(`rejects ${JSON.stringify(input)} quoting it`, () => {
      assert.throws(
        () => parsePlatform(input, amd64Host),
        (err: Error) => err.message.includes(`"${input}"`),
      );
    });
  }
});

describe('parsePlatformList', () => {
  test('comma-separated and repeated values, duplicates dropped, order kept', () => {
    const got = parsePlatformList(['linux/arm,linux/arm64', 'linux/amd64', 'arm'], amd64Host).map(
      formatPlatform,
    );
    assert.deepEqual(got, ['linux/arm/v7', 'linux/arm64', 'linux/amd64']);
  });
});

describe('platform matcher', () => {
  const p = (s: string) => parsePlatform(s, amd64Host);
  test('arm/v7 accepts v7, v6, v5 in that order and not v8', () => {
    const m = platformMatcher(p('linux/arm/v7'));
    assert.equal(m.rank(p('linux/arm/v7')), 0);
    assert.equal(m.rank(p('linux/arm/v6')), 1);
    assert.equal(m.rank(p('linux/arm/v5')), 2);
    assert.equal(m.rank(p('linux/arm/v8')), -1);
    assert.equal(m.match(p('linux/arm64')), false);
    assert.deepEqual(compatiblePlatforms(p('linux/arm/v7')).map(formatPlatform), [
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
  });
  test('arm64 matches an index entry that spells arm64/v8, and falls back to arm', () => {
    const m = platformMatcher(p('linux/arm64'));
    assert.equal(m.rank({ os: 'linux', architecture: 'arm64', variant: 'v8' }), 0);
    assert.ok(m.match(p('linux/arm/v7')));
    assert.ok(m.rank(p('linux/arm/v8')) < m.rank(p('linux/arm/v7')));
  });
  test('amd64/v3 accepts v2, v1 and 386', () => {
    assert.deepEqual(compatiblePlatforms(p('linux/amd64/v3')).map(formatPlatform), [
      'linux/amd64/v3',
      'linux/amd64/v2',
      'linux/amd64',
      'linux/386',
    ]);
  });
  test('best picks the highest-ranked candidate', () => {
    const entries = [p('linux/arm/v5'), p('linux/arm64'), p('linux/arm/v7'), p('linux/amd64')];
    const m = platformMatcher(p('linux/arm/v7'));
    assert.equal(formatPlatform(m.best(entries, (e) => e)!), 'linux/arm/v7');
    assert.equal(
      m.best([p('linux/s390x')], (e) => e),
      undefined,
    );
  });
  test('strict matcher accepts only the platform itself', () => {
    const m = strictPlatformMatcher(p('linux/arm/v7'));
    assert.ok(m.match(p('linux/arm')));
    assert.ok(!m.match(p('linux/arm/v6')));
  });
  test('os must match', () => {
    assert.ok(!platformMatcher(p('linux/amd64')).match(p('windows/amd64')));
  });
});
