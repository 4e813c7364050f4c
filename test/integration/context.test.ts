// The build context on real directories: which ignore file applies, the filtered walk, cache
// key checksums (contenthash semantics) and the persistent stat cache, timed on 10k files.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  checksumSources,
  dirSource,
  loadContext,
  parseContextArg,
  resolveInRoot,
  type SourceEntry,
  type SourceFS,
} from '../../src/context/index.js';
import { NotFoundError, UnsupportedError } from '../../src/errors.js';
import { tempDir } from '../helpers/fixtures.js';

const scratch = tempDir('polyarch-context-');
let serial = 0;
function fresh(prefix: string): string {
  const d = join(scratch, `${prefix}${++serial}`);
  mkdirSync(d);
  return d;
}

function writeTree(root: string, spec: Record<string, string | { link: string }>) {
  for (const [p, v] of Object.entries(spec)) {
    const full = join(root, p);
    if (p.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(join(full, '..'), { recursive: true });
    if (typeof v === 'string') writeFileSync(full, v);
    else symlinkSync(v.link, full);
  }
}

/** Every path of a context's view with its entry, walked as COPY walks it. */
async function viewEntries(ctx: { source: SourceFS }): Promise<Map<string, SourceEntry>> {
  const out = new Map<string, SourceEntry>();
  const visit = async (path: string) => {
    const e = await ctx.source.lstat(path);
    if (e === undefined) throw new Error(`${path} listed but not found`);
    out.set(path, e);
    if (e.type === 'dir')
      for (const name of await ctx.source.readdir(path))
        await visit(path === '/' ? `/${name}` : `${path}/${name}`);
  };
  await visit('/');
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('which ignore file applies (BuildKit dockerui)', () => {
  test('.dockerignore at the context root (BuildKit testDockerignore)', async () => {
    const dir = fresh('ctx-');
    writeTree(dir, {
      Dockerfile: 'FROM scratch\nCOPY . .\n',
      foo: 'foo-contents',
      bar: 'bar-contents',
      baz: 'baz-contents',
      bay: 'bay-contents',
      '.dockerignore': '\nba*\nDockerfile\n!bay\n.dockerignore\n',
    });
    const ctx = await loadContext({ dir });
    assert.equal(ctx.ignoreFile, join(dir, '.dockerignore'));
    assert.deepEqual([...(await viewEntries(ctx)).keys()].sort(), ['/', '/bay', '/foo']);
  });
  test('<Dockerfile>.dockerignore next to the Dockerfile wins (BuildKit testDockerignoreOverride)', async () => {
    const dir = fresh('ctx-');
    writeTree(dir, {
      Dockerfile: '',
      'Dockerfile.dockerignore': 'bar\n',
      Dockerfile2: '',
      'Dockerfile2.dockerignore': 'foo\n',
      '.dockerignore': 'foo\nbar\n',
      foo: '',
      bar: '',
    });
    const one = await loadContext({ dir, dockerfile: join(dir, 'Dockerfile') });
    assert.ok((await one.source.lstat('/foo')) && !(await one.source.lstat('/bar')));
    const two = await loadContext({ dir, dockerfile: join(dir, 'Dockerfile2') });
    assert.ok(!(await two.source.lstat('/foo')) && (await two.source.lstat('/bar')));
    const plain = await loadContext({ dir, dockerfile: join(dir, 'Other.Dockerfile') });
    assert.equal(plain.ignoreFile, join(dir, '.dockerignore'));
    const explicit = await loadContext({ dir, ignoreFile: join(dir, 'Dockerfile2.dockerignore') });
    assert.equal(await explicit.source.lstat('/foo'), undefined);
    await assert.rejects(loadContext({ dir, ignoreFile: join(dir, 'none') }), NotFoundError);
  });
  test('an invalid ignore file is an error naming it (BuildKit testDockerignoreInvalid)', async () => {
    const dir = fresh('ctx-');
    writeTree(dir, { '.dockerignore': '!\n' });
    await assert.rejects(
      loadContext({ dir }),
      /failed parsing .*\.dockerignore: illegal exclusion pattern: "!"/,
    );
  });
  test('a missing context directory, and context arguments', async () => {
    await assert.rejects(loadContext({ dir: join(scratch, 'nope') }), NotFoundError);
    assert.deepEqual(parseContextArg('.'), { kind: 'dir', dir: '.' });
    assert.deepEqual(parseContextArg('-'), { kind: 'stdin' });
    assert.deepEqual(parseContextArg('https://github.com/x/y.git#main'), {
      kind: 'url',
      url: 'https://github.com/x/y.git#main',
    });
    assert.deepEqual(parseContextArg('git@github.com:x/y.git'), {
      kind: 'url',
      url: 'git@github.com:x/y.git',
    });
    const { loadContextInput } = await import('../../src/context/index.js');
    await assert.rejects(loadContextInput({ kind: 'stdin' }, {}), UnsupportedError);
  });
});

describe('the walk', () => {
  test('lstat only, ignored directories dropped whole, re-included paths bring their parents', async () => {
    const dir = fresh('ctx-');
    writeTree(dir, {
      '.dockerignore': 'node_modules\nbuild\n!build/keep/**\n**/*.tmp\n*.top\n',
      'node_modules/a/index.js': '',
      'build/out.o': '',
      'build/keep/x': 'x',
      'src/main.go': '',
      'src/scratch.tmp': '',
      'src/nested.top': '',
      'a.top': '',
      'outside-link': { link: '/etc' },
      loop: { link: 'loop' },
    });
    chmodSync(join(dir, 'build'), 0o711);
    chownSync(join(dir, 'src/main.go'), 501, 20);
    const ctx = await loadContext({ dir });
    const entries = await viewEntries(ctx);
    assert.deepEqual(
      [...entries.keys()].sort(),
      [
        '/',
        '/.dockerignore',
        '/build',
        '/build/keep',
        '/build/keep/x',
        '/loop',
        '/outside-link',
        '/src',
        '/src/main.go',
        '/src/nested.top',
      ],
      '`*.top` only matches at the top, `**/*.tmp` everywhere',
    );
    assert.equal(entries.get('/outside-link')!.type, 'symlink');
    assert.equal(entries.get('/outside-link')!.linkTarget, '/etc');
    assert.equal(entries.get('/build')!.mode & 0o7777, 0o711, 'a re-included parent keeps its real metadata');
    assert.equal(entries.get('/src/main.go')!.uid, 0, 'the view COPY reads is owned by 0:0');
    assert.deepEqual(await ctx.source.readdir('/build'), ['keep']);
    assert.equal([...entries.values()].filter((e) => e.type === 'file').length, 4);
    // asked directly, without a walk first: the same answers
    const direct = await loadContext({ dir });
    assert.equal(await direct.source.lstat('/build/out.o'), undefined);
    assert.equal(await direct.source.lstat('/node_modules/a/index.js'), undefined);
    assert.equal((await direct.source.lstat('/build/keep/x'))?.type, 'file');
    assert.equal((await direct.source.lstat('/build'))?.type, 'dir');
    assert.equal(await direct.source.lstat('/src/scratch.tmp'), undefined);
  });
  test('symlinks resolve inside the source root', async () => {
    const dir = fresh('ctx-');
    writeTree(dir, { 'a/b/up': { link: '../../../../x' }, abs: { link: '/a/b' }, x: '' });
    const fs = dirSource(dir);
    assert.equal(await resolveInRoot(fs, '/a/b/up', true), '/x');
    assert.equal(await resolveInRoot(fs, '/a/b/up', false), '/a/b/up');
    assert.equal(await resolveInRoot(fs, '/abs/up', true), '/x');
    assert.equal(await resolveInRoot(fs, '/abs/missing/deeper', true), '/a/b/missing/deeper');
    // a link whose target passes through a missing directory and comes back out of it
    writeTree(dir, { detour: { link: 'missing/../abs/up' } });
    assert.equal(await resolveInRoot(fs, '/detour', true), '/x');
    writeTree(dir, { l1: { link: 'l2' }, l2: { link: 'l1' } });
    await assert.rejects(resolveInRoot(fs, '/l1', true), /too many links/);
  });
});

describe('checksums for cache keys (contenthash semantics)', () => {
  const dir = fresh('ctx-');
  writeTree(dir, {
    '.dockerignore': 'ignored.txt\n',
    'app/main.js': 'console.log(1)',
    'app/lib/util.js': 'export {}',
    'app/README.md': 'docs',
    'app/link': { link: 'main.js' },
    'ignored.txt': 'v1',
    'pkg.json': '{}',
  });
  const sum = async (sources: string[], opts = {}) =>
    checksumSources((await loadContext({ dir })).source, sources, opts);

  test('content, mode, tree shape and link targets count; times, ignored and excluded files do not', async () => {
    const base = await sum(['app']);
    assert.equal(await sum(['app']), base, 'stable');
    assert.equal(await sum(['app/']), base, 'a trailing slash names the same source');

    utimesSync(join(dir, 'app/main.js'), new Date(1000), new Date(1000));
    assert.equal(await sum(['app']), base, 'mtime is not part of the key');
    writeFileSync(join(dir, 'ignored.txt'), 'v2');
    assert.equal(await sum(['app']), base);
    assert.notEqual(await sum(['.']), await sum(['app']));
    const all = await sum(['.']);
    writeFileSync(join(dir, 'ignored.txt'), 'v3');
    assert.equal(await sum(['.']), all, 'an ignored file is not in the context');

    writeFileSync(join(dir, 'app/README.md'), 'docs v2');
    const withExclude = await sum(['app'], { exclude: ['*.md'] });
    writeFileSync(join(dir, 'app/README.md'), 'docs v3');
    assert.equal(await sum(['app'], { exclude: ['*.md'] }), withExclude, 'an excluded file does not count');
    assert.notEqual(await sum(['app']), base, 'but it does without --exclude');
    writeFileSync(join(dir, 'app/README.md'), 'docs');
    assert.equal(await sum(['app']), base);

    writeFileSync(join(dir, 'app/main.js'), 'console.log(2)');
    assert.notEqual(await sum(['app']), base, 'content');
    writeFileSync(join(dir, 'app/main.js'), 'console.log(1)');
    assert.equal(await sum(['app']), base);
    chmodSync(join(dir, 'app/main.js'), 0o755);
    assert.notEqual(await sum(['app']), base, 'mode');
    chmodSync(join(dir, 'app/main.js'), 0o644);
    writeFileSync(join(dir, 'app/lib/new.js'), '');
    assert.notEqual(await sum(['app']), base, 'a new file in the tree');
  });
  test('named sources, wildcards, --parents and missing paths', async () => {
    assert.notEqual(await sum(['pkg.json']), await sum(['app/main.js']));
    assert.equal(await sum(['*.json']), await sum(['*.json']));
    assert.equal(await sum(['*.json']), await sum(['pkg.json']), 'the same selection, the same key');
    assert.notEqual(await sum(['*.json', 'app']), await sum(['*.json']));
    assert.notEqual(await sum(['app/main.js'], { parents: true }), await sum(['app/main.js']));
    assert.equal(await sum(['app/link']), await sum(['app/link']));
    await assert.rejects(sum(['missing.txt']), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.message, '"/missing.txt": not found');
      return true;
    });
    await assert.rejects(sum(['ignored.txt']), /"\/ignored.txt": not found/);
  });
  test('a named symlink counts by its target content; a symlink inside a tree by its target string', async () => {
    const linkBefore = await sum(['app/link']);
    const treeBefore = await sum(['app']);
    writeFileSync(join(dir, 'app/main.js'), 'changed');
    assert.notEqual(await sum(['app/link']), linkBefore);
    writeFileSync(join(dir, 'app/main.js'), 'console.log(1)');
    assert.equal(await sum(['app/link']), linkBefore);
    symlinkSync('lib/util.js', join(dir, 'app/link2'));
    assert.notEqual(await sum(['app']), treeBefore);
  });
});

describe('persistent stat cache: a rebuild only rehashes what changed (10k files)', () => {
  test('cold vs warm', async (t) => {
    const dir = fresh('big-');
    const cacheDir = fresh('statcache-');
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(dir, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(dir, `d${d}`, `f${f}.bin`), randomBytes(1024));
    }
    await sleep(100); // files written within the racy window would (rightly) not be persisted

    const run = async () => {
      const t0 = performance.now();
      const ctx = await loadContext({ dir, statCacheDir: cacheDir });
      const t1 = performance.now();
      const digest = await checksumSources(ctx.source, ['.']);
      const t2 = performance.now();
      await ctx.flush();
      return { digest, walkMs: t1 - t0, hashMs: t2 - t1, total: performance.now() - t0, ...ctx.hashStats() };
    };
    const cold = await run();
    assert.equal(cold.hashed, 10000);
    assert.equal(readdirSync(cacheDir).length, 1);
    const warm = await run();
    assert.equal(warm.hashed, 0, 'nothing rehashed');
    assert.equal(warm.cached, 10000);
    assert.equal(warm.digest, cold.digest);

    writeFileSync(join(dir, 'd7/f7.bin'), randomBytes(1024)); // same size, new content
    utimesSync(join(dir, 'd8/f8.bin'), new Date(5000), new Date(5000)); // touched only
    const changed = await run();
    assert.equal(changed.hashed, 2, 'only the two files whose stat changed');
    assert.notEqual(changed.digest, cold.digest);

    const report = (name: string, r: typeof cold) =>
      `${name}: walk ${r.walkMs.toFixed(0)} ms, checksum ${r.hashMs.toFixed(0)} ms, total ${r.total.toFixed(0)} ms (${r.hashed} hashed, ${r.cached} from cache)`;
    t.diagnostic(report('cold', cold));
    t.diagnostic(report('warm', warm));
    t.diagnostic(report('2 changed', changed));
    console.log(`# 10k-file context — ${report('cold', cold)}; ${report('warm', warm)}`);
  });
  test('a file changed within the racy window is not trusted on the next run', async () => {
    const dir = fresh('racy-');
    const cacheDir = fresh('statcache-');
    writeFileSync(join(dir, 'f'), 'a');
    const ctx = await loadContext({ dir, statCacheDir: cacheDir });
    await checksumSources(ctx.source, ['f']);
    await ctx.flush();
    assert.deepEqual(readdirSync(cacheDir), [], 'just-written file: nothing persisted');
    await sleep(100);
    const ctx2 = await loadContext({ dir, statCacheDir: cacheDir });
    await checksumSources(ctx2.source, ['f']);
    await ctx2.flush();
    const ctx3 = await loadContext({ dir, statCacheDir: cacheDir });
    await checksumSources(ctx3.source, ['f']);
    assert.equal(ctx3.hashStats().hashed, 0);
  });
});
