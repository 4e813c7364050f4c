import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  familiarName,
  familiarString,
  formatReference,
  parseImageReference,
  parseReference,
} from '../../src/reference/index.js';

const sha = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference normalises as docker does', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.35', 'docker.io/library/busybox:1.35', 'busybox:1.35'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/busybox:1.35', 'localhost:5000/busybox:1.35', 'localhost:5000/busybox:1.35'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    [`localhost:5000/a/b:tag@${sha}`, `localhost:5000/a/b:tag@${sha}`, `localhost:5000/a/b:tag@${sha}`],
    [`busybox@${sha}`, `docker.io/library/busybox@${sha}`, `busybox@${sha}`],
    [
      'example.com/x_y/a.b-c__d:v1.0-rc_1',
      'example.com/x_y/a.b-c__d:v1.0-rc_1',
      'example.com/x_y/a.b-c__d:v1.0-rc_1',
    ],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
    ['[::1]:5000/x', '[::1]:5000/x:latest', '[::1]:5000/x:latest'],
    ['Example.com/x', 'Example.com/x:latest', 'Example.com/x:latest'],
  ];
  for (const [input, full, familiar] of cases) {
    test(`${input} → ${full}`, () => {
      const ref = parseImageReference(input);
      assert.equal(formatReference(ref), full);
      assert.equal(familiarString(ref), familiar);
    });
  }
  test('no default tag from parseReference', () => {
    const ref = parseReference('busybox');
    assert.equal(ref.tag, undefined);
    assert.equal(familiarName(ref), 'busybox');
    assert.equal(ref.path, 'library/busybox');
    assert.equal(ref.domain, 'docker.io');
  });
});

describe('invalid references are errors that quote the input', () => {
  const cases: [string, RegExp][] = [
    ['', /empty reference/],
    ['Busybox', /must be lowercase/],
    ['localhost:5000/Busy/box', /must be lowercase/],
    ['busybox:', /invalid tag/],
    ['busybox:-x', /invalid tag/],
    [`busybox:${'a'.repeat(129)}`, /invalid tag/],
    ['busybox@sha256:abc', /invalid digest/],
    ['a'.repeat(64), /64-byte hexadecimal/],
    ['-busybox', /invalid repository path/],
    ['busy--/box', /invalid repository path/],
    ['localhost:5000/', /empty path component/],
    ['a//b', /empty path component/],
    ['exa_mple.com:5000/x', /invalid registry host/],
    [`x/${'a'.repeat(260)}`, /more than 255/],
  ];
  for (const [input, why] of cases) {
    test(JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input), () => {
      assert.throws(
        () => parseReference(input),
        (err: Error) => why.test(err.message) && err.message.includes(`"${input}"`),
      );
    });
  }
});
