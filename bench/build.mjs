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
// platform per image; each of its cold runs gets a fresh engine (an empty cache). The tools take
// turns, a run of each per round, so load changes fall on all alike. Medians of
// --runs (default 3). Prints seconds, the ratios polyarch/buildah and polyarch/BuildKit, and
// polyarch's peak RSS.
//
//   node bench/build.mjs [--runs N] [--only seed-hello-xx] [--skip-buildah] [--skip-buildkit]
//
// Needs root, ../shared/fixtures (registry + base images are started/pushed here), a built
// tree (`npm run build`: dockerd is started with dist/test/helpers/dockerd.js), and installs
// buildah and docker.io with apt-get when missing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  benchBuildah,
  benchBuildkit,
  benchPolyarch,
  ensure,
  fixtures,
  flag,
  interleaved,
  opt,
  phaseRows,
  polyarch,
  report,
  sh,
} from './lib.mjs';

const platforms = 'linux/arm,linux/arm64,linux/amd64';
const onePlatform = 'linux/arm64';
const runs = Number(opt('--runs', '3'));
const only = opt('--only', undefined);
const skipBuildah = flag('--skip-buildah');
const skipBuildkit = flag('--skip-buildkit');

function edit(dir) {
  const f = join(dir, 'main.go');
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n// edited ${Date.now()}\n`);
}

async function main() {
  ensure([...(skipBuildah ? [] : ['buildah']), ...(skipBuildkit ? [] : ['docker.io'])]);
  sh(polyarch, ['emulators', 'install', 'linux/arm64', 'linux/arm']);
  const seeds = only ? [only] : ['seed-hello-xx', 'seed-hello'];
  const rows = [];
  for (const seed of seeds) {
    console.error(`${seed}:`);
    const src = join(fixtures, seed);
    for (const plats of [platforms, onePlatform]) {
      const label = `${seed} ${plats}`;
      const [p, b, k] = await interleaved(runs, [
        (round) =>
          benchPolyarch(src, `${label} ${round}`, 1, ['--platform', plats, '-t', `bench/${seed}`], edit),
        skipBuildah ? undefined : (round) => benchBuildah(src, `${label} ${round}`, 1, plats, edit),
        skipBuildkit || plats !== onePlatform
          ? undefined
          : (round) => benchBuildkit(src, `${label} ${round}`, 1, plats, edit),
      ]);
      rows.push(...phaseRows(seed, plats, p, b, k));
    }
  }
  report(rows, runs);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
