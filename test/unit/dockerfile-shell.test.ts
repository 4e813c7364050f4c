// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Dockerfile text with ${VAR} expansions
/**
 * The shell lexer beyond the conformance tables: matched/unmatched reporting (BuildKit's
 * TestProcessWithMatches), the `${X?}` family, patterns, the backtick escape, raw modes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  goQuote,
  reversePattern,
  ShellError,
  ShellLex,
  shellPatternToRegExp,
} from '../../src/dockerfile/shell/index.js';

const lex = new ShellLex();
const env = (o: Record<string, string>) => new Map(Object.entries(o));

describe('processWord with matches', () => {
  const cases: [string, Record<string, string>, string | 'error', string[], string[]][] = [
    ['x', { DUMMY: 'dummy' }, 'x', [], []],
    ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', [], ['UNUSED']],
    ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO'], []],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO?aaa}', { FOO: 'xxx' }, 'xxx', ['FOO'], []],
    ['${BAR?bbb}', { BAR: '' }, '', ['BAR'], []],
    ['${BAZ?ccc}', {}, 'error', [], []],
    ['${BAR:?bbb}', { BAR: '' }, 'error', [], []],
    ['${BAZ:?}', {}, 'error', [], []],
    ['${FOO=aaa}', { FOO: 'xxx' }, 'error', [], []],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x', ['FOO'], []],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx', ['FOO'], []],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y', ['FOO'], []],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy', ['FOO', 'BAR'], []],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy', ['FOO'], []],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y', ['FOO'], []],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.', ['FOO'], ['ABC']],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a', ['FOO'], []],
    ['${FOO%y}', { FOO: 'xxyy' }, 'xxy', ['FOO'], []],
    ['${FOO%%y*}', { FOO: 'xyxy' }, 'x', ['FOO'], []],
    [
      '${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}',
      { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' },
      '/foo.*/*.txt - /foo..*.txt',
      ['FOO', 'NEEDLE'],
      [],
    ],
    [
      '${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}',
      { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' },
      '/tmp/bar.txt - /bar.txt',
      ['FOO', 'NEEDLE'],
      [],
    ],
    [
      '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}',
      { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' },
      '/foo/b/c.txt - /foo/c.txt',
      ['FOO', 'NEEDLE', 'REPLACEMENT'],
      [],
    ],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt', ['FOO'], []],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy', ['FOO', 'BAR'], []],
    ['${FOO//ww}', { FOO: 'xxyy' }, 'error', [], []],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO///}', {}, '', [], ['FOO']],
    [
      'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz',
      { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' },
      'something-v1.2.3.linux-arm-v7.tar.gz',
      ['VERSION', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT'],
      [],
    ],
  ];
  for (const [input, vars, expected, matched, unmatched] of cases) {
    test(input, () => {
      if (expected === 'error') {
        assert.throws(() => lex.processWord(input, env(vars)), ShellError);
        return;
      }
      const r = lex.processWord(input, env(vars));
      assert.equal(r.result, expected);
      assert.deepEqual([...r.matched].sort(), [...matched].sort());
      assert.deepEqual([...r.unmatched].sort(), [...unmatched].sort());
    });
  }
});

test('mandatory variables carry their message', () => {
  assert.equal(lex.processWord('${VAR:?message here$ARG}', env({ VAR: 'plain', ARG: 'x' })).result, 'plain');
  assert.throws(
    () => lex.processWord('${VAR:?message here$ARG}', env({ VAR: '', ARG: 'x' })),
    /message herex/,
  );
  assert.throws(() => lex.processWord('${VAR?message here$ARG}', env({ ARG: 'x' })), /message herex/);
  assert.equal(lex.processWord('${VAR?message here$ARG}', env({ VAR: '', ARG: 'x' })).result, '');
  assert.throws(() => lex.processWord('${VAR:?}', env({ VAR: '' })), /VAR: is not allowed to be empty/);
  assert.throws(() => lex.processWord('${VAR?}', env({})), /VAR: is not allowed to be unset/);
});

test('errors name the word as BuildKit does', () => {
  assert.throws(
    () => lex.processWord('a"b', env({})),
    (e: unknown) =>
      e instanceof ShellError &&
      e.message ===
        'failed to process "a\\"b": unexpected end of statement while looking for matching double-quote',
  );
  const fails = (word: string, message: string) =>
    assert.throws(() => lex.processWord(word, env({})), {
      message: `failed to process "${word}": ${message}`,
    });
  fails('${X', 'unsupported modifier (\uFFFD) in substitution');
  fails('${X:-a', "syntax error: missing '}'");
  fails('${X#a', "syntax error: missing '}'");
  fails('${X/a', "syntax error: missing '/' in ${}");
  fails('${X/a/b', "syntax error: missing '}'");
});

test('backtick escape token', () => {
  const bt = new ShellLex({ escapeToken: '`' });
  assert.deepEqual(bt.processWords('a` b c\\d', env({})), ['a b', 'c\\d']);
  assert.equal(bt.processWord('"x`"y"', env({})).result, 'x"y');
});

test('raw quotes and skip-unset keep the text for display', () => {
  const raw = new ShellLex({ rawQuotes: true, skipUnsetEnv: true });
  assert.equal(raw.processWord('echo "$A" ${B} $C', env({ A: '1' })).result, 'echo "1" ${B} $C');
  assert.equal(raw.processWord('${B:-x}', env({})).result, '${B:-x}');
});

test('patterns', () => {
  assert.equal(shellPatternToRegExp('*', true, true).source, '^[^\\n]*');
  assert.equal(shellPatternToRegExp('\\*', true, true).source, '^\\*');
  for (const p of ['\\', '\\x', '\\\\\\']) assert.throws(() => shellPatternToRegExp(p, true, true));
  assert.equal(reversePattern('a\\*c'), 'c\\*a');
  assert.equal(reversePattern('\\\\\\ab'), 'b\\a\\\\');
  assert.equal(reversePattern('ab\\'), '\\ba');
});

test('goQuote matches strconv.Quote', () => {
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('\x00\x07\b\f\n\r\t\v\x7f'), '"\\x00\\a\\b\\f\\n\\r\\t\\v\\x7f"');
  assert.equal(goQuote('☃ 안녕 \u00a0\u0085'), '"☃ 안녕 \\u00a0\\u0085"');
});
