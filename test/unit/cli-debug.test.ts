/**
 * `polyarch debug parse FILE` through the real CLI: BuildKit's dump for every conformance
 * testfile, and one clean error (file, line, column; exit 1; no stack) for rejected input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { polyarchBin, sharedDir, tempDir } from '../helpers/fixtures.js';

const parserDir = join(sharedDir, 'conformance', 'buildkit', 'parser');

function polyarch(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [polyarchBin, ...args], { encoding: 'utf8', input: input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('debug parse prints each result exactly', () => {
  for (const name of readdirSync(join(parserDir, 'testfiles')).sort()) {
    test(name, () => {
      const dir = join(parserDir, 'testfiles', name);
      const r = polyarch(['debug', 'parse', join(dir, 'Dockerfile')]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(join(dir, 'result'), 'utf8'));
    });
  }
});

describe('debug parse rejects the negative testfiles', () => {
  for (const name of readdirSync(join(parserDir, 'testfiles-negative')).sort()) {
    test(name, () => {
      const file = join(parserDir, 'testfiles-negative', name, 'Dockerfile');
      const r = polyarch(['debug', 'parse', file]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(`^ERROR: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: .+\\n$`),
      );
    });
  }
});

test('debug parse reads stdin and warns about empty continuation lines', () => {
  const r = polyarch(['debug', 'parse', '-'], 'FROM busybox\nRUN a \\\n\n  b\n');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '(from "busybox")\n(run "a   b")\n');
  assert.equal(
    r.stderr,
    '[WARNING]: Empty continuation line found in: RUN a   b\n[WARNING]: Empty continuation lines will become errors in a future release.\n',
  );
});

test('debug parse: unterminated heredoc and missing file', () => {
  const dir = tempDir();
  const file = join(dir, 'Dockerfile');
  writeFileSync(file, 'FROM busybox\nRUN <<EOF\necho hi\n');
  const r = polyarch(['debug', 'parse', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `ERROR: ${file}:2:5: unterminated heredoc\n`);
  const missing = polyarch(['debug', 'parse', join(dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^ERROR: reading .*nope: no such file or directory\n$/);
});

test('debug is listed as a management command', () => {
  const r = polyarch(['--help']);
  assert.match(r.stdout, /Management Commands:\n(?:.*\n)*?\s+debug\s+Inspect how polyarch reads its inputs/);
});
