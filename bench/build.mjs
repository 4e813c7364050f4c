#!/usr/bin/env node
// bench/build.mjs — polyarch against buildah (and BuildKit's published numbers) on the
// reference builds, in one run:
//
//   seed-hello     builder stage runs on each target platform (emulated for arm, arm64)
//   seed-hello-xx  builder stage on the build platform, cross-compiling (runs once)
//
// For each: a cold build (empty store and cache), a rebuild with nothing changed (including
// the client process start), and a rebuild after editing main.go; three platforms
// (linux/arm, linux/arm64, linux/amd64); medians of --runs (default 3). Prints seconds, the
// ratio polyarch/buildah and polyarch/BuildKit, and polyarch's peak RSS.
//
//   node bench/build.mjs [--runs N] [--only seed-hello-xx] [--skip-buildah]
//
// Needs root, ../shared/fixtures (registry + base images are started/pushed here), and
// installs buildah and time with apt-get when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.POLYARCH_SHARED ?? resolve(repo, '../shared');
const fixtures = join(shared, 'fixtures');
const polyarch = join(repo, 'bin', 'polyarch');
const platforms = 'linux/arm,linux/arm64,linux/amd64';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('--runs', '3'));
const only = opt('--only', undefined);
const skipBuildah = args.includes('--skip-buildah');

// BuildKit v0.24 (buildkitd + buildctl) on this 2-core machine, medians of 3 (issue 4)
const buildkit = {
  'seed-hello-xx': { cold: 28.4, noop: 0.18, edit: 16.4 },
  'seed-hello': { cold: 133, noop: 0.26, edit: 116 },
};

function sh(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], ...opts }).toString();
}

function ensure() {
  const missing = ['buildah'].filter(
    (p) =>
      spawnSync('dpkg-query', ['-W', '-f=' + '${' + 'Status}', p])
        .stdout?.toString()
        .includes('ok installed') !== true,
  );
  if (missing.length && !skipBuildah) {
    console.error(`installing ${missing.join(' ')}`);
    sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  sh(join(fixtures, 'registry.sh'), ['start']);
  sh(join(fixtures, 'base-images.sh'), []);
  sh(polyarch, ['emulators', 'install', 'linux/arm64', 'linux/arm']);
}

/**
 * Runs a command; returns wall seconds and, for polyarch, its own peak RSS in kB (what it
 * reports through POLYARCH_PEAK_RSS_FILE: runc and the compilers it starts are not counted).
 */
function timed(cmd, argv, env = {}) {
  const rssFile = join(tmpdir(), `bench-rss-${process.pid}`);
  rmSync(rssFile, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, {
    env: { ...process.env, ...env, POLYARCH_PEAK_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const err = r.stderr.toString();
  if (r.status !== 0) {
    console.error(err.split('\n').slice(-40).join('\n'));
    throw new Error(`${cmd} ${argv.join(' ')} failed with ${r.status}`);
  }
  const rss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : 0;
  return { secs, rssKB: rss };
}

function edit(dir) {
  const f = join(dir, 'main.go');
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n// edited ${Date.now()}\n`);
}

function benchPolyarch(seed) {
  const out = { cold: [], noop: [], edit: [], rss: 0 };
  for (let i = 0; i < runs; i++) {
    const work = mkdtempSync(join(tmpdir(), 'bench-polyarch-'));
    const ctx = join(work, 'ctx');
    cpSync(join(fixtures, seed), ctx, { recursive: true });
    const env = { POLYARCH_ROOT: join(work, 'root') };
    const build = ['build', '--progress', 'quiet', '--platform', platforms, '-t', `bench/${seed}`, ctx];
    for (const phase of ['cold', 'noop', 'edit']) {
      if (phase === 'edit') edit(ctx);
      const r = timed(polyarch, build, env);
      out[phase].push(r.secs);
      out.rss = Math.max(out.rss, r.rssKB);
      console.error(
        `  polyarch ${seed} ${phase} #${i + 1}: ${r.secs.toFixed(2)}s, ${(r.rssKB / 1024).toFixed(0)} MB`,
      );
    }
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

function benchBuildah(seed) {
  const out = { cold: [], noop: [], edit: [] };
  for (let i = 0; i < runs; i++) {
    const work = mkdtempSync(join(tmpdir(), 'bench-buildah-'));
    const ctx = join(work, 'ctx');
    cpSync(join(fixtures, seed), ctx, { recursive: true });
    const store = ['--root', join(work, 'storage'), '--runroot', join(work, 'run')];
    const build = [
      ...store,
      'build',
      '--runtime',
      'runc',
      '--tls-verify=false',
      '--platform',
      platforms,
      '--manifest',
      `bench-${seed}-${i}`,
      '--layers',
      ctx,
    ];
    for (const phase of ['cold', 'noop', 'edit']) {
      if (phase === 'edit') edit(ctx);
      const r = timed('buildah', build);
      out[phase].push(r.secs);
      console.error(`  buildah ${seed} ${phase} #${i + 1}: ${r.secs.toFixed(2)}s`);
    }
    spawnSync('buildah', [...store, 'rm', '--all'], { stdio: 'ignore' });
    spawnSync('umount', ['-R', join(work, 'storage')], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

ensure();
const seeds = only ? [only] : ['seed-hello-xx', 'seed-hello'];
const rows = [];
for (const seed of seeds) {
  console.error(`${seed}:`);
  const p = benchPolyarch(seed);
  const b = skipBuildah ? undefined : benchBuildah(seed);
  for (const phase of ['cold', 'noop', 'edit']) {
    const pm = median(p[phase]);
    const bm = b ? median(b[phase]) : Number.NaN;
    const km = buildkit[seed][phase];
    rows.push({ seed, phase, polyarch: pm, buildah: bm, buildkit: km, rssMB: p.rss / 1024 });
  }
}
const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(2));
console.log(`runs per figure: ${runs} (medians); platforms: ${platforms}`);
console.log(
  [
    'build',
    'phase',
    'polyarch s',
    'buildah s',
    'BuildKit s',
    'polyarch/buildah',
    'polyarch/BuildKit',
    'peak RSS MB',
  ]
    .map((h, i) => (i < 2 ? h.padEnd(14) : h.padStart(18)))
    .join(''),
);
for (const r of rows) {
  console.log(
    [
      r.seed.padEnd(14),
      r.phase.padEnd(14),
      f(r.polyarch).padStart(18),
      f(r.buildah).padStart(18),
      f(r.buildkit).padStart(18),
      f(r.polyarch / r.buildah).padStart(18),
      f(r.polyarch / r.buildkit).padStart(18),
      r.rssMB.toFixed(0).padStart(18),
    ].join(''),
  );
}
if (!existsSync(polyarch)) process.exitCode = 1;
