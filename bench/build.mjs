#!/usr/bin/env node
// bench/build.mjs — polyarch against buildah and BuildKit on the reference builds, all
// measured in the same run:
//
//   seed-hello     builder stage runs on each target platform (emulated for arm, arm64)
//   seed-hello-xx  builder stage on the build platform, cross-compiling (runs once)
//
// For each: a cold build (empty store and cache), a rebuild with nothing changed (including
// the client process start), and a rebuild after editing main.go; three platforms
// (linux/arm, linux/arm64, linux/amd64) for polyarch and buildah; and the same three phases
// for one platform (linux/arm64, emulated) for polyarch, buildah and BuildKit — Debian
// dockerd's built-in BuildKit (`DOCKER_BUILDKIT=1 /usr/bin/docker build`), which builds one
// platform per image; each of its cold runs gets a fresh engine (an empty cache). Medians of
// --runs (default 3). Prints seconds, the ratios polyarch/buildah and polyarch/BuildKit, and
// polyarch's peak RSS.
//
//   node bench/build.mjs [--runs N] [--only seed-hello-xx] [--skip-buildah] [--skip-buildkit]
//
// Needs root, ../shared/fixtures (registry + base images are started/pushed here), a built
// tree (`npm run build`: dockerd is started with dist/test/helpers/dockerd.js), and installs
// buildah and docker.io with apt-get when missing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
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
const skipBuildkit = args.includes('--skip-buildkit');
const onePlatform = 'linux/arm64';
const phases = ['cold', 'noop', 'edit'];

function sh(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], ...opts }).toString();
}

function ensure() {
  const wanted = [...(skipBuildah ? [] : ['buildah']), ...(skipBuildkit ? [] : ['docker.io'])];
  const missing = wanted.filter(
    (p) =>
      spawnSync('dpkg-query', ['-W', '-f=' + '${' + 'Status}', p])
        .stdout?.toString()
        .includes('ok installed') !== true,
  );
  if (missing.length) {
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
  // asynchronous: the registry bridge into the engine's network namespace is served by this process
  return new Promise((resolveRun, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, {
      env: { ...process.env, ...env, POLYARCH_PEAK_RSS_FILE: rssFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c) => {
      err = (err + c.toString()).slice(-8000);
    });
    child.on('close', (code) => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) {
        console.error(err.split('\n').slice(-40).join('\n'));
        reject(new Error(`${cmd} ${argv.join(' ')} failed with ${code}`));
        return;
      }
      const rss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : 0;
      resolveRun({ secs, rssKB: rss });
    });
  });
}

function edit(dir) {
  const f = join(dir, 'main.go');
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n// edited ${Date.now()}\n`);
}

/** A fresh copy of the seed's context in a work directory of its own. */
function workspace(seed, who) {
  const work = mkdtempSync(join(tmpdir(), `bench-${who}-`));
  const ctx = join(work, 'ctx');
  cpSync(join(fixtures, seed), ctx, { recursive: true });
  return { work, ctx };
}

/** cold, noop, edit for one tool: `run(phase)` answers the phase's timing. */
async function threePhases(label, ctx, run) {
  const out = { cold: [], noop: [], edit: [], rss: 0 };
  for (const phase of phases) {
    if (phase === 'edit') edit(ctx);
    const r = await run(phase);
    out[phase].push(r.secs);
    out.rss = Math.max(out.rss, r.rssKB ?? 0);
    const rss = r.rssKB ? `, ${(r.rssKB / 1024).toFixed(0)} MB` : '';
    console.error(`  ${label} ${phase}: ${r.secs.toFixed(2)}s${rss}`);
  }
  return out;
}

function merge(into, from) {
  for (const phase of phases) into[phase].push(...from[phase]);
  into.rss = Math.max(into.rss, from.rss);
}

async function benchPolyarch(seed, plats) {
  const all = { cold: [], noop: [], edit: [], rss: 0 };
  for (let i = 0; i < runs; i++) {
    const { work, ctx } = workspace(seed, 'polyarch');
    const env = { POLYARCH_ROOT: join(work, 'root') };
    const build = ['build', '--progress', 'quiet', '--platform', plats, '-t', `bench/${seed}`, ctx];
    merge(
      all,
      await threePhases(`polyarch ${seed} ${plats} #${i + 1}`, ctx, () => timed(polyarch, build, env)),
    );
    rmSync(work, { recursive: true, force: true });
  }
  return all;
}

async function benchBuildah(seed, plats) {
  const all = { cold: [], noop: [], edit: [], rss: 0 };
  for (let i = 0; i < runs; i++) {
    const { work, ctx } = workspace(seed, 'buildah');
    const store = ['--root', join(work, 'storage'), '--runroot', join(work, 'run')];
    const build = [
      ...store,
      'build',
      '--runtime',
      'runc',
      '--tls-verify=false',
      '--platform',
      plats,
      '--manifest',
      `bench-${seed}-${i}`,
      '--layers',
      ctx,
    ];
    merge(all, await threePhases(`buildah ${seed} ${plats} #${i + 1}`, ctx, () => timed('buildah', build)));
    spawnSync('buildah', [...store, 'rm', '--all'], { stdio: 'ignore' });
    spawnSync('umount', ['-R', join(work, 'storage')], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
  return all;
}

/** Debian dockerd's BuildKit, one platform: a fresh engine per run, so that cold is cold. */
async function benchBuildkit(seed) {
  const { startDockerd, dockerCli } = await import(join(repo, 'dist/test/helpers/dockerd.js'));
  const all = { cold: [], noop: [], edit: [], rss: 0 };
  for (let i = 0; i < runs; i++) {
    const { work, ctx } = workspace(seed, 'buildkit');
    const engine = await startDockerd({ netns: true, bridge: true });
    try {
      const build = [
        '-H',
        engine.tcpHost,
        'build',
        '-q',
        '--platform',
        onePlatform,
        '-t',
        `bench-${seed}`,
        ctx,
      ];
      const env = { DOCKER_BUILDKIT: '1', DOCKER_CONFIG: join(work, 'docker-config') };
      merge(
        all,
        await threePhases(`BuildKit ${seed} ${onePlatform} #${i + 1}`, ctx, () =>
          timed(dockerCli, build, env),
        ),
      );
    } finally {
      await engine.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  return all;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

async function main() {
  ensure();
  const seeds = only ? [only] : ['seed-hello-xx', 'seed-hello'];
  const rows = [];
  for (const seed of seeds) {
    console.error(`${seed}:`);
    for (const plats of [platforms, onePlatform]) {
      const p = await benchPolyarch(seed, plats);
      const b = skipBuildah ? undefined : await benchBuildah(seed, plats);
      const k = skipBuildkit || plats !== onePlatform ? undefined : await benchBuildkit(seed);
      for (const phase of phases) {
        rows.push({
          seed,
          plats,
          phase,
          polyarch: median(p[phase]),
          buildah: b ? median(b[phase]) : Number.NaN,
          buildkit: k ? median(k[phase]) : Number.NaN,
          rssMB: p.rss / 1024,
        });
      }
    }
  }
  report(rows);
}

function report(rows) {
  const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(2));
  console.log(`runs per figure: ${runs} (medians), all measured in this run`);
  const head = ['build', 'platforms', 'phase', 'polyarch s', 'buildah s', 'BuildKit s'];
  const ratios = ['polyarch/buildah', 'polyarch/BuildKit', 'peak RSS MB'];
  const widths = [14, 34, 6];
  console.log([...head, ...ratios].map((h, i) => (i < 3 ? h.padEnd(widths[i]) : h.padStart(18))).join(''));
  for (const r of rows) {
    console.log(
      [
        r.seed.padEnd(widths[0]),
        r.plats.padEnd(widths[1]),
        r.phase.padEnd(widths[2]),
        f(r.polyarch).padStart(18),
        f(r.buildah).padStart(18),
        f(r.buildkit).padStart(18),
        f(r.polyarch / r.buildah).padStart(18),
        f(r.polyarch / r.buildkit).padStart(18),
        r.rssMB.toFixed(0).padStart(18),
      ].join(''),
    );
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
