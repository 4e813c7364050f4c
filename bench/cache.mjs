#!/usr/bin/env node
// bench/cache.mjs — the CI flow of issue 10 on ../shared/fixtures/seed-hello-xx: a fresh
// runner (an empty root / a fresh engine) that imports a build cache from the registry and
// pushes the image to the same registry, every step found in the cache.
//
//   polyarch  fresh root: build --cache-from type=registry,ref=…:buildcache --push -t …
//             (the cache exported beforehand, untimed, by a build with --cache-to mode=max)
//   BuildKit  Debian dockerd 20.10's built-in BuildKit, a fresh engine per run (its start is
//             not timed): docker build --cache-from IMAGE -t … then docker push; its BuildKit
//             exports inline caches only, so the cache is an inline one (an image built with
//             BUILDKIT_INLINE_CACHE=1 and pushed beforehand, untimed); one platform per image
//
// Rows: linux/amd64 for both (the ratio polyarch/BuildKit), and polyarch alone for three
// platforms. Medians of --runs (default 3). A leg that cannot run says why.
//
//   node bench/cache.mjs [--runs N] [--skip-buildkit]
//
// Needs root, ../shared/fixtures (registry + base images are started/pushed here) and a built
// tree (`npm run build`: dockerd is started with dist/test/helpers/dockerd.js).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensure, fixtures, flag, median, opt, polyarch, repo, sh, timed, workspace } from './lib.mjs';

const runs = Number(opt('--runs', '3'));
const skipBuildkit = flag('--skip-buildkit');
const src = join(fixtures, 'seed-hello-xx');
const registry = 'localhost:5000';
const repoName = `bench-cache-${process.pid}`;

/** The cache exported once (untimed), then `runs` CI builds, each on a fresh root. */
async function polyarchFlow(platforms) {
  const label = platforms.split(',').length > 1 ? '3p' : '1p';
  const cacheRef = `${registry}/${repoName}/polyarch-${label}:buildcache`;
  const { work, ctx } = workspace(src, 'polyarch-cache');
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  try {
    const exportArgs = ['build', '--progress', 'quiet', '--platform', platforms];
    const image = `${registry}/${repoName}/polyarch-${label}`;
    await timed(
      polyarch,
      [
        ...exportArgs,
        '--cache-to',
        `type=registry,ref=${cacheRef},mode=max`,
        '--push',
        '-t',
        `${image}:seed`,
        ctx,
      ],
      { ...env, POLYARCH_ROOT: join(work, 'seed-root') },
    );
    const times = [];
    for (let i = 0; i < runs; i++) {
      const root = join(work, `root-${i}`);
      const ci = [
        ...exportArgs,
        '--cache-from',
        `type=registry,ref=${cacheRef}`,
        '--push',
        '-t',
        `${image}:ci-${i}`,
        ctx,
      ];
      const r = await timed(polyarch, ci, { ...env, POLYARCH_ROOT: root });
      times.push(r.secs);
      console.error(
        `  polyarch ${platforms} CI #${i + 1}: ${r.secs.toFixed(2)}s, ${(r.rssKB / 1024).toFixed(0)} MB`,
      );
      rmSync(root, { recursive: true, force: true });
    }
    return times;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** dockerd's BuildKit: an inline-cached image pushed once, then `runs` fresh engines. */
async function buildkitFlow(platform) {
  const helpers = join(repo, 'dist/test/helpers/dockerd.js');
  if (!existsSync(helpers)) return { why: 'no built tree (npm run build)' };
  const { startDockerd, dockerCli, dockerMissing } = await import(helpers);
  const missing = dockerMissing();
  if (missing) return { why: missing };
  const image = `${registry}/${repoName}/buildkit`;
  const { work, ctx } = workspace(src, 'buildkit-cache');
  const env = { DOCKER_BUILDKIT: '1', DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'bench-docker-config-')) };
  const engineRun = async (fn) => {
    const engine = await startDockerd({ netns: true, bridge: true });
    try {
      return await fn(['-H', engine.tcpHost]);
    } finally {
      await engine.stop();
    }
  };
  try {
    await engineRun(async (h) => {
      const build = [...h, 'build', '-q', '--platform', platform, '--build-arg', 'BUILDKIT_INLINE_CACHE=1'];
      await timed(dockerCli, [...build, '-t', `${image}:seed`, ctx], env);
      await timed(dockerCli, [...h, 'push', `${image}:seed`], env);
    });
    const times = [];
    for (let i = 0; i < runs; i++) {
      const secs = await engineRun(async (h) => {
        const tag = `${image}:ci-${i}`;
        const b = await timed(
          dockerCli,
          [...h, 'build', '-q', '--platform', platform, '--cache-from', `${image}:seed`, '-t', tag, ctx],
          env,
        );
        const p = await timed(dockerCli, [...h, 'push', tag], env);
        return b.secs + p.secs;
      });
      times.push(secs);
      console.error(`  BuildKit ${platform} CI #${i + 1}: ${secs.toFixed(2)}s`);
    }
    return { times };
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(env.DOCKER_CONFIG, { recursive: true, force: true });
  }
}

async function main() {
  ensure(skipBuildkit ? [] : ['docker.io']);
  sh(polyarch, ['emulators', 'install', 'linux/arm64', 'linux/arm']);
  const one = 'linux/amd64';
  const three = 'linux/arm,linux/arm64,linux/amd64';
  const p1 = median(await polyarchFlow(one));
  const p3 = median(await polyarchFlow(three));
  let k1 = Number.NaN;
  if (skipBuildkit) console.log('BuildKit leg: skipped (--skip-buildkit)');
  else {
    const k = await buildkitFlow(one).catch((err) => ({ why: err.message }));
    if (k.why) console.log(`BuildKit leg: not run: ${k.why}`);
    else k1 = median(k.times);
  }
  const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(2));
  console.log(`CI flow (fresh root/engine, --cache-from registry, push), medians of ${runs}, one run`);
  console.log(
    'platforms'.padEnd(36) +
      'polyarch s'.padStart(12) +
      'BuildKit s'.padStart(12) +
      'polyarch/BuildKit'.padStart(20),
  );
  console.log(one.padEnd(36) + f(p1).padStart(12) + f(k1).padStart(12) + f(p1 / k1).padStart(20));
  console.log(three.padEnd(36) + f(p3).padStart(12) + '-'.padStart(12) + '-'.padStart(20));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
