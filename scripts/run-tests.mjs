#!/usr/bin/env node
// Runs the compiled test files with node's test runner and fails when none was found.
//
//   node scripts/run-tests.mjs            every test (unit + integration)
//   node scripts/run-tests.mjs unit       only test/unit
//   node scripts/run-tests.mjs FILTER…    test files whose path contains one of the filters
//
// Node 20's `node --test` does not expand globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : name.endsWith('.test.js') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error(
    `no test files found under ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`,
  );
  process.exit(1);
}
// Integration tests run foreign-platform steps: register QEMU first (as root; idempotent).
if (files.some((f) => f.includes('/integration/')) && process.getuid?.() === 0) {
  const bin = new URL('../bin/polyarch', import.meta.url).pathname;
  console.log('registering QEMU emulators for the integration tests: polyarch emulators install all');
  const r = spawnSync(bin, ['emulators', 'install', 'all'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
