// Tables taken from moby/patternmatcher (patternmatcher_test.go, ignorefile_test.go, whose
// TestMatch cases come from Go's filepath.Match tests) and BuildKit's dockerignore tests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BadPatternError,
  cleanPath,
  emptyMatchInfo,
  exceptionsMayMatchUnder,
  goMatch,
  type MatchInfo,
  PatternMatcher,
  parseDockerignore,
} from '../../src/context/index.js';

type Pass = 'fail' | 'exact' | 'inexact';

// patternmatcher_test.go TestMatches: `exact` = the path itself matches; `inexact` = only a
// parent directory does.
const single: [string, string, Pass][] = [
  ['**', 'file', 'exact'],
  ['**', 'file/', 'exact'],
  ['**/', 'file', 'exact'],
  ['**/', 'file/', 'exact'],
  ['**', '/', 'exact'],
  ['**/', '/', 'exact'],
  ['**', 'dir/file', 'exact'],
  ['**/', 'dir/file', 'exact'],
  ['**', 'dir/file/', 'exact'],
  ['**/', 'dir/file/', 'exact'],
  ['**/**', 'dir/file', 'exact'],
  ['**/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/file', 'exact'],
  ['dir/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/dir2/file', 'exact'],
  ['dir/**', 'dir/dir2/file/', 'exact'],
  ['**/dir', 'dir', 'exact'],
  ['**/dir', 'dir/file', 'inexact'],
  ['**/dir2/*', 'dir/dir2/file', 'exact'],
  ['**/dir2/*', 'dir/dir2/file/', 'inexact'],
  ['**/dir2/**', 'dir/dir2/dir3/file', 'exact'],
  ['**/dir2/**', 'dir/dir2/dir3/file/', 'exact'],
  ['**file', 'file', 'exact'],
  ['**file', 'dir/file', 'exact'],
  ['**/file', 'dir/file', 'exact'],
  ['**file', 'dir/dir/file', 'exact'],
  ['**/file', 'dir/dir/file', 'exact'],
  ['**/file*', 'dir/dir/file', 'exact'],
  ['**/file*', 'dir/dir/file.txt', 'exact'],
  ['**/file*txt', 'dir/dir/file.txt', 'exact'],
  ['**/file*.txt', 'dir/dir/file.txt', 'exact'],
  ['**/file*.txt*', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt2', 'dir/dir/file.txt', 'fail'],
  ['**/*.txt', 'file.txt', 'exact'],
  ['**/**/*.txt', 'file.txt', 'exact'],
  ['a**/*.txt', 'a/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/dir/file.txt', 'exact'],
  ['a/*.txt', 'a/dir/file.txt', 'fail'],
  ['a/*.txt', 'a/file.txt', 'exact'],
  ['a/*.txt**', 'a/file.txt', 'exact'],
  ['a[b-d]e', 'ae', 'fail'],
  ['a[b-d]e', 'ace', 'exact'],
  ['a[b-d]e', 'aae', 'fail'],
  ['a[^b-d]e', 'aze', 'exact'],
  ['.*', '.foo', 'exact'],
  ['.*', 'foo', 'fail'],
  ['abc.def', 'abcdef', 'fail'],
  ['abc.def', 'abc.def', 'exact'],
  ['abc.def', 'abcZdef', 'fail'],
  ['abc?def', 'abcZdef', 'exact'],
  ['abc?def', 'abcdef', 'fail'],
  ['**/foo/bar', 'foo/bar', 'exact'],
  ['**/foo/bar', 'dir/foo/bar', 'exact'],
  ['**/foo/bar', 'dir/dir2/foo/bar', 'exact'],
  ['abc/**', 'abc', 'fail'],
  ['abc/**', 'abc/def', 'exact'],
  ['abc/**', 'abc/def/ghi', 'exact'],
  ['**/.foo', '.foo', 'exact'],
  ['**/.foo', 'bar.foo', 'fail'],
  ['a(b)c/def', 'a(b)c/def', 'exact'],
  ['a(b)c/def', 'a(b)c/xyz', 'fail'],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', 'exact'],
  [
    'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl',
    'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl',
    'exact',
  ],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  ['a\\\\', 'a\\', 'exact'],
  ['a\\*b', 'a*b', 'exact'],
];

const multi: [string[], string, Pass][] = [
  [['**', '!util/docker/web'], 'util/docker/web/foo', 'fail'],
  [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', 'exact'],
  [
    ['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'],
    'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl',
    'fail',
  ],
  [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'fail'],
];

/** Walks the parents of `text` like fsutil does, carrying MatchInfo down. */
function usingParentResults(pm: PatternMatcher, text: string): boolean {
  const slash = text.lastIndexOf('/');
  let info: MatchInfo = emptyMatchInfo;
  if (slash >= 0) {
    const dirs = text.slice(0, slash).split('/');
    for (let i = 0; i < dirs.length; i++)
      info = pm.matchesUsingParentResults(dirs.slice(0, i + 1).join('/'), info).info;
  }
  return pm.matchesUsingParentResults(text, info).matched;
}

describe('PatternMatcher (moby/patternmatcher TestMatches)', () => {
  for (const [pattern, text, pass] of single) {
    test(`${pattern} vs ${text} → ${pass}`, () => {
      const pm = new PatternMatcher([pattern]);
      assert.equal(pm.matchesExact(text), pass === 'exact', 'MatchesExact');
      assert.equal(pm.matchesOrParentMatches(text), pass !== 'fail', 'MatchesOrParentMatches');
      assert.equal(usingParentResults(pm, text), pass !== 'fail', 'MatchesUsingParentResults');
      assert.equal(pm.matchesUsingParentResults(text, emptyMatchInfo).matched, pass !== 'fail', 'no context');
    });
  }
  for (const [patterns, text, pass] of multi) {
    test(`${JSON.stringify(patterns)} vs ${text} → ${pass}`, () => {
      const pm = new PatternMatcher(patterns);
      assert.equal(pm.matchesOrParentMatches(text), pass !== 'fail');
      assert.equal(usingParentResults(pm, text), pass !== 'fail');
    });
  }
});

describe('PatternMatcher exceptions and construction', () => {
  const cases: [string[], string, boolean][] = [
    [['*'], 'fileutils.go', true],
    [['*.go'], 'fileutils.go', true],
    [['!fileutils.go', '*.go'], 'fileutils.go', true],
    [['docs', '!docs/README.md'], 'docs/README.md', false],
    [['docs/', '!docs/README.md'], 'docs/README.md', false],
    [['docs/*', '!docs/README.md'], 'docs/README.md', false],
    [['*.go', '!fileutils.go'], 'fileutils.go', false],
    [[], '/any/path/there', false],
    [['docs', '!docs/README.md'], 'docs/other.md', true],
    [['./build/', '!build/keep'], 'build/keep/x', false],
  ];
  for (const [patterns, file, want] of cases) {
    test(`${JSON.stringify(patterns)} ${file} → ${want}`, () => {
      assert.equal(new PatternMatcher(patterns).matchesOrParentMatches(file), want);
    });
  }
  test('a single "!" is an error; empty patterns are dropped; whitespace is trimmed', () => {
    assert.throws(() => new PatternMatcher(['!']), /illegal exclusion pattern: "!"/);
    assert.equal(new PatternMatcher(['docs', 'config', '']).patterns.length, 2);
    assert.ok(new PatternMatcher(['docs', '  !docs/README.md']).exclusions);
    assert.ok(new PatternMatcher(['docs', '!docs/README.md  ']).exclusions);
    assert.ok(!new PatternMatcher(['docs']).exclusions);
  });
  test('malformed patterns are rejected at construction or first match', () => {
    assert.throws(() => new PatternMatcher(['[']), BadPatternError);
    // passes filepath.Match's check but is not a valid regexp (moby/moby#52203)
    const pm = new PatternMatcher(['[Local-Only]/']);
    assert.throws(() => pm.matchesOrParentMatches('x'), BadPatternError);
    assert.throws(() => pm.matchesOrParentMatches('x'), BadPatternError);
  });
  test('exceptionsMayMatchUnder follows fsutil: literal exceptions only under their prefix', () => {
    const pm = new PatternMatcher(['docs', 'build', '!docs/README.md']);
    assert.equal(exceptionsMayMatchUnder(pm, 'docs'), true);
    assert.equal(exceptionsMayMatchUnder(pm, 'build'), false);
    assert.equal(exceptionsMayMatchUnder(new PatternMatcher(['a', '!**/keep']), 'a'), true);
    assert.equal(exceptionsMayMatchUnder(new PatternMatcher(['a', '!b/**']), 'a'), false);
    assert.equal(exceptionsMayMatchUnder(new PatternMatcher(['a']), 'a'), false);
  });
});

// Go's filepath.Match tests, as patternmatcher's TestMatch also runs them through its matcher.
// [pattern, name, match, bad pattern]; the matcher also matches a parent directory, which
// only changes `a*` vs `ab/c` (filepath.Match: false, the matcher: true via `ab`).
const goCases: [string, string, boolean, boolean][] = [
  ['abc', 'abc', true, false],
  ['*', 'abc', true, false],
  ['*c', 'abc', true, false],
  ['a*', 'a', true, false],
  ['a*', 'abc', true, false],
  ['a*', 'ab/c', true, false],
  ['a*/b', 'abc/b', true, false],
  ['a*/b', 'a/c/b', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false, false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true, false],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false, false],
  ['ab[c]', 'abc', true, false],
  ['ab[b-d]', 'abc', true, false],
  ['ab[e-g]', 'abc', false, false],
  ['ab[^c]', 'abc', false, false],
  ['ab[^b-d]', 'abc', false, false],
  ['ab[^e-g]', 'abc', true, false],
  ['a\\*b', 'a*b', true, false],
  ['a\\*b', 'ab', false, false],
  ['a?b', 'a☺b', true, false],
  ['a[^a]b', 'a☺b', true, false],
  ['a???b', 'a☺b', false, false],
  ['a[^a][^a][^a]b', 'a☺b', false, false],
  ['[a-ζ]*', 'α', true, false],
  ['*[a-ζ]', 'A', false, false],
  ['a?b', 'a/b', false, false],
  ['a*b', 'a/b', false, false],
  ['[\\]a]', ']', true, false],
  ['[\\-]', '-', true, false],
  ['[x\\-]', 'x', true, false],
  ['[x\\-]', '-', true, false],
  ['[x\\-]', 'z', false, false],
  ['[\\-x]', 'x', true, false],
  ['[\\-x]', '-', true, false],
  ['[\\-x]', 'a', false, false],
  ['[]a]', ']', false, true],
  ['[-]', '-', false, true],
  ['[x-]', 'x', false, true],
  ['[x-]', '-', false, true],
  ['[x-]', 'z', false, true],
  ['[-x]', 'x', false, true],
  ['[-x]', '-', false, true],
  ['[-x]', 'a', false, true],
  ['\\', 'a', false, true],
  ['[a-b-c]', 'a', false, true],
  ['[', 'a', false, true],
  ['[^', 'a', false, true],
  ['[^bc', 'a', false, true],
  ['a[', 'a', false, true],
  ['a[', 'ab', false, true],
  ['*x', 'xxx', true, false],
];

describe("goMatch (Go's filepath.Match) and the matcher built on it", () => {
  for (const [pattern, name, want, isErr] of goCases) {
    test(`${pattern} vs ${name}`, () => {
      if (isErr) {
        assert.throws(() => goMatch(pattern, name), BadPatternError);
        assert.throws(
          () => new PatternMatcher([pattern]).matchesOrParentMatches(cleanPath(name)),
          BadPatternError,
        );
        return;
      }
      const viaParent = pattern === 'a*' && name === 'ab/c';
      assert.equal(goMatch(pattern, name), want && !viaParent);
      // the regexp translation agrees with filepath.Match
      assert.equal(new PatternMatcher([pattern]).matchesOrParentMatches(cleanPath(name)), want);
    });
  }
});

describe('cleanPath (Go path.Clean)', () => {
  const cases: [string, string][] = [
    ['', '.'],
    ['abc', 'abc'],
    ['abc/def/', 'abc/def'],
    ['a//b', 'a/b'],
    ['./a', 'a'],
    ['/../a', '/a'],
    ['a/../../b', '../b'],
    ['/a/./b/../c/', '/a/c'],
    ['/', '/'],
    ['..', '..'],
  ];
  for (const [input, want] of cases)
    test(`${JSON.stringify(input)} → ${want}`, () => assert.equal(cleanPath(input), want));
});

describe('parseDockerignore (ignorefile.ReadAll)', () => {
  test('patternmatcher and BuildKit ReadAll table', () => {
    const content =
      'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    assert.deepEqual(parseDockerignore(content), [
      'test1',
      'test2',
      'a/file/here',
      'lastfile',
      '!inverted/abs/path',
      '!',
      '!',
    ]);
  });
  test('BOM, CRLF, ./ prefixes, trailing slashes, indented comments are patterns', () => {
    assert.deepEqual(
      parseDockerignore('\uFEFF./build/\r\n  # not a comment\r\nnode_modules//\r\n**/*.log\n'),
      ['build', '# not a comment', 'node_modules', '**/*.log'],
    );
  });
  test('nothing at all', () => {
    assert.deepEqual(parseDockerignore(''), []);
    assert.deepEqual(parseDockerignore('\n\n# only\n'), []);
  });
  test('BuildKit testDockerignore: ba*, Dockerfile, !bay, .dockerignore', () => {
    const pm = new PatternMatcher(parseDockerignore('\nba*\nDockerfile\n!bay\n.dockerignore\n'));
    const got = ['foo', 'bar', 'baz', 'bay', 'Dockerfile', '.dockerignore'].filter(
      (f) => !pm.matchesOrParentMatches(f),
    );
    assert.deepEqual(got, ['foo', 'bay']);
  });
});
