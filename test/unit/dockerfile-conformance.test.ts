/**
 * BuildKit's own frontend test data (../shared/conformance/buildkit): every parser testfile
 * must dump exactly as its `result`, every negative case must be rejected, the line numbers
 * of testfile-line must be BuildKit's (parser_test.go TestParseIncludesLineNumbers), and every
 * row of the lexer tables (shell/wordsTest, the A and U rows of shell/envVarTest) must hold.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { dumpNode, parseDockerfile } from '../../src/dockerfile/parser/index.js';
import { envFromList, ShellLex } from '../../src/dockerfile/shell/index.js';
import { DockerfileError } from '../../src/errors.js';
import { sharedDir } from '../helpers/fixtures.js';

const root = join(sharedDir, 'conformance', 'buildkit');
const parserDir = join(root, 'parser');

test('the conformance data is present', () => {
  assert.ok(existsSync(join(parserDir, 'testfiles')), `missing ${parserDir}/testfiles`);
  assert.ok(readdirSync(join(parserDir, 'testfiles')).length >= 30);
});

describe('parser testfiles: dump equals result', () => {
  for (const name of readdirSync(join(parserDir, 'testfiles')).sort()) {
    test(name, () => {
      const dir = join(parserDir, 'testfiles', name);
      const result = parseDockerfile(readFileSync(join(dir, 'Dockerfile')));
      assert.equal(`${dumpNode(result.ast)}\n`, readFileSync(join(dir, 'result'), 'utf8'));
    });
  }
});

describe('parser testfiles-negative: rejected', () => {
  for (const name of readdirSync(join(parserDir, 'testfiles-negative')).sort()) {
    test(name, () => {
      const src = readFileSync(join(parserDir, 'testfiles-negative', name, 'Dockerfile'));
      assert.throws(
        () => parseDockerfile(src, { file: 'Dockerfile' }),
        (err: unknown) => err instanceof DockerfileError && /^Dockerfile:\d+:\d+: /.test(err.message),
      );
    });
  }
});

test('testfile-line: start and end lines as BuildKit', () => {
  const { ast } = parseDockerfile(readFileSync(join(parserDir, 'testfile-line', 'Dockerfile')));
  assert.equal(ast.startLine, 5);
  assert.equal(ast.endLine, 31);
  assert.deepEqual(
    ast.children.map((c) => [c.startLine, c.endLine]),
    [
      [5, 5],
      [11, 12],
      [17, 31],
    ],
  );
});

describe('shell/wordsTest', () => {
  const lex = new ShellLex();
  const envs: string[] = [];
  const lines = readFileSync(join(root, 'shell', 'wordsTest'), 'utf8').split('\n');
  let rows = 0;
  lines.forEach((line, i) => {
    if (line.startsWith('#') || line === '') return;
    if (line.startsWith('ENV ')) {
      envs.push(line.slice(3).replace(/^ +/, ''));
      return;
    }
    const parts = line.split('|');
    assert.equal(parts.length, 2, `line ${i + 1} must have one |`);
    const input = parts[0]!.trim();
    const expected = parts[1]!.replace(/^ +/, '').split(',');
    const env = envFromList([...envs]);
    rows++;
    test(`line ${i + 1}: ${input}`, () => {
      let got: string[];
      try {
        got = lex.processWords(input, env);
      } catch {
        got = ['error'];
      }
      assert.deepEqual(got, expected);
    });
  });
  test('has rows', () => assert.ok(rows > 20));
});

describe('shell/envVarTest (A and U rows)', () => {
  const lex = new ShellLex();
  const env = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
  const lines = readFileSync(join(root, 'shell', 'envVarTest'), 'utf8').split('\n');
  let rows = 0;
  lines.forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const parts = line.split('|');
    assert.equal(parts.length, 3, `line ${i + 1} must have two |`);
    const [platform, input, expected] = parts.map((p) => p.trim()) as [string, string, string];
    if (platform === 'W') return;
    rows++;
    test(`line ${i + 1}: ${input}`, () => {
      if (expected === 'error') {
        assert.throws(() => lex.processWord(input, env));
      } else {
        assert.equal(lex.processWord(input, env).result, expected);
      }
    });
  });
  test('has rows', () => assert.ok(rows > 200));
});
